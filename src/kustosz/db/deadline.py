"""A bound on every wait for PostgreSQL's answer (issue 27 item 3).

A server that stops answering — a frozen VM, a network that drops packets, a proxy that holds
the connection open — is not noticed by TCP: its kernel (or the proxy's) still acknowledges,
so neither keepalives nor `tcp_user_timeout` fire, and the server's own `statement_timeout`
needs a server that runs. Without a bound of the client's own, a thread asking it waits for
ever and `kustosz serve` hangs with its process alive. psycopg waits for every answer in
`Connection.wait`; this subclass gives that wait a deadline and, when it passes, closes the
connection and raises `OperationalError`, which SQLAlchemy takes for a lost connection
(the pool drops it) and every loop of serve for the database away (db.outage).

The deadline is `DEFAULT_S` unless a thread asks for more around known long work with
`patience(seconds)` (a sweep of a large index, a migration), or for less with `hurry(seconds)`
where a quick answer is all that is worth waiting for (the database watch's probe, a
scrape of /metrics): a deadline that passes closes that connection, so a block of `hurry`
must hold nothing but short questions.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

DEFAULT_S = 60.0  # well above any single statement of ordinary work on an office's index
_local = threading.local()


def current_s() -> float:
    return getattr(_local, "seconds", DEFAULT_S)


@contextlib.contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Within the block, this thread's waits for the database may take up to ``seconds``."""
    kept = getattr(_local, "seconds", None)
    _local.seconds = max(current_s(), seconds)
    try:
        yield
    finally:
        _restore(kept)


@contextlib.contextmanager
def hurry(seconds: float) -> Iterator[None]:
    """Within the block, this thread's waits for the database last at most ``seconds`` (never
    longer than they would without it; a `patience` inside may raise it again)."""
    kept = getattr(_local, "seconds", None)
    _local.seconds = min(current_s(), seconds)
    try:
        yield
    finally:
        _restore(kept)


def _restore(kept: float | None) -> None:
    """Back to what the thread had: nothing of its own (DEFAULT_S as it is then) or a bound
    an outer block set."""
    if kept is None:
        with contextlib.suppress(AttributeError):
            del _local.seconds
    else:
        _local.seconds = kept


# The server's own limit on one statement (db/engine.SESSION_LIMITS): work that reads or
# writes a whole index at once (the sweep, disk pressure, the bucket check) waits that long.
LONG_WORK_S = 15 * 60.0
F = TypeVar("F", bound=Callable[..., Any])


def patient(fn: F) -> F:
    """``fn`` runs under `patience(LONG_WORK_S)`: one statement of it may take minutes on an
    index of tens of millions of rows, which is work, not a silent database."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with patience(LONG_WORK_S):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class DeadlineConnection(psycopg.Connection[Any]):
    """psycopg's connection with a bounded wait for every answer."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        limit = current_s() if timeout is None else timeout
        try:
            return super().wait(gen, interval=interval, timeout=limit)
        except pg_errors._WaitTimeout:
            if timeout is not None:
                raise  # psycopg's own bounded wait (cancel_safe): its caller handles it
            with contextlib.suppress(Exception):
                self.pgconn.finish()  # never waits: the connection is unusable now
            raise psycopg.OperationalError(
                f"the database did not answer within {limit:.0f} s") from None
