"""A deadline for the whole of each object-store call (issue 48): PUT, GET, HEAD, LIST, DELETE.

botocore bounds each read of a socket (read_timeout) and retries a failed request, so a store
that answers one byte every couple of seconds kept a single request alive for minutes or for
ever, and the upload queue, the sweep or an export waiting on it with it. Here each call is a
`Cut`: the sockets its requests use are noted (the client's connections are Kustosz's own
classes, `install`), and when its deadline (kustosz.deadline) passes they are shut — the read
or write blocked in them ends at once, the connection is dropped, no retry is begun past it —
and the caller gets `Unavailable` saying so (`S3Client._errors`). A PUT cut so never reports
an object as stored; the item stays queued and is tried again.

How long a call may take: ``floor_s`` for any call, plus its size at ``min_rate`` bytes a
second for a call that carries content ([storage] deadline_seconds, deadline_min_rate).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kustosz.deadline import Alarm, Deadline

DEFAULT_FLOOR_S = 60.0
DEFAULT_MIN_RATE = 256_000  # bytes a second: 2 Mbit/s, far under any office's link to its store


@dataclass(frozen=True)
class CallLimits:
    floor_s: float = DEFAULT_FLOOR_S
    min_rate: int = DEFAULT_MIN_RATE  # bytes a second

    def for_size(self, size: int = 0) -> float:
        return self.floor_s + max(size, 0) / self.min_rate


class DeadlinePassed(Exception):
    """Raised inside botocore when a request would begin past its call's deadline: not an
    OSError, so neither urllib3 nor the retry handler takes it for a network blip."""


class Cut:
    """One call's deadline and the sockets its requests used."""

    def __init__(self, total_s: float) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.expired = False
        self.total_s = total_s
        self._alarm: Alarm | None = None
        self.arm(total_s)

    def arm(self, total_s: float) -> None:
        """A new deadline, ``total_s`` from now (a streamed body's next read)."""
        self.disarm()
        self.total_s = total_s
        self.deadline = Deadline(total_s)
        self._alarm = Alarm(self.deadline, self.expire)

    def extend(self, extra_s: float) -> None:
        """The same call allowed ``extra_s`` more (its length, once the store told it)."""
        left = self.deadline.left()
        total = self.total_s + extra_s
        self.arm(left + extra_s)
        self.total_s = total

    def disarm(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.add(sock)
            late = self.expired
        if late:
            _shut(sock)

    def check(self) -> None:
        if self.expired or self.deadline.passed:
            self.expired = True
            raise DeadlinePassed(f"the call took longer than {self.total_s:.0f} s")

    @property
    def passed(self) -> bool:
        return self.expired or self.deadline.passed

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # the plain socket's shutdown, also for a TLS one: it wakes a thread blocked in the
    # socket without touching the TLS object that thread is using
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_CURRENT = threading.local()


def current() -> Cut | None:
    return getattr(_CURRENT, "cut", None)


@contextlib.contextmanager
def within(cut: Cut) -> Iterator[Cut]:
    """``cut`` is this thread's call until the block ends."""
    outer = current()
    _CURRENT.cut = cut
    try:
        yield cut
    finally:
        _CURRENT.cut = outer


def _connection_classes() -> tuple[type[Any], type[Any]]:
    from botocore.awsrequest import (  # noqa: PLC0415 - heavy, only for an s3 store
        AWSHTTPConnection,
        AWSHTTPConnectionPool,
        AWSHTTPSConnection,
        AWSHTTPSConnectionPool,
    )

    def hooked(base: type[Any]) -> type[Any]:
        class Connection(base):  # type: ignore[misc]
            def connect(self) -> None:
                cut = current()
                if cut is not None:
                    cut.check()
                    # connecting, too, ends by the deadline
                    left = max(cut.deadline.left(), 0.001)
                    timeout = getattr(self, "timeout", None)
                    self.timeout = min(timeout, left) if isinstance(timeout, (int, float)) \
                        else left
                super().connect()
                if cut is not None:
                    cut.watch(self.sock)

            def request(self, *args: Any, **kwargs: Any) -> Any:
                cut = current()
                if cut is not None:
                    cut.check()
                    cut.watch(self.sock)
                return super().request(*args, **kwargs)

        Connection.__name__ = f"Deadline{base.__name__}"
        return Connection

    class Pool(AWSHTTPConnectionPool):  # type: ignore[misc]
        ConnectionCls = hooked(AWSHTTPConnection)

    class TLSPool(AWSHTTPSConnectionPool):  # type: ignore[misc]
        ConnectionCls = hooked(AWSHTTPSConnection)

    return Pool, TLSPool


_CLASSES: list[tuple[type[Any], type[Any]]] = []


def install(client: Any) -> None:
    """Make ``client``'s requests keep their calls' deadlines: its connections note their
    sockets in the thread's `Cut`, and no request is retried once the deadline passed."""
    if not _CLASSES:
        _CLASSES.append(_connection_classes())
    pool, tls_pool = _CLASSES[0]
    # botocore has no setting for its connection classes: its HTTP session's are replaced
    session = client._endpoint.http_session
    classes = {"http": pool, "https": tls_pool}
    session._pool_classes_by_scheme = classes
    session._manager.pool_classes_by_scheme = classes
    client.meta.events.register_first("needs-retry.s3", _no_retry_past_deadline)


def _no_retry_past_deadline(**_kwargs: Any) -> bool | None:
    cut = current()
    return False if cut is not None and cut.passed else None
