"""Hourly or daily chunks: how journal mail metadata and events become material.

A listener appends one JSON line per message or event to the open chunk of its source, a
spool folder under ``<data>/spool/monitoring/<source>/`` (``chunk.jsonl``, plus ``.eml``
files when full messages are kept). When the chunk's hour or day is over, the folder is
taken in with `ingest_batch` (the vault's crash-safe intake) and its index rows are written
in the same transaction; then the folder is removed.

Crash safety: the spool folder is the truth. On restart every folder left behind is closed
as what it holds: a torn last line (a write cut by the crash) is cut off and counted; a
folder whose chunk is already stored (the crash hit after the commit, before the removal)
is recognised by its hash and only removed. So nothing is indexed twice or lost whole.

Search reads open chunks too (`kustosz.ingest.chunks.pending`). So that it can pass over a
folder whose time cannot match a query without reading it, every line's search time (an
event's own time, a message's receipt) lies within the folder's window — or within the
bounds of ``extent.json``, which is widened (durably) *before* a line outside them is
written, so a reader that reads the bounds first never misses a line that was already there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.models import Recording
from kustosz.db.outage import is_database_away, is_disk_full
from kustosz.fsutil import fsync_dir, fsync_file
from kustosz.index.sources import get_source
from kustosz.ingest.chunks.counters import Counters
from kustosz.ingest.chunks.database import DatabaseGate
from kustosz.ingest.files import Item, Stored, ingest_batch
from kustosz.ingest.upload_queue import QUEUED
from kustosz.kinds import by_chunk
from kustosz.policy.periods import chunk_window
from kustosz.retention.pressure import after_write
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)
CHUNK_FILE = "chunk.jsonl"
EXTENT_FILE = "extent.json"
GRANULARITIES = ("hour", "day")
# How far the bounds widen past a line outside them: a sender whose clock is off by minutes
# or years widens them about once per this much of its own clock, not with every event.
EXTENT_PAD = timedelta(hours=1)


@dataclass(frozen=True)
class Closed:
    """What one chunk became: ``recording_id`` is None when it held nothing."""

    recording_id: int | None
    lines: int
    torn: int

    @property
    def asked(self) -> bool:
        """Whether closing it called the database (a chunk with nothing in it is removed
        without it)."""
        return self.lines > 0


# (session, source id, chunk recording id, [(line number, record)], {eml name: recording id})
Indexer = Callable[[Session, int, int, list[tuple[int, dict[str, Any]]], dict[str, int]], None]


def spool_root(vault: Vault, source_name: str) -> Path:
    return spool_dir(vault.root, source_name)


def spool_dir(data_root: Path, source_name: str) -> Path:
    return data_root / "spool" / "monitoring" / source_name


def window_start(at: datetime, granularity: str, vault: Vault) -> datetime:
    return chunk_window(at, granularity, vault.policy.timezone)[0]


def window_end(start: datetime, granularity: str, vault: Vault) -> datetime:
    return chunk_window(start, granularity, vault.policy.timezone)[1]


def record_time(record: dict[str, Any], key: str) -> datetime:
    """The time search uses for a record: ``key`` (when it is a time with a zone), else the
    receipt. The index and the reader of open chunks both use this, so a record is found
    by the same query before and after its chunk closes."""
    value = record.get(key) if key != "received" else None
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if at.tzinfo is not None:
                return at
    return datetime.fromisoformat(record["received"])


class Chunk:
    """One open chunk. Appends are buffered; `sync` makes them durable, and concurrent
    callers share one fsync (group commit), which is what keeps mail intake fast."""

    def __init__(self, folder: Path, start: datetime, end: datetime,
                 time_key: str | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=False)
        fsync_dir(folder.parent)
        self.folder, self.start, self.end = folder, start, end
        self.time_key = time_key
        self.low, self.high = start, end  # what readers assume unless extent.json says more
        self.fh = (folder / CHUNK_FILE).open("ab")
        self.lines = 0
        self.closed = False
        self.dir_dirty = False  # a file was renamed in: the folder needs an fsync too
        self._next: asyncio.Future[None] | None = None
        self._syncing: asyncio.Task[None] | None = None

    def append(self, record: dict[str, Any]) -> None:
        if self.time_key is not None:
            at = record_time(record, self.time_key)
            if not self.low <= at <= self.high:
                self._widen(at)
        # One write per line: a crash can tear only the last line, which recovery cuts off.
        self.fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"),
                                 default=str).encode("utf-8") + b"\n")
        self.lines += 1

    def _widen(self, at: datetime) -> None:
        """Record wider bounds before the line that needs them is written (rare: a sender's
        clock far off, or a message received just before the window it was filed in)."""
        self.low, self.high = min(self.low, at - EXTENT_PAD), max(self.high, at + EXTENT_PAD)
        tmp = self.folder / f".{EXTENT_FILE}.tmp"
        with tmp.open("w") as f:
            json.dump({"low": self.low.isoformat(), "high": self.high.isoformat()}, f)
            fsync_file(f)
        os.replace(tmp, self.folder / EXTENT_FILE)  # the folder is fsynced with the next sync
        self.dir_dirty = True

    async def sync(self) -> None:
        if self.closed:
            return  # finish() made everything durable
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._syncing is None or self._syncing.done():
                self._syncing = asyncio.create_task(self._run_syncs())
        await asyncio.shield(self._next)

    async def _run_syncs(self) -> None:
        while self._next is not None:
            waiting, self._next = self._next, None
            try:
                self.fh.flush()
                await asyncio.to_thread(fsync_file, self.fh.fileno())
                if self.dir_dirty:
                    self.dir_dirty = False
                    await asyncio.to_thread(fsync_dir, self.folder)
                waiting.set_result(None)
            except Exception as exc:  # e.g. disk full: the callers must not say "stored"
                waiting.set_exception(exc)

    async def finish(self) -> None:
        await self.sync()
        if self._syncing is not None:
            await self._syncing
        self.fh.close()
        self.closed = True
        fsync_dir(self.folder)


def _read_lines(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """The chunk's records; a torn tail is cut off the file itself so that the stored chunk
    holds exactly what is indexed."""
    data = path.read_bytes()
    torn = 0
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        data = data[:cut]
        os.truncate(path, cut)
        torn += 1
    records: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            torn += 1
            continue
        if isinstance(record, dict) and "received" in record:
            records.append((number, record))
        else:
            torn += 1
    return records, torn


def close_folder(vault: Vault, source_name: str, folder: Path, kind: str,
                 indexer: Indexer, counters: Counters | None = None) -> Closed:
    """Take one spool folder in as a Recording with its index rows (blocking: run it in a
    worker thread from a listener). Safe to repeat after a crash."""
    path = folder / CHUNK_FILE
    records, torn = _read_lines(path) if path.exists() else ([], 0)
    if counters is not None and torn:
        counters.add("torn_lines", torn)
    if not records:
        shutil.rmtree(folder, ignore_errors=True)
        return Closed(None, 0, torn)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    times = [datetime.fromisoformat(r["received"]) for _, r in records]
    start, end = min(times), max(times)
    with vault.reading() as s:
        source = get_source(s, source_name)
        # Taken in before a crash that kept the folder: stored, or waiting in the local spool
        # for the object store (upload_queue: a pending row flagged queued).
        done_before = next((rid for rid, state, meta in s.execute(
            select(Recording.id, Recording.state, Recording.meta).where(
                Recording.source_id == source.id, Recording.start_at == start,
                Recording.sha256 == sha,
                Recording.state.in_((RecordingState.STORED, RecordingState.PENDING))))
            if state == RecordingState.STORED or (meta or {}).get(QUEUED)), None)
    if done_before is not None:
        shutil.rmtree(folder, ignore_errors=True)
        return Closed(done_before, len(records), torn)
    # "folder" lets a search that read this folder while it was open tell whether its rows
    # are indexed by now (`kustosz.ingest.chunks.pending`).
    items = [Item(path, start, end, {"format": "jsonl", "content": kind,
                                     "lines": len(records), "folder": folder.name})]
    emls: list[str] = []
    for _, record in records:
        name = record.get("eml")
        if name and (folder / name).is_file():
            emls.append(name)
            items.append(Item(folder / name, datetime.fromisoformat(record["received"]),
                              None, {"format": "eml", "message_id": record.get("message_id")}))
    chunk_id: list[int] = []

    def on_stored(s: Session, stored: list[Stored]) -> None:
        by_index = {d.index: d.id for d in stored}
        if 0 not in by_index:
            raise OSError(f"chunk {folder.name} of {source_name} could not be stored")
        eml_ids = {emls[i - 1]: rid for i, rid in by_index.items() if i > 0}
        src = get_source(s, source_name)
        indexer(s, src.id, by_index[0], records, eml_ids)
        chunk_id.append(by_index[0])

    # Everything in a chunk was received while its source was enabled: disabling it (which
    # closes the chunk) must not leave that behind.
    results = ingest_batch(vault, source_name, items, audit_it=True, on_stored=on_stored,
                           allow_disabled=True)
    failed = [r for r in results[1:] if isinstance(r, OSError)]
    if failed and counters is not None:
        counters.add("eml_not_stored", len(failed))
    shutil.rmtree(folder, ignore_errors=True)
    log.info("chunk of %s closed: %d lines, recording %s", source_name, len(records),
             chunk_id[0])
    after_write(vault)  # a disk short of space: the disk-pressure sweep runs at once
    return Closed(chunk_id[0], len(records), torn)


class ChunkSpool:
    """The open chunk of one source and the closing of finished ones (asyncio side)."""

    def __init__(self, vault: Vault, source_name: str, kind: str, granularity: str,
                 indexer: Indexer, counters: Counters, gate: DatabaseGate | None = None) -> None:
        if granularity not in GRANULARITIES:
            raise ValueError(f"chunk granularity must be one of {GRANULARITIES}")
        self.vault, self.source_name, self.kind = vault, source_name, kind
        self.granularity, self.indexer, self.counters = granularity, indexer, counters
        # Closing needs the database: in threads of its own, with back-off while it is away.
        self.gate = gate or DatabaseGate(source_name)
        self.root = spool_root(vault, source_name)
        self.current: Chunk | None = None
        # Finished chunks whose close failed because the database was away: their folders
        # stay in the spool (searchable as open chunks) and the running listener takes them
        # in once it answers again (`retry_later`), oldest first.
        self.left: list[Path] = []
        self._closing: set[asyncio.Task[None]] = set()
        self._retrying: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one close at a time: they write to the same index

    def recover(self) -> list[Closed]:
        """Close every chunk a previous run left open (blocking; call before listening)."""
        if not self.root.exists():
            return []
        return [close_folder(self.vault, self.source_name, folder, self.kind, self.indexer,
                             self.counters)
                for folder in sorted(p for p in self.root.iterdir() if p.is_dir())]

    def chunk_for(self, now: datetime) -> Chunk:
        if self.current is not None and now >= self.current.end:
            self._close_later(self.current)
            self.current = None
        if self.current is None:
            start = window_start(now, self.granularity, self.vault)
            folder = self.root / f"{start:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
            self.root.mkdir(parents=True, exist_ok=True)
            self.current = Chunk(folder, start, window_end(start, self.granularity, self.vault),
                                 by_chunk(self.kind).time_key)
        return self.current

    def append(self, record: dict[str, Any], now: datetime) -> Chunk:
        chunk = self.chunk_for(now)
        chunk.append(record)
        return chunk

    async def tick(self, now: datetime | None = None) -> None:
        """Make what was appended durable and close a chunk whose window is over."""
        now = now or datetime.now(UTC)
        chunk = self.current
        if chunk is None:
            self.retry_later()
            return
        if now >= chunk.end:
            self.current = None
            self._close_later(chunk)
        else:
            await chunk.sync()
        self.retry_later()

    def _close_later(self, chunk: Chunk) -> None:
        task = asyncio.create_task(self._close(chunk))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, chunk: Chunk) -> None:
        async with self._lock:
            await chunk.finish()
            await self._take_in(chunk.folder)

    async def _take_in(self, folder: Path) -> bool:
        """Close one finished folder (under `_lock`); False if it stays in the spool."""
        try:
            await self.gate.run(close_folder, self.vault, self.source_name, folder, self.kind,
                                self.indexer, self.counters,
                                asked=lambda closed: closed.asked)
        except Exception as exc:
            if is_database_away(exc):
                # Not lost and not acknowledged twice: the folder is the truth, and closing
                # it again is safe (close_folder); the listener tries again with back-off.
                if folder not in self.left:
                    self.left.append(folder)
                    self.counters.add("chunk_close_failed")
                    log.warning("closing a chunk of %s failed: the database is away (%s); it "
                                "stays in the spool and is taken in when the database is "
                                "back", self.source_name, type(exc).__name__)
                return False
            if is_disk_full(exc):  # the reserve goes, the disk-pressure sweep runs
                await asyncio.to_thread(after_write, self.vault, True)
            # The folder stays in the spool: the next start takes it in.
            if folder in self.left:
                self.left.remove(folder)
            log.exception("closing a chunk of %s failed; it stays in the spool",
                          self.source_name)
            self.counters.add("chunk_close_failed")
            return False
        return True

    def retry_later(self) -> None:
        """Try the chunks left by the database's absence again, unless an attempt is under
        way or the back-off after the last failure still runs."""
        if not self.left or (self._retrying is not None and not self._retrying.done()):
            return
        if not self.gate.may_ask():
            return
        self._retrying = asyncio.create_task(self._retry())
        self._closing.add(self._retrying)
        self._retrying.add_done_callback(self._closing.discard)

    async def _retry(self) -> None:
        async with self._lock:
            for folder in sorted(self.left, key=lambda p: p.name):
                if not folder.exists():  # taken in meanwhile (a restarted listener's recover)
                    self.left.remove(folder)
                elif await self._take_in(folder):
                    self.left.remove(folder)
                    log.info("a chunk of %s left while the database was away is taken in",
                             self.source_name)
                elif folder in self.left:
                    break  # still away: the rest wait for the next attempt

    async def close_all(self) -> None:
        """Close the open chunk now (on stop, or to make everything searchable), and try
        once more the chunks the database's absence left."""
        if self.current is not None:
            chunk, self.current = self.current, None
            self._close_later(chunk)
        if self.left and (self._retrying is None or self._retrying.done()):
            self._retrying = asyncio.create_task(self._retry())
            self._closing.add(self._retrying)
            self._retrying.add_done_callback(self._closing.discard)
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
