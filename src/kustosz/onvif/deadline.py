"""One deadline for a whole conversation with a camera (issue 48 item 1).

httpx bounds each read of a socket, never a whole answer: a device at a camera's address that
answers one byte every 2 s never trips a 5-s read timeout, and an ONVIF call to it lasted for
as long as the device kept dribbling — serve's clock check (one thread asking every camera in
turn) stopped its watchdog pings and systemd restarted the whole service, again and again, and
the admin's "find and add cameras" page hung for minutes. Here every connect, read and write
of the sockets of one ONVIF session is given at most what is left of the session's time, so
the session ends by its deadline whatever the device does; the caller says so as that
camera's trouble ("does not answer"). The deadline is kustosz.deadline's, as the object
store's requests are.
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from kustosz.deadline import Deadline


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, clock: Deadline) -> None:
        self._stream, self._clock = stream, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._clock.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._clock.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(
            ssl_context, server_hostname, self._clock.bound(timeout, httpcore.ConnectTimeout)),
            self._clock)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, clock: Deadline) -> None:
        self._inner, self._clock = httpcore.SyncBackend(), clock

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None
                    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(
            host, port, self._clock.bound(timeout, httpcore.ConnectTimeout), local_address,
            socket_options), self._clock)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(
            path, self._clock.bound(timeout, httpcore.ConnectTimeout), socket_options),
            self._clock)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def session_transport(total_s: float, verify: bool | str | ssl.SSLContext = True
                      ) -> httpx.HTTPTransport:
    """An httpx transport whose every socket operation ends by ``total_s`` from now."""
    transport = httpx.HTTPTransport(verify=verify)
    # httpx takes no network backend of its own: its pool is made again with one (HTTP/1.1,
    # the few connections one camera's session needs)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify), max_connections=4,
        max_keepalive_connections=4, keepalive_expiry=5.0,
        network_backend=_Backend(Deadline(total_s)))
    return transport
