"""The database away: how to tell, and how long to wait before asking it again (issue 27).

Every loop of `kustosz serve` (recorders, the segment index, listeners, the scheduler, the
notifier, the job worker, the camera reconcile) treats an error of the database's connection as
transient: it keeps what it holds, waits with `Backoff` and asks again, for as long as the
database is away. A programming error (an `IntegrityError`, a bad statement) is no outage and is
not retried for ever. The engine (db/engine.py) bounds every wait for the database
(`db.deadline`), so a database that stops answering turns into such an error too, never a hang.
"""

from __future__ import annotations

import errno
import random
import sqlite3
import threading
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc

# SQLSTATEs that pass by themselves: 08 connection exception, 57P0x operator intervention
# (admin shutdown, crash shutdown, cannot connect now), 53 insufficient resources (too many
# connections, out of memory or disk), 40 transaction rollback (serialisation, deadlock),
# 55P03 lock not available (lock_timeout), 25P03 idle in transaction too long. Not 57014 (a
# statement cancelled by statement_timeout is as slow the next time), nor the rest of 54, 55
# and 57, which psycopg also raises as OperationalError: a retry does not make them succeed.
_TRANSIENT_STATES = ("08", "57P0", "53", "40", "55P03", "25P03")


_SQLITE_AWAY = ("locked", "busy", "disk i/o", "unable to open")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_database_away(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached or did not
    answer in time, rather than that a statement was wrong: try again later."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            state = _sqlstate(current)
            if state is not None:  # the server answered: its SQLSTATE alone decides
                return state.startswith(_TRANSIENT_STATES)
            # No SQLSTATE: no answer at all (connecting failed, the connection broke, the
            # deadline of db.deadline passed)
            if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError) and \
                    not isinstance(current.orig, sqlite3.Error):
                return True
        if isinstance(current, sa_exc.TimeoutError):  # the pool: no connection in time
            return True
        # SQLite's OperationalError is also "no such table": only a busy or unreadable file
        if isinstance(current, sqlite3.OperationalError) and \
                any(word in str(current).lower() for word in _SQLITE_AWAY):
            return True
        if type(current).__module__.startswith("psycopg") and \
                isinstance(current, Exception) and _psycopg_away(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _psycopg_away(exc: Exception) -> bool:
    """psycopg's own error (the job worker's connections, not wrapped by SQLAlchemy)."""
    state = getattr(exc, "sqlstate", None)
    if state is not None:
        return bool(state.startswith(_TRANSIENT_STATES))
    return type(exc).__name__ in ("OperationalError", "InterfaceError", "ConnectionTimeout",
                                  "PoolTimeout")


@dataclass
class Backoff:
    """Bounded exponential back-off with jitter: 1 s, 2 s, 4 s … at most ``limit_s``; `reset`
    after a success. ``wait`` returns early (True) when ``stop`` is set."""

    first_s: float = 1.0
    limit_s: float = 30.0
    _next: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next = self.first_s

    def delay(self) -> float:
        """The next pause (and doubles the one after)."""
        now = self._next
        self._next = min(self.limit_s, self._next * 2)
        return now * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self._next = self.first_s

    def wait(self, stop: threading.Event) -> bool:
        return stop.wait(self.delay())


_FULL_WORDS = ("database or disk is full", "no space left on device", "could not extend file",
               "disk quota exceeded")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether a failure (OSError, SQLite's or PostgreSQL's, wrapped by SQLAlchemy or not)
    was the disk running out of space."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL disk_full
            return True
        if any(w in str(exc).lower() for w in _FULL_WORDS):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False
