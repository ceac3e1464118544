"""The web server closes connections of clients too slow to send a request (slowloris) and
idle keep-alive connections (issue 11, item 8). Real uvicorn on a free port, raw sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from kustosz.vault import Vault
from kustosz.web import slow_clients
from kustosz.web.server import WebServer

READ_S = 1.0  # the request-read bound for these tests (10 s in service)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebServer]:
    monkeypatch.setattr(slow_clients, "REQUEST_READ_S", READ_S)
    web = WebServer(sqlite_vault, "127.0.0.1", free_port())
    web.start()
    yield web
    web.stop()


def closed_after(conn: socket.socket, drip: list[bytes], every: float, limit: float) -> float:
    """Send ``drip`` one piece every ``every`` seconds until the server closes the connection;
    the seconds it took (fails if it is still open after ``limit``)."""
    start = time.monotonic()
    conn.settimeout(every)
    pieces = iter(drip)
    while time.monotonic() - start < limit:
        try:
            if conn.recv(4096) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except ConnectionError:
            return time.monotonic() - start
        piece = next(pieces, None)
        if piece is not None:
            try:
                conn.sendall(piece)
            except OSError:
                return time.monotonic() - start
    pytest.fail(f"the connection was still open after {limit} s")


def read_response(conn: socket.socket) -> bytes:
    """One whole response (head and Content-Length body); returns its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        assert piece, "the server closed the connection"
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += conn.recv(65536)
    return head


def test_a_header_sent_slowly_is_cut_off(server: WebServer) -> None:
    """Slowloris: a request head that never ends holds no connection past the bound."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"GET /login HTTP/1.1\r\nHost: kustosz\r\n")
        took = closed_after(conn, [b"X-Slow: %d\r\n" % i for i in range(100)], 0.2, READ_S * 5)
    assert READ_S * 0.8 <= took <= READ_S + 1.5, took


def test_a_body_sent_slowly_is_cut_off(server: WebServer) -> None:
    """The same for a body trickled byte by byte (R.U.D.Y.)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"POST /login HTTP/1.1\r\nHost: kustosz\r\nContent-Type: application/"
                     b"x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
        took = closed_after(conn, [b"a"] * 100, 0.2, READ_S * 5)
    assert took <= READ_S + 1.5, took


def test_requests_in_time_are_served_and_an_idle_connection_is_closed(
        server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A normal client is unaffected, also on a kept-alive connection; silence after the
    response closes the connection after the keep-alive time."""
    monkeypatch.setattr(slow_clients, "REQUEST_READ_S", 60.0)  # only keep-alive acts here
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        for _ in range(2):
            conn.sendall(b"GET /login HTTP/1.1\r\nHost: kustosz\r\n\r\n")
            assert read_response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(1)
        took = closed_after(conn, [], 0.2, slow_clients.KEEP_ALIVE_S + 5)
    assert slow_clients.KEEP_ALIVE_S - 2 <= took <= slow_clients.KEEP_ALIVE_S + 1, took


def test_a_slow_answer_to_a_whole_request_is_not_cut_off(server: WebServer) -> None:
    """The bound is on the client's sending, not on the app's answering: a request that has
    arrived whole is answered even when the answer takes longer than the bound."""
    app = server.server.config.loaded_app

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/slow":
            await asyncio.sleep(READ_S * 2)
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    server.server.config.loaded_app = slow
    with socket.create_connection(("127.0.0.1", server.port), timeout=READ_S * 5) as conn:
        conn.sendall(b"GET /slow HTTP/1.1\r\nHost: kustosz\r\n\r\n")
        assert conn.recv(4096).startswith(b"HTTP/1.1 204")


def test_the_server_is_configured_with_the_bounds(sqlite_vault: Vault) -> None:
    web = WebServer(sqlite_vault, "127.0.0.1", free_port())
    config = web.server.config
    assert config.http is slow_clients.TimedH11Protocol
    assert config.timeout_keep_alive == slow_clients.KEEP_ALIVE_S == 5
    assert config.h11_max_incomplete_event_size == slow_clients.MAX_HEADER_BYTES
    assert config.timeout_graceful_shutdown is not None
    assert slow_clients.REQUEST_READ_S == 10.0


def test_an_oversized_header_is_refused(server: WebServer) -> None:
    """An unfinished request head over 16 KiB is answered 400 and closed, not buffered."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"GET /login HTTP/1.1\r\nHost: kustosz\r\nX-Big: " + b"a" * 40_000)
        answer = conn.recv(4096)
    assert answer.split()[1] in (b"400", b"431"), answer[:80]
