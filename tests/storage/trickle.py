"""A TCP proxy on loopback in front of a real S3 server that, while told to, hands the
server's answers back one byte every ``pause`` seconds — a store that keeps each read of the
client's alive without ever finishing an answer (issue 48: "a trickling S3 endpoint").

``methods``: only answers to these requests trickle (the method of the last request seen on
the connection: requests and answers alternate on a kept-alive connection); None: every one.
``after_headers``: an answer's headers come at once, its body trickles. The proxy notes each
client connection that went away while it was trickling to it (`dropped`), and each request
with when it was sent and answered (`describe`, for a failing test's message)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class _Request:
    connection: int
    method: str
    sent: float
    first: float | None = None  # the answer's first byte
    last: float | None = None
    slow: bool = False


class TrickleProxy:
    def __init__(self, target: tuple[str, int], pause: float = 0.5) -> None:
        self.target, self.pause = target, pause
        self.trickling = False
        self.methods: set[str] | None = None
        self.after_headers = False
        self.dropped = 0  # client connections closed while an answer trickled to them
        self.requests: list[_Request] = []  # `describe`
        self._connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            self._connections += 1
            # the last request's method, its number, its connection and its entry in `requests`
            method: list[object] = ["", "", self._connections, None]
            threading.Thread(target=self._up, args=(client, upstream, method),
                             daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, method),
                             daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, method: list[object]
            ) -> None:
        try:
            while data := client.recv(65536):
                word = data.split(b" ", 1)[0]
                if word in (b"GET", b"HEAD", b"PUT", b"POST", b"DELETE"):
                    entry = _Request(int(str(method[2])), word.decode(), time.monotonic())
                    with self._lock:
                        self.requests.append(entry)
                    method[:] = [word.decode(), f"{method[1]}.", method[2], entry]
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)

    def _down(self, upstream: socket.socket, client: socket.socket, method: list[object]
              ) -> None:
        seen, answering = b"", ""
        try:
            while data := upstream.recv(65536):
                if method[1] != answering:  # the answer to the next request
                    seen, answering = b"", str(method[1])
                slow = self.trickling and (self.methods is None or method[0] in self.methods)
                entry = method[3]
                if isinstance(entry, _Request):
                    entry.first = entry.first or time.monotonic()
                    entry.last, entry.slow = time.monotonic(), entry.slow or slow
                if not slow:
                    client.sendall(data)
                    continue
                if self.after_headers and b"\r\n\r\n" not in seen:
                    head, sep, data = (seen + data).partition(b"\r\n\r\n")
                    client.sendall((head + sep)[len(seen):])
                    seen = head + sep
                for i in range(len(data)):
                    try:
                        client.sendall(data[i:i + 1])
                    except OSError:
                        with self._lock:
                            self.dropped += 1
                        raise
                    if self._stopped.wait(self.pause):
                        return
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

    def describe(self) -> str:
        """Each request seen: its connection, method, when its answer began and last moved
        (seconds after it was sent) and whether it trickled."""
        def after(e: _Request, at: float | None) -> str:
            return "-" if at is None else f"{at - e.sent:.2f}"
        with self._lock:
            return "\n".join(
                f"#{e.connection} {e.method} answered {after(e, e.first)} s, "
                f"last byte {after(e, e.last)} s{', trickled' if e.slow else ''}"
                for e in self.requests)

    def wait_dropped(self, count: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self.dropped >= count:
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
