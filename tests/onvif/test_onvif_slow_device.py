"""Issue 48 item 1: a device at a camera's address that answers its ONVIF calls one byte at a
time never tripped the per-read timeout (5 s), so a call to it lasted as long as it kept
dribbling: serve's clock check hung past its watchdog and systemd restarted the whole
service, again and again; `kustosz cameras onvif ADDRESS --timeout 5` and the "find and add
cameras" page hung for minutes. A session with a camera now has one deadline for all its
calls (onvif.deadline): the dribbling device is "does not answer" within it.

The device is a real TCP server on loopback that reads the request and then sends its answer
one byte every 0.3 s (in the status line, and in the body after whole headers), for up to a
minute."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kustosz.onvif.address import parse_address
from kustosz.onvif.device import OnvifUnreachable, read_camera, read_clock, read_device

ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 4000\r\n"
          b"\r\n" + b"<" * 4000)


class Dribbler:
    def __init__(self, headers_first: bool) -> None:
        self.headers_first = headers_first
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._dribble, args=(conn,), daemon=True).start()

    def _dribble(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                at = ANSWER.index(b"\r\n\r\n") + 4 if self.headers_first else 0
                conn.sendall(ANSWER[:at])
                end = time.monotonic() + 60
                for byte in ANSWER[at:]:
                    if self.stop.is_set() or time.monotonic() > end:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.3)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=["status line", "body"])
def dribbler(request: pytest.FixtureRequest) -> Iterator[Dribbler]:
    d = Dribbler(headers_first=request.param == "body")
    yield d
    d.close()


@pytest.mark.parametrize("ask", [read_camera, read_device, read_clock],
                         ids=["read_camera", "read_device", "read_clock"])
def test_a_dribbling_device_is_does_not_answer_within_the_session_deadline(
        dribbler: Dribbler, ask: object) -> None:
    address = parse_address(f"127.0.0.1:{dribbler.port}")
    started = time.monotonic()
    with pytest.raises(OnvifUnreachable) as refused:
        ask(address, "admin", "haslo", timeout_s=1.0)  # type: ignore[operator]
    took = time.monotonic() - started
    assert took < 6 * 1.0 + 3, took  # the session's deadline, not the device's minute
    assert "nie odpowiada" in (refused.value.pl or "")
