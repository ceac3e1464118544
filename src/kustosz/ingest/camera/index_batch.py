"""Camera segments indexed in batches across every camera: one transaction a second, not two
per segment.

A segment is taken in with the three steps of `ingest.files.adopt_file` — (1) a `pending`
row naming its storage key, with its size and hash, (2) the rename into storage, (3) the row
marked `stored` — but every camera's segments go to one committer (`SegmentIndex`, one per
vault), which takes whatever arrived within ``window_s`` of the first waiting segment as one
batch: one transaction with one multi-row INSERT for (1), the renames (each flushed as
before: a syncfs per batch flushed every other writer's data on the file system too, and
took seconds on a busy disk, past serve's stop limit), one transaction with one executemany
UPDATE for (3). The camera's thread waits for its batch
(it has nothing else to do until its next segment closes, seconds away), so an error still
reaches the recorder that made the segment, as before.

Crash safety is that of `adopt_file` (invariant 5), whatever the batch holds when the kill
comes: before (1) commits, the segment is still in its spool folder and is taken in by the
start-up recovery (`spool.settle_leftovers`); between (1) and (3), `files.recover_pending`
finishes a row whose file is in storage with the noted hash, and removes the row of one that
is not (its file is still in the spool, taken in again). Each rename of (2) is durable before
(3) commits, so no row is `stored` before its file is.

The database away (issue 27): every wait here is bounded. A camera's thread waits for its
segment at most ``ADOPT_WAIT_S`` (or what `waiting` allows it), then gets `IndexTimeout`,
which every loop takes for the database not answering (`db.outage.is_database_away`): the
segment stays in its session folder, the recorder keeps it in its backlog and asks again. A
segment the committer had not begun is withdrawn; one it had begun stays its own, and the
next `adopt` of the same file waits for that job instead of starting a second (two jobs of
one file would both write a row). A step (1) whose commit failed may have committed all the
same (the answer lost with the connection): the next try of that file reuses the `pending`
row it finds, so no row is left behind. A step (3) that fails leaves the renamed files'
rows `pending`: the segments are in storage, so their cameras are told so, and the committer
marks them again with a bounded back-off for as long as serve runs (if serve stops first,
`recover_pending` finishes them, as after a kill between (2) and (3)).

The committer's thread beats serve's watchdog (kustosz.watchdog) at each batch and between its
steps while it runs, and is forgotten when it ends for want of work (the next segment starts it
again, registered again): a committer hung in a step stalls the watchdog, an idle one does not."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from kustosz.db.bulk import inserted_ids
from kustosz.db.models import Recording, Source
from kustosz.db.outage import Backoff, is_database_away
from kustosz.errors import KustoszError
from kustosz.holds.object_lock import held_ids, lock_until
from kustosz.index.expiry import expiry_of
from kustosz.ingest import files as _files
from kustosz.ingest import intake_errors as refuse
from kustosz.ingest.copies import AWAY, AWAY_PL, buffer_of
from kustosz.ingest.marking import _hold_late
from kustosz.retention.orphans import ORPHAN
from kustosz.states import RecordingState
from kustosz.storage.base import Lockable, Unavailable, put_retained
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

if TYPE_CHECKING:
    from kustosz.ingest.upload_queue import UploadQueue

log = logging.getLogger(__name__)

WINDOW_S = 1.0  # the "one transaction per second"
UPLOADS = 8  # renames (fsyncs) or uploads of one batch at once
IDLE_EXIT_S = 60.0  # the committer's thread ends after this long without work (restarted lazily)
# The longest a camera's thread waits for its segment's batch. A healthy batch takes well under
# a second; one that waits on a database that stopped answering, up to the engine's deadline
# (db.deadline, 60 s) for each try. The camera's thread has better things to do meanwhile:
# read ffmpeg's list into the session's list file (what a crash recovery goes by) and notice a
# stop. A segment given up on waits in the recorder's backlog, no harm done.
ADOPT_WAIT_S = 20.0
MARK_RETRIES_S = (0.5, 2.0)  # pauses before step (3) is tried again at once
QUICK_FAILURE_S = 5.0  # ... if it failed this fast (a silent database: owed at once)
MARK_BACKOFF = (1.0, 30.0)  # owed step (3): first and longest pause between tries
# The longest the committer may honestly go without a beat: an idle wait (IDLE_EXIT_S) and a
# step's transaction on a database that went silent (connect 10 s, an answer 60 s:
# db.deadline), or step (3) with its quick retries (MARK_RETRIES_S). Beyond it it is hung.
ALLOWANCE_S = 240.0
# Step (2) on an object store that stopped answering: each request tries `attempts` (3) times
# with a 60 s read timeout (storage.s3) before the segment falls back to the local spool.
PUTS_ALLOWANCE_S = 600.0


class IndexTimeout(sa_exc.TimeoutError):
    """The committer did not answer in time (it waits on the database, or the caller was
    stopped): the segment is still in its session folder, or its job goes on without the
    caller and the next `adopt` of the same file waits for it. A subclass of SQLAlchemy's
    timeout, which `db.outage.is_database_away` takes for an outage to wait out: the camera
    keeps the segment in its backlog and asks again. ``waits_on`` names what is silent, for
    the people reading the log."""

    waits_on = "database"


class StoreTimeout(IndexTimeout):
    """The committer was in step (2), its uploads to an object store that stopped answering
    (each request up to `attempts` × a 60 s read timeout): waited out as an outage, told as
    the store's (issue 48 item 13: it was logged as "the database is away")."""

    waits_on = "object store"


_bound = threading.local()


@contextmanager
def waiting(seconds: float, interrupt: threading.Event | None = None) -> Iterator[None]:
    """This thread's `adopt` waits at most ``seconds`` (and no longer once ``interrupt`` is
    set): a recorder's loop gives up at its stop, its last takes at a stop within serve's
    time limit."""
    before = getattr(_bound, "limit", None)
    _bound.limit = (seconds, interrupt)
    try:
        yield
    finally:
        _bound.limit = before


def _limit() -> tuple[float, threading.Event | None]:
    return getattr(_bound, "limit", None) or (ADOPT_WAIT_S, None)


Admit = Callable[[datetime, datetime], bool]


@dataclass
class _Job:
    row: _Row
    path: Path
    admit: Admit | None = None
    done: threading.Event = field(default_factory=threading.Event)
    rec_id: int | None = None  # None once done: refused by ``admit``
    error: BaseException | None = None
    claimed: bool = False  # taken into a batch: no longer the caller's to withdraw
    abandoned: bool = False  # its caller stopped waiting

    def fail(self, exc: BaseException) -> None:
        if not self.done.is_set():
            self.error = exc
            self.done.set()


class SegmentIndex:
    """The group committer of one vault. `adopt` blocks until its segment is indexed and
    stored (or failed, or `IndexTimeout`); segments that arrive within ``window_s`` of the
    first waiting one share its two transactions. ``urgent`` (a session being settled: serve
    stopping or starting) goes at once."""

    def __init__(self, vault: Vault, window_s: float = WINDOW_S) -> None:
        self.vault, self.window_s = vault, window_s
        self._cond = threading.Condition()
        self._jobs: list[_Job] = []
        self._urgent = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # batches committed (tests, profile)
        self._uploads: ThreadPoolExecutor | None = None
        self._inflight: dict[Path, _Job] = {}  # every unfinished job, by its file
        self._outcomes: dict[Path, tuple[datetime, datetime]] = {}  # of jobs given up on
        self._uncertain: set[Path] = set()  # step (1) failed: it may have committed
        self._owed: list[_Done] = []  # renamed into storage, step (3) not yet committed
        self._owed_backoff = Backoff(*MARK_BACKOFF)
        self._owed_at = 0.0  # time.monotonic() of the next try
        self._progress: Loop | None = None  # serve's watchdog, while the thread runs
        self._storing = False  # step (2) under way: a wait that ends now waits on the store

    def adopt(self, row: _Row, path: Path, urgent: bool = False,
              admit: Admit | None = None) -> int | None:
        seconds, interrupt = _limit()
        with self._cond:
            job = self._inflight.get(path)
            if job is None:  # else: a job of this file goes on from an earlier wait
                job = self._inflight[path] = _Job(row, path, admit)
                self._jobs.append(job)
            job.abandoned = False
            self._urgent = self._urgent or urgent
            if self._thread is None or not self._thread.is_alive():
                self._progress = progress_of(self.vault).loop("segment-index", ALLOWANCE_S)
                self._thread = threading.Thread(target=self._run, name="segment-index",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
        if not _wait(job.done, seconds, interrupt):
            with self._cond:
                if not job.done.is_set():
                    if not job.claimed:  # withdrawn: the file stays where it is
                        self._jobs.remove(job)
                        del self._inflight[path]
                    else:
                        job.abandoned = True
                    if self._storing:
                        raise StoreTimeout(f"the object store did not take the segments "
                                           f"within {seconds:.0f} s ({path.name})")
                    raise IndexTimeout(f"the segment index did not answer within "
                                       f"{seconds:.0f} s ({path.name})")
        if job.error is not None:
            raise job.error
        return job.rec_id

    def outcome_of(self, path: Path) -> tuple[datetime, datetime] | None:
        """The span a job indexed after its caller had stopped waiting (once): the file is in
        storage now, no longer in its session folder."""
        with self._cond:
            return self._outcomes.pop(path, None)

    def _take_batch(self) -> list[_Job] | None:
        """The next batch; [] when only owed marks are due; None: nothing to do (the thread
        ends; `adopt` starts another)."""
        with self._cond:
            if not self._jobs:
                idle = max(0.0, self._owed_at - time.monotonic()) if self._owed else \
                    IDLE_EXIT_S
                if not self._cond.wait_for(lambda: bool(self._jobs), idle):
                    if self._owed:
                        return []
                    self._thread = None
                    if self._progress is not None:  # idle is no hang; `adopt` registers anew
                        self._progress.forget()
                        self._progress = None
                    return None
            first = time.monotonic()
            while not self._urgent:
                left = first + self.window_s - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            jobs, self._jobs, self._urgent = self._jobs, [], False
            for job in jobs:
                job.claimed = True
            return jobs

    def _beat(self) -> None:
        if self._progress is not None:
            self._progress.beat()

    def _run(self) -> None:
        while True:
            self._beat()
            jobs = self._take_batch()
            if jobs is None:
                return
            try:
                if self._owed and time.monotonic() >= self._owed_at:
                    self._mark([])
                if jobs:
                    self._batch(jobs)
            except BaseException as exc:  # every waiting camera hears of it
                for job in jobs:
                    job.fail(exc)
            finally:
                self._finished(jobs)

    def _finished(self, jobs: list[_Job]) -> None:
        with self._cond:
            for job in jobs:
                if not job.done.is_set():  # cannot happen; never leave a caller waiting
                    job.fail(RuntimeError("the segment index dropped the job"))
                if self._inflight.get(job.path) is job:
                    del self._inflight[job.path]
                if job.error is None:
                    self._uncertain.discard(job.path)
                    if job.abandoned and job.rec_id is not None:
                        self._outcomes[job.path] = (job.row.start, job.row.end)
                else:  # its step (1) may have committed: the next try looks first
                    self._uncertain.add(job.path)

    def _batch(self, jobs: list[_Job]) -> None:
        # Several nodes (kustosz.cluster): the fence is asked right before the rows are
        # written, as it was before each segment's own transaction; not when the segment
        # closed, a batch window earlier (the lease may have passed to another node since).
        jobs = [job for job in jobs if self._admitted(job)]
        if not jobs:
            return
        # (1) every row, pending, in one transaction (one by one if the batch fails: one bad
        # segment must not keep the others out; not when the database is away: each would
        # wait for it in turn)
        try:
            placed = self._insert(jobs)
        except Exception as exc:
            if len(jobs) == 1 or is_database_away(exc):
                raise
            log.warning("a batch of %d segment rows failed; writing them one by one",
                        len(jobs), exc_info=True)
            placed = []
            for job in jobs:
                try:
                    placed += self._insert([job])
                except Exception as exc:
                    job.fail(exc)
        # (2) the renames (uploads, on an object store: in parallel)
        self._beat()
        progress = self._progress
        with progress.busy(PUTS_ALLOWANCE_S) if progress is not None else nullcontext():
            self._storing = True
            try:
                stored = [d for d in self._put_all(placed) if d is not None]
            finally:
                self._storing = False
        self._beat()
        if not stored:
            return
        # (3) marked stored in one transaction, with whatever earlier batches still owe
        self._mark([d for _job, d in stored])
        for job, d in stored:
            job.rec_id = d.placed.rec_id
            job.done.set()

    def _mark(self, done: list[_Done]) -> None:
        """Step (3) of ``done`` and of every row owed before it. Idempotent: the same rows set
        to stored, with the same versions. A quick failure (a database busy or briefly gone)
        is tried again at once (MARK_RETRIES_S); a slow one, or the last, owes them all: their
        files are in storage, so the cameras go on, and the rows are marked again after a
        pause that grows (a row left pending would stay out of the timeline until the next
        start)."""
        rows = [*self._owed, *done]
        if not rows:
            return
        for attempt, pause in enumerate((*MARK_RETRIES_S, None) if done else (None,)):
            began = time.monotonic()
            try:
                with self.vault.transaction() as s:
                    _mark_stored(self.vault, s, rows)
                break
            except Exception as exc:
                if pause is not None and time.monotonic() - began < QUICK_FAILURE_S:
                    log.warning("marking %d segments stored failed (attempt %d); trying "
                                "again in %.1f s", len(rows), attempt + 1, pause,
                                exc_info=True)
                    time.sleep(pause)
                    continue
                wait = self._owed_backoff.delay()
                if not self._owed:
                    away = is_database_away(exc)
                    log.log(logging.WARNING if away else logging.ERROR,
                            "marking %d segments stored failed (%s); trying again in %.1f s "
                            "and on, as long as it fails (their files are in storage)",
                            len(rows), exc, wait, exc_info=not away)
                self._owed, self._owed_at = rows, time.monotonic() + wait
                return
        if self._owed:
            log.info("%d segments whose marking was owed are marked stored",
                     len(self._owed))
        self._owed = []
        self._owed_backoff.reset()
        self.batches += 1

    @staticmethod
    def _admitted(job: _Job) -> bool:
        if job.admit is None:
            return True
        try:
            if job.admit(job.row.start, job.row.end):
                return True
        except Exception as exc:
            job.fail(exc)
            return False
        job.done.set()  # refused: rec_id None
        return False

    def _insert(self, jobs: list[_Job]) -> list[tuple[_Job, _Placed]]:
        with self._cond:
            uncertain = [job for job in jobs if job.path in self._uncertain]
        with self.vault.transaction() as s:
            # A file whose step (1) failed: its row may have been committed all the same
            again = {id(job): p for job in uncertain if (p := _pending_again(self.vault, s,
                                                                             job.row))}
            fresh = [job for job in jobs if id(job) not in again]
            out = iter(_insert_pending(self.vault, s, [j.row for j in fresh]))
        placed = []
        for job in jobs:
            o = again.get(id(job)) or next(out)
            if isinstance(o, BaseException):
                job.fail(o)
            else:
                placed.append((job, o))
        return placed

    def _put_all(self, placed: list[tuple[_Job, _Placed]]
                 ) -> list[tuple[_Job, _Done] | None]:
        queue = buffer_of(self.vault)
        if len(placed) <= 1:
            return [self._put(queue, job, p) for job, p in placed]
        # In parallel, as each camera's thread did them before: concurrent fsyncs share the
        # journal's commits (one after another, a batch of 8 lagged behind its cameras).
        if self._uploads is None:
            self._uploads = ThreadPoolExecutor(UPLOADS, thread_name_prefix="segment-upload")
        return list(self._uploads.map(lambda jp: self._put(queue, *jp), placed))

    def _put(self, queue: UploadQueue | None, job: _Job, placed: _Placed
             ) -> tuple[_Job, _Done] | None:
        """Step (2) of one segment; None if it is not to be marked stored (failed: the row
        stays pending for `recover_pending`; or queued for the uploader)."""
        row = job.row
        try:
            try:
                if queue is not None and queue.away:
                    raise Unavailable(AWAY, pl=AWAY_PL)
                # A rename on the local disk (file, rename and both folders flushed).
                got = put_retained(self.vault.storage, placed.key, job.path,
                                   retain_until=placed.until, legal_hold=placed.held,
                                   move=True, sha256=row.sha256)
            except (OSError, KustoszError) as exc:
                if queue is None or not job.path.is_file():
                    raise
                # The object store is away: the segment waits in the local spool (flagged
                # first, then moved: a kill between the two leaves it in its session folder,
                # taken in again).
                queue.flag(placed.rec_id)
                queue.move_in(placed.rec_id, placed.key, job.path)
                if not queue.away:
                    log.warning("upload of %s failed (%s); kept in the local spool",
                                placed.key, exc)
                queue.away = True
                job.rec_id = placed.rec_id
                job.done.set()
                return None
        except BaseException as exc:
            job.fail(exc)
            return None
        return job, _Done(placed, row.source_id, got.version_id,
                          (row.end - row.start).total_seconds())


def _wait(done: threading.Event, seconds: float, interrupt: threading.Event | None) -> bool:
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or (interrupt is not None and interrupt.is_set()):
            return done.is_set()
        if done.wait(left if interrupt is None else min(left, 0.2)):
            return True


def index_of(vault: Vault) -> SegmentIndex:
    """The vault's one segment index (kustosz.vault_services), made on first use."""
    return vault.services.of(SegmentIndex, lambda: SegmentIndex(vault))


# -- the two steps that write rows ----------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    source_id: int
    start: datetime
    end: datetime
    suffix: str
    meta: dict[str, Any]
    size: int
    sha256: str
    retain_from: datetime | None


@dataclass(frozen=True)
class _Placed:
    rec_id: int
    key: str
    until: datetime | None
    held: bool
    longest: float  # the source's longest recording when the row was written


def _insert_pending(vault: Vault, s: Session, rows: list[_Row]
                    ) -> list[_Placed | BaseException]:
    """Step (1) of many segments: one INSERT of every row."""
    # files.datetime: the intake's own clock (tests shift it: tests/clock_helpers.py)
    now = _files.datetime.now(UTC)
    # Every camera's source in one query (read afresh each batch: its name and period may
    # have changed since the last).
    sources = {src.id: src for src in s.execute(select(Source).where(
        Source.id.in_({row.source_id for row in rows}))).scalars()}
    out: list[_Placed | BaseException] = []
    values: list[dict[str, Any]] = []
    for row in rows:
        source = sources.get(row.source_id)
        if source is None:
            out.append(refuse.no_source(row.source_id))
            continue
        values.append({
            "source_id": source.id, "kind": source.kind, "start_at": row.start,
            "end_at": row.end, "storage_key": _files.storage_key(source, row.start, row.suffix),
            "meta": {**row.meta, _files.ADOPTED: True}, "state": RecordingState.PENDING,
            "size": row.size, "sha256": row.sha256, "retain_from": row.retain_from,
            "expires_at": expiry_of(source, max(row.start, row.retain_from or row.start),
                                    vault.policy),
            "ingested_at": now})
        out.append(None)  # type: ignore[arg-type]  # filled below
    ids = inserted_ids(s, Recording.__table__, values, "storage_key")
    held = held_ids(s, ids) if ids and isinstance(vault.storage, Lockable) else set()
    placed = iter(zip(ids, values, strict=True))
    for i, o in enumerate(out):
        if o is None:
            rid, v = next(placed)
            out[i] = _Placed(rid, v["storage_key"], lock_until(v["expires_at"]), rid in held,
                             sources[v["source_id"]].max_duration_s or 0.0)
    return out


def _pending_again(vault: Vault, s: Session, row: _Row) -> _Placed | None:
    """The `pending` row an earlier try of this segment committed (its answer lost with the
    connection), if there is one: same camera, same bytes, adopted, its file not yet renamed
    (the rename follows only a step (1) its job saw commit)."""
    found = s.execute(select(Recording).where(
        Recording.source_id == row.source_id, Recording.state == RecordingState.PENDING,
        Recording.sha256 == row.sha256, Recording.size == row.size)).scalars().all()
    rec = next((r for r in found if (r.meta or {}).get(_files.ADOPTED)
                and not (r.meta or {}).get(ORPHAN)), None)
    if rec is None:
        return None
    source = s.get(Source, row.source_id)
    held = rec.id in held_ids(s, [rec.id]) if isinstance(vault.storage, Lockable) else False
    log.info("segment %s: its row was written by an earlier try; taken in under it",
             rec.storage_key)
    return _Placed(rec.id, rec.storage_key, lock_until(rec.expires_at), held,
                   (source.max_duration_s if source else None) or 0.0)


@dataclass(frozen=True)
class _Done:
    placed: _Placed
    source_id: int
    version_id: str | None
    seconds: float


def _mark_stored(vault: Vault, s: Session, done: list[_Done]) -> list[BaseException | None]:
    """Step (3) of many segments: one executemany UPDATE (the storage was synced before)."""
    table = Recording.__table__
    s.execute(update(table).where(table.c.id == bindparam("rid"))
              .values(state=RecordingState.STORED, version_id=bindparam("rver")),
              [{"rid": d.placed.rec_id, "rver": d.version_id} for d in done])
    longest: dict[int, float] = {}
    for d in done:
        if d.seconds > d.placed.longest:  # as long as the last ones, mostly: nothing to write
            longest[d.source_id] = max(longest.get(d.source_id, 0.0), d.seconds)
    for source_id, seconds in longest.items():
        s.execute(update(Source).where(Source.id == source_id, Source.max_duration_s < seconds)
                  .values(max_duration_s=seconds))
    if isinstance(vault.storage, Lockable):
        _hold_late(vault, s, [(d.placed.rec_id, d.placed.key, d.version_id) for d in done],
                   {d.placed.rec_id for d in done if d.placed.held})
    return [None] * len(done)


def adopt_segment(vault: Vault, source_id: int, path: Path, start: datetime, end: datetime,
                  meta: dict[str, Any] | None, retain_from: datetime | None,
                  hashed: tuple[int, str], urgent: bool = False,
                  admit: Admit | None = None) -> int | None:
    """`files.adopt_file` for a camera segment whose size and SHA-256 are known already
    (hashed while ffmpeg wrote it), its steps done in the vault's shared batches; the id of
    its row, or None if ``admit`` (several nodes: the lease's fence) refused it — then
    nothing was written and the file is where it was."""
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise refuse.adopt_times("adopt_segment")
    size, sha = hashed
    row = _Row(source_id, start, end, path.suffix, dict(meta or {}), size, sha, retain_from)
    return index_of(vault).adopt(row, path, urgent, admit)
