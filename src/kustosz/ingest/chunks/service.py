"""What the mail and event listeners share: start, a periodic tick (durable appends, chunk
rotation, counters to the database), stop; and running one in a background thread.

Each tick beats serve's watchdog (kustosz.watchdog) as ``listener <source>``: the tick runs on
the listener's event loop, so a loop blocked (a call that never returns on it) or a tick that
never ends stalls the watchdog. The database is never waited for on the loop (its work runs in
the gate's threads, chunks.database), so an outage does not hold the ticks back. A listener
stopped on purpose is forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from kustosz.db import deadline
from kustosz.db.models import Source
from kustosz.db.outage import is_database_away
from kustosz.ingest import intake_errors as refuse
from kustosz.ingest.chunks.counters import Counters
from kustosz.ingest.chunks.database import DatabaseGate
from kustosz.ingest.chunks.spool import ChunkSpool, Indexer
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

log = logging.getLogger(__name__)
T = TypeVar("T")
TICK_S = 1.0  # appends become durable at least this often
COUNTERS_EVERY = 5  # ticks
BEAT_S = 5.0  # a caller waiting for a listener's start or stop beats this often
# Stopping closes the open chunk: a busy source's daily chunk (millions of lines) takes
# minutes to store and index. Giving up earlier would leave that close running in a worker
# thread while a restarted listener takes the same folder in again.
STOP_TIMEOUT_S = 3600.0
# Starting reads the source and takes in what the last run left: with a database that stops
# answering, that ends in an error at its deadline (db.deadline); the caller waits longer, so
# it hears that error rather than give up while the start still runs on the listener's loop.
START_TIMEOUT_S = 2 * deadline.DEFAULT_S
# The longest a listener's tick may honestly go without a beat: a tick makes the open chunk
# durable (an fsync, seconds on a busy disk); closing and indexing chunks runs beside it.
TICK_ALLOWANCE_S = 120.0


class SpoolSettings(Protocol):
    chunk: str  # the spool's granularity (GRANULARITIES)

    def check(self) -> None: ...


class Service:
    """A listener of one mailbox or endpoint source writing into its chunk spool.

    Subclasses pass their spool folder (`material`: "mail", "events") and the index their
    closed chunks go to, find their source (`source_of`) and read its settings
    (`settings_of`); they open their servers in `_open` and fill `addresses`
    (name → (host, port))."""

    def __init__(self, vault: Vault, source_name: str, material: str,
                 indexer: Indexer) -> None:
        self.vault, self.source_name = vault, source_name
        self.addresses: dict[str, tuple[str, int]] = {}
        self.servers: list[asyncio.AbstractServer] = []
        self.transports: list[asyncio.BaseTransport] = []
        self._ticker: asyncio.Task[None] | None = None
        # Stream connections being read (a syslog sender keeps its TCP session for good),
        # registered by their handlers: stop() ends them before the chunk closes.
        self.connections: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
        with vault.reading() as s:
            source = self.source_of(s, source_name)
            if not source.enabled:
                raise refuse.source_disabled(source_name)
            settings = self.settings_of(source)
            self.source_id: int = source.id
        settings.check()
        self.counters = Counters(self.source_id)
        self.gate = DatabaseGate(source_name)
        self.spool = ChunkSpool(vault, source_name, material, settings.chunk, indexer,
                                self.counters, self.gate)
        self._counting: asyncio.Task[None] | None = None
        self._progress: Loop | None = None  # serve's watchdog, while the ticks run

    def source_of(self, session: Session, name: str) -> Source:
        raise NotImplementedError

    def settings_of(self, source: Source) -> SpoolSettings:
        """Read the source's settings and keep them (as `self.settings`)."""
        raise NotImplementedError

    async def _open(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        # Chunks a previous run left open are taken in before anything new is accepted.
        closed = await self.gate.run(self.spool.recover,
                                     asked=lambda done: any(c.asked for c in done))
        if closed:
            log.info("%s: %d chunk(s) left by the previous run taken in", self.source_name,
                     len(closed))
        await self.gate.run(self.counters.flush, self.vault, asked=bool)
        await self._open()
        self._progress = progress_of(self.vault).loop(f"listener {self.source_name}",
                                                      TICK_ALLOWANCE_S)
        self._ticker = asyncio.create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        n = 0
        while True:
            if self._progress is not None:
                self._progress.beat()
            await asyncio.sleep(TICK_S)
            n += 1
            try:
                await self.spool.tick()
            except Exception:
                # Keep serving: the data is in the spool and is taken in later.
                log.exception("%s: periodic flush failed", self.source_name)
            if n % COUNTERS_EVERY == 0:
                self._count_later()

    def _count_later(self) -> None:
        """The counters to the database beside the ticks, never holding them up (a silent
        database answers in a minute at best); while it is away, kept in memory and tried
        again after the back-off."""
        if (self._counting is not None and not self._counting.done()) or \
                not self.gate.may_ask():
            return
        self._counting = asyncio.create_task(self._count())

    async def _count(self) -> None:
        try:
            await self.gate.run(self.counters.flush, self.vault, asked=bool)
        except Exception as exc:
            if not is_database_away(exc):  # the database away is logged by the gate
                log.exception("%s: the intake counters could not be written; kept for the "
                              "next try", self.source_name)

    async def flush(self) -> None:
        """Close the open chunk now: what was received becomes stored and searchable."""
        await self.spool.close_all()
        if self._counting is not None:
            with contextlib.suppress(Exception):
                await self._counting
        await self.gate.run(self.counters.flush, self.vault, asked=bool)

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for transport in self.transports:
            transport.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        # Open connections end as if the sender hung up: each handler takes what it has
        # received and returns, so nothing is taken after the chunk closes and no task is
        # left pending on a closed loop (what the sender had not yet got through is lost as
        # at any stop: plain syslog has no acknowledgment).
        for writer in list(self.connections):
            writer.close()
        if self.connections:
            await asyncio.wait(list(self.connections.values()), timeout=5)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._progress is not None:  # stopping on purpose: no hang (its close may be long)
            self._progress.forget()
        try:
            await self.flush()
        except Exception as exc:
            if not is_database_away(exc):
                raise
            # What was received is in the spool and the next start takes it in; only the
            # counters of the last seconds are lost.
            log.warning("%s: stopped while the database is away; %d chunk(s) wait in the "
                        "spool for the next start", self.source_name, len(self.spool.left))
        finally:
            self.gate.close()

    async def serve(self, seconds: float | None = None) -> None:
        await self.start()
        try:
            if seconds is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(seconds)
        finally:
            await self.stop()


class Background:
    """A service on its own event loop in a thread (tests, `kustosz serve` later)."""

    def __init__(self, make: Callable[[], Service],
                 beat: Callable[[], None] | None = None) -> None:
        """``beat``: the caller's watchdog beat while the service starts (it takes in what
        the last run left, which waits for the database)."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="kustosz-listener")
        self.thread.start()
        try:
            self.service: Service = self.call(self._make(make), START_TIMEOUT_S, beat)
        except BaseException:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
            raise

    @staticmethod
    async def _make(make: Callable[[], Service]) -> Service:
        service = make()
        try:
            await service.start()
        except BaseException:
            # One port taken after another was bound: release what was opened, so a retry
            # (or the next `kustosz serve`) does not find its own ports busy.
            for server in service.servers:
                server.close()
            for transport in service.transports:
                transport.close()
            service.gate.close()
            raise
        return service

    def call(self, coro: Awaitable[T], timeout: float = 60,
             beat: Callable[[], None] | None = None) -> T:
        """``coro`` on the listener's loop, waited for at most ``timeout`` seconds; ``beat``
        (a watchdog's) called every few seconds meanwhile."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        if beat is None:
            return future.result(timeout)
        end = time.monotonic() + timeout
        while True:
            beat()
            try:
                return future.result(max(0.0, min(BEAT_S, end - time.monotonic())))
            except FutureTimeout:
                if time.monotonic() >= end:
                    raise

    def flush(self) -> None:
        self.call(self.service.flush())

    def stop(self, beat: Callable[[], None] | None = None) -> None:
        """``beat``: the caller's watchdog beat, while the open chunk closes (minutes for a
        busy source's daily chunk: that is progress)."""
        try:
            self.call(self.service.stop(), STOP_TIMEOUT_S, beat)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
