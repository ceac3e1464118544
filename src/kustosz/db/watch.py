"""Whether the database answers, asked on a path of the watch's own (issue 27 item 4).

`kustosz serve` runs `DatabaseWatch.run` on a thread of its own. Every `EVERY_S` it opens a
fresh connection and asks a trivial question; the whole probe must be answered within
`ANSWER_S`, also when the server (or the network to it) is silent: a libpq `connect_timeout`
bounds the connect and `db.deadline.hurry` the answer. It never borrows the vault's pool, so a
pool whose connections all hang in the loops of serve (up to db.deadline's 60 s each) does not
delay the verdict, and a fresh connection is the truest question (a server that takes no new
connections is away for every thread about to open one).

What it knows (up or down, since when, the last error's words) is kept in memory as one
immutable `Reading`, read by `/metrics` (`kustosz_database_up`) and handed after every probe
to its listeners (the alerts told from memory, kustosz.alerts.without_database). The error's
words never hold a password or a URL with credentials: only the driver's first line, with the
password (if any) masked.

The watch's loop beats serve's watchdog (kustosz.watchdog) as ``database-watch`` after every
probe (the registry of the vault it was made for, `of`); it is forgotten when it ends.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url

from kustosz.db.deadline import DeadlineConnection, hurry
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
EVERY_S = 5.0  # between probes
ANSWER_S = 5.0  # a probe that takes longer is a database away
_MIN_CONNECT_S = 2  # libpq takes connect_timeout in whole seconds, at least 2
# The longest a turn may honestly take: a probe (ANSWER_S, bounded whatever the server does)
# and its listeners (the alerts told from memory: each channel's send bounded at 10 s a step).
ALLOWANCE_S = 120.0


@dataclass(frozen=True)
class Reading:
    """The watch's knowledge after its last probe. ``since``: when the current state began
    (for a database away, the first probe that failed); ``error``: why the last probe
    failed (English, no secrets)."""

    up: bool | None  # None: not asked yet
    since: datetime
    checked_at: datetime | None = None
    error: str | None = None
    probes: int = 0

    def away_for(self, now: datetime) -> float:
        """Seconds the database has been away (0 while it answers)."""
        return 0.0 if self.up is not False else max(0.0, (now - self.since).total_seconds())


Listener = Callable[[Reading], None]


class DatabaseWatch:
    def __init__(self, url: str | URL, every_s: float = EVERY_S,
                 answer_s: float = ANSWER_S) -> None:
        self.url = make_url(url) if isinstance(url, str) else url
        self.every_s, self.answer_s = every_s, answer_s
        self.listeners: list[Listener] = []
        self._reading = Reading(None, datetime.now(UTC))
        self._lock = threading.Lock()  # one probe at a time (the thread and a test's check)
        self._vault: weakref.ref[Any] | None = None  # whose watchdog registry `run` beats

    @classmethod
    def of(cls, vault: Any, **kw: float) -> DatabaseWatch:
        """The watch of a vault's database (its engine's URL, password included: it is
        needed to connect and never leaves this object)."""
        watch = cls(vault.engine.url, **kw)
        watch._vault = weakref.ref(vault)
        return watch

    # -- what it knows ------------------------------------------------------------------
    @property
    def reading(self) -> Reading:
        return self._reading

    @property
    def is_up(self) -> bool:
        """True only when the last probe was answered (False before the first)."""
        return self._reading.up is True

    # -- asking -------------------------------------------------------------------------
    def check(self) -> Reading:
        """One probe; the state moves and the listeners are told. Never raises."""
        with self._lock:
            started = time.monotonic()
            error = self._probe()
            now = datetime.now(UTC)
            before = self._reading
            up = error is None
            since = before.since if before.up is up else now
            reading = Reading(up, since, now, error, before.probes + 1)
            self._reading = reading
        if before.up is not up:
            if up:
                log.info("database answers%s", "" if before.up is None else
                         f" again (away for {(now - before.since).total_seconds():.0f} s)")
            else:
                log.error("database does not answer: %s (probe took %.1f s)", error,
                          time.monotonic() - started)
        for listener in list(self.listeners):
            try:
                listener(reading)
            except Exception:  # one listener's trouble must not silence the others
                log.exception("database watch: a listener failed")
        return reading

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: a probe every `every_s` (the first at once)."""
        log.info("database watch: a probe every %.0f s, %.0f s to answer", self.every_s,
                 self.answer_s)
        vault = self._vault() if self._vault is not None else None
        progress = progress_of(vault).loop("database-watch", max(ALLOWANCE_S, 4 * (
            self.every_s + self.answer_s))) if vault is not None else None
        while not stop.is_set():
            if progress is not None:
                progress.beat()
            self.check()
            if progress is not None:
                progress.beat()
            if stop.wait(self.every_s):
                break
        if progress is not None:
            progress.forget()  # stopped on purpose: no hang

    def _probe(self) -> str | None:
        """None when the database answered in time, else why not (no secrets)."""
        try:
            if self.url.drivername.startswith("sqlite"):
                self._ask_sqlite()
            else:
                self._ask_postgresql()
        except Exception as exc:
            return self._words(exc)
        return None

    def _ask_sqlite(self) -> None:
        path = self.url.database or ""
        uri = path.startswith("file:")
        if not path or path == ":memory:":
            return
        # mode=rw: a folder that lost its database must not get an empty new one from here
        target = path if uri else f"file:{path}?mode=rw"
        conn = sqlite3.connect(target, timeout=self.answer_s, uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()

    def _ask_postgresql(self) -> None:
        deadline = time.monotonic() + self.answer_s
        params: dict[str, Any] = {k: (v if isinstance(v, str) else v[-1])
                                  for k, v in self.url.query.items()}
        params.update(host=self.url.host, port=self.url.port, user=self.url.username,
                      password=self.url.password, dbname=self.url.database,
                      connect_timeout=str(max(_MIN_CONNECT_S, int(self.answer_s))),
                      application_name="kustosz database watch")
        params = {k: v for k, v in params.items() if v is not None}
        conn = DeadlineConnection.connect(autocommit=True, **params)
        try:
            with hurry(max(0.5, deadline - time.monotonic())):
                conn.execute("SELECT 1").fetchone()
        finally:
            conn.close()

    def _words(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        password = self.url.password
        if password:
            text = text.replace(str(password), "***")
        if isinstance(exc, psycopg.Error) and "timeout" in text.lower():
            text += f" (no answer within {self.answer_s:.0f} s)"
        return text[:300]
