"""Noticing a full disk at once, not at the next scheduled sweep (issue 14, point 10).

Three cameras filled a small disk between two sweeps (every 15 minutes); at 0 % free even
the sweep failed, since deleting is itself a write. So:

- every segment or chunk that closes asks `after_write` (a statvfs, microseconds): below
  `min_free_percent` the disk-pressure sweep is woken at once (in the scheduler's thread,
  so it never runs beside a retention sweep; without a scheduler in a thread of its own);
- a write that failed for lack of space, or less free space than the reserve, is a *full*
  disk: the reserve (kustosz.storage.reserve) is released first, so the sweep, the alert row
  and the recorders' status can be written; the ``disk_full`` alert is raised, and when
  even its row cannot be written the alert channels are told straight from memory
  (`kustosz.alerts.without_disk`, once per episode);
- once there is room again the reserve is made again and the ``disk_full`` and
  ``disk_full_held`` alerts are cleared (their kind clears: one message when it starts, one
  when it is over).

One `DiskWatch` per open vault (`watch_of`): the recorders, the listeners and the scheduler
of one `serve` share it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from kustosz.audit import append as audit
from kustosz.db.deadline import patient
from kustosz.db.models import Alert, Recording, Sweep
from kustosz.db.outage import is_disk_full
from kustosz.holds.coverage import covered_by_active_hold
from kustosz.retention import office_share, sweep
from kustosz.retention.pressure_alerts import DISK_FULL_PL, only_held_left, raise_pressure
from kustosz.retention.writers import Writers
from kustosz.states import AlertRow, RecordingState, SweepMode
from kustosz.storage.reserve import Reserve, Space

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
DISK_FULL = AlertRow.DISK_FULL
DISK_FULL_HELD = AlertRow.DISK_FULL_HELD
CLEARED_WHEN_SPACE_IS_BACK = (DISK_FULL, DISK_FULL_HELD)
# After a run that could free nothing more (only held material left), closing segments do
# not wake the sweep again before this; the schedule still runs it.
STUCK_RETRY_S = 60.0


class DiskWatch:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.reserve = Reserve(vault.root, vault.config.min_free_percent,
                               int(getattr(vault.config, "reserve_mib", 64) * (1 << 20)))
        self.wake = threading.Event()
        self.listener = False  # a scheduler runs the sweep when `wake` is set
        self.full_since: datetime | None = None  # the disk ran out (this episode)
        # the last time it was found full: recorders whose session began earlier stop
        # writing, so that the released reserve is left to the sweep
        self.full_at: datetime | None = None
        self.told = False  # the no-disk message of this episode went out
        self.row_written = False  # the disk_full row of this episode is in the database
        self.rows_open: bool | None = None  # unknown until looked at
        self.stuck_until = 0.0
        # this process's disk-pressure sweeps whose files are gone but whose record the
        # full disk refused: finished by the next run (the next closing segment wakes it)
        self.unfinished: set[int] = set()
        self._lock = threading.Lock()  # one sweep at a time (scheduled or woken)
        self._state = threading.Lock()
        # One change of the episode at a time (reserve, alerts): a space_back measured
        # before another writer found the disk full ended that episode on a full disk.
        self._episode = threading.RLock()
        # the recorders' ffmpeg processes now writing: stopped before the reserve goes
        self.writers = Writers()

    # -- measuring -----------------------------------------------------------------------
    def space(self) -> Space:
        return self.reserve.space()

    def threshold(self, total: int) -> float:
        return total * self.vault.config.min_free_percent / 100

    def short(self, space: Space | None = None) -> bool:
        """Below `min_free_percent`, the reserve counted as free."""
        space = space or self.space()
        return space.total > 0 and space.effective_free < self.threshold(space.total)

    def floor(self, total: int) -> int:
        """Below this much free space the disk counts as full: half the reserve (at least
        64 KiB), which the margin above the reserve never reaches while the sweep keeps
        `min_free_percent` free."""
        return max(self.reserve.size(total) // 2, 64 << 10)

    def critical(self, space: Space) -> bool:
        """So little room that the sweep's own writes may fail."""
        return space.total > 0 and space.free < self.floor(space.total)

    def has_room(self) -> bool:
        """Room to record again: above the threshold, or at least four times the floor
        (when only held material is left the disk may stay short for good; recording into
        what is free is then better than not recording, and the sweep keeps it free)."""
        space = self.space()
        # what the reserve would hold is not room to record: it is the records' (released)
        free = space.free - max(0, self.reserve.size(space.total) - space.reserve)
        return not self.short(space) or free >= 4 * self.floor(space.total)

    def look(self) -> bool:
        """A writer waiting for room looks at the disk as a closing file would: while all
        wait nothing closes, and a disk another program filled meanwhile kept its reserve
        and no sweep ran (a loaded test run). True: room to write again."""
        self.after_write()
        return self.has_room()

    # -- the hook ------------------------------------------------------------------------
    def after_write(self, failed: bool = False) -> bool:
        """After a segment or chunk closed (``failed``: a write failed for lack of space).
        Returns True while the disk is short."""
        try:
            space = self.space()
        except OSError:
            log.exception("cannot measure the free space of %s", self.vault.root)
            return False
        short = self.short(space)
        if failed or self.critical(space):
            self.disk_full("a write failed: no space left" if failed else
                           f"only {space.free} bytes free")
        if short or failed or self.unfinished:
            self.trigger(force=failed or bool(self.unfinished))
        elif self.full_since is not None or self.rows_open is not False or \
                space.reserve < self.reserve.size(space.total):
            self.space_back()
        return short or failed

    def trigger(self, force: bool = False) -> None:
        """Run the disk-pressure sweep now (in the scheduler's thread when one listens)."""
        if not force and time.monotonic() < self.stuck_until:
            return
        if self.listener:
            self.wake.set()
            return
        threading.Thread(target=self._relieve_quietly, name="disk-pressure",
                         daemon=True).start()

    def _relieve_quietly(self) -> None:
        try:
            self.relieve(wait=False)
        except Exception:
            log.exception("disk-pressure sweep failed")

    @contextmanager
    def running(self) -> Iterator[None]:
        """Held by every sweep of this vault, so that two never mark the same rows."""
        with self._lock:
            yield

    def relieve(self, actor: str = "system", wait: bool = True) -> sweep.SweepReport | None:
        if not self._lock.acquire(blocking=wait):
            return None  # a sweep is under way; it measures the disk itself
        try:
            return relieve_pressure(self.vault, actor=actor)
        finally:
            self._lock.release()

    # -- the episode ---------------------------------------------------------------------
    def disk_full(self, why: str) -> None:
        """The disk ran out: the recorders stop, the reserve is given back and the alert
        raised (or, when its row cannot be written, the channels told from memory, once)."""
        with self._state:
            first = self.full_since is None
            at = self.full_at = datetime.now(UTC)
            since = self.full_since = self.full_since or at
            written = self.row_written
        for writer in self.writers.stop_before(at):
            log.error("a recorder's ffmpeg writing since %s did not stop; releasing the "
                      "reserve all the same", writer.since.isoformat())
        with self._episode:
            self.reserve.release()
            if first:
                log.error("disk full at %s (%s): recordings cannot be written; the "
                          "disk-pressure sweep frees space", self.vault.root, why)
            with self._state:
                written = written or self.row_written
            if written:
                return
            try:
                self._raise_row(DISK_FULL, DISK_FULL_PL, since)
                self.row_written = True
            except Exception as exc:
                if not is_disk_full(exc):
                    log.exception("cannot write the disk-full alert")
                self.tell_without_disk(DISK_FULL, DISK_FULL_PL, since)

    def tell_without_disk(self, row_kind: str, text: str, since: datetime) -> None:
        with self._state:
            if self.told:
                return
            self.told = True
        from kustosz.alerts.without_disk import tell_without_disk  # noqa: PLC0415 - alerts are above retention (a tie to cut, pyproject's ignore_imports)

        threading.Thread(target=tell_without_disk, args=(self.vault, row_kind, text, since),
                         name="alert-without-disk", daemon=True).start()

    def _raise_row(self, kind: str, text: str, since: datetime,
                   cleared: datetime | None = None) -> bool:
        with self.vault.transaction() as s:
            if s.execute(select(Alert.id).where(Alert.kind == kind, Alert.cleared_at.is_(None))
                         ).first():
                return False
            s.add(Alert(raised_at=since, kind=kind, message=text, cleared_at=cleared))
            audit(s, "system", f"alert.{kind}", "storage", {"since": since.isoformat()})
        self.rows_open = cleared is None or self.rows_open is not False
        return True

    def raise_held(self, text: str) -> None:
        """Only held material is left (the sweep could free nothing more)."""
        self.stuck_until = time.monotonic() + STUCK_RETRY_S
        try:
            self._raise_row(DISK_FULL_HELD, text, datetime.now(UTC))
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            self.tell_without_disk(DISK_FULL_HELD, text, datetime.now(UTC))

    def space_back(self, look: bool = False) -> None:
        """There is room again: the reserve back in place, the disk alerts cleared. Asked
        again here, in turn with `disk_full`: the caller measured before it waited."""
        with self._episode:
            if self.short():
                return
            self.reserve.ensure()
            self.stuck_until = 0.0
            self._end_episode(look)

    def _end_episode(self, look: bool) -> None:
        with self._state:
            since, written = self.full_since, self.row_written
            self.full_since, self.told, self.row_written = None, False, False
        now = datetime.now(UTC)
        try:
            if since is not None and not written:
                # The alert that could not be written while the disk was full: the record of
                # what happened (the channels were told from memory).
                self._raise_row(DISK_FULL, DISK_FULL_PL, since, cleared=now)
            if self.rows_open is False and not look:
                return
            with self.vault.transaction() as s:
                cleared = s.execute(update(Alert).where(
                    Alert.kind.in_(CLEARED_WHEN_SPACE_IS_BACK), Alert.cleared_at.is_(None))
                    .values(cleared_at=now)).rowcount
                if cleared:
                    audit(s, "system", "alert.disk_space_back", "storage", {"cleared": cleared})
            self.rows_open = False
            if since is not None or cleared:
                log.info("disk space is back at %s: recording resumes, alerts cleared",
                         self.vault.root)
        except Exception:
            log.exception("cannot clear the disk alerts; trying again later")
            with self._state:
                if self.full_since is None:
                    self.full_since, self.row_written = since, written


def _finish_unfinished(vault: Vault, watch: DiskWatch, actor: str,
                       report: sweep.SweepReport) -> bool:
    """This process's disk-pressure sweeps cut short by the full disk, finished
    (kustosz.retention.sweep.finish_open, as a start's recovery would). False: the disk still
    refuses their record (left for the next run)."""
    for sweep_id in sorted(watch.unfinished):
        try:
            sweep.finish_open(vault, sweep_id, SweepMode.DISK_PRESSURE, actor)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.warning("disk-pressure sweep %d: its record still cannot be written", sweep_id)
            return False
        watch.unfinished.discard(sweep_id)
        if sweep_id not in report.sweep_ids:
            report.sweep_ids.append(sweep_id)
    return True


def watch_of(vault: Vault) -> DiskWatch:
    """The vault's disk watch (kustosz.vault_services), made on first use."""
    return vault.services.of(DiskWatch, lambda: DiskWatch(vault))


def after_write(vault: Vault, failed: bool = False) -> bool:
    """The hook for whatever closes a file in the vault (a camera segment, a chunk)."""
    return watch_of(vault).after_write(failed)


FreeSpace = Callable[[], tuple[int, int]]


def _remote(vault: Vault) -> bool:
    return vault.store_is_remote


@patient
def relieve_pressure(vault: Vault, actor: str = "system", free_space: FreeSpace | None = None,
                     batch: int = 200) -> sweep.SweepReport:
    """Delete the oldest unheld material until free space is back above the threshold.

    Held material is never touched; if only held material is left, an alert says so.
    ``free_space`` returns (free, total) bytes; it defaults to the data folder's disk, where
    the reserve (kustosz.storage.reserve) counts as free: on a disk too full for the sweep's
    own writes it is released first, and it is made again once the disk has room
    (`DiskWatch`). It marks, unlinks and records its victims as the retention sweep does
    (kustosz.retention.sweep), so `recover` finishes one that was cut short. A row that
    cannot be written for lack of space (the alert) goes to the alert channels from memory
    instead.
    """
    watch = watch_of(vault) if free_space is None else None

    def measure() -> tuple[int, int]:
        if free_space is not None:
            return free_space()
        assert watch is not None
        space = watch.space()
        return space.effective_free, space.total

    report = sweep.SweepReport(as_of=datetime.now(UTC), dry_run=False, mode=SweepMode.DISK_PRESSURE)
    if not vault.may_delete:  # serve with [storage] sweep = "separate": the sweeper deletes
        return report
    if watch is not None and not _finish_unfinished(vault, watch, actor, report):
        return report  # still no room for the record of what was deleted: the next write
    threshold = vault.config.min_free_percent
    free, total = measure()
    if total <= 0 or free * 100 / total >= threshold:
        if watch is not None:
            watch.space_back(look=True)
        return report
    if watch is not None and watch.critical(watch.space()):
        watch.disk_full("almost no free space left")
    start_pct = free * 100 / total
    # On an object store the material is not on this disk: deleting it would free nothing
    # here (and go on deleting all of it). What fills this disk is the spool waiting for
    # the store (kustosz.ingest.upload_queue), which is never deleted: a person makes room.
    remote = free_space is None and _remote(vault)
    share = None if remote else office_share.of(vault, total)
    raise_pressure(vault, watch, actor, report, start_pct, threshold, remote, share)
    if remote or (share is not None and share.over <= 0):
        return report  # in an installation, the offices over their shares make the room
    # On the data folder's disk the sweep frees the reserve's size more than the margin, so
    # that the reserve can be made again without the disk being short at once (and the
    # recorders, resuming, do not fill it again before their next segment is checked).
    extra = watch.reserve.size(total) if watch is not None else 0
    most = share.over if share is not None else None
    if not _delete_oldest(vault, watch, measure, threshold, extra, actor, report, batch, most):
        return report
    if watch is not None and not watch.short():
        watch.space_back(look=True)
    return report


def _delete_oldest(vault: Vault, watch: DiskWatch | None, measure: FreeSpace,
                   threshold: float, extra: int, actor: str, report: sweep.SweepReport,
                   batch: int, most: int | None = None) -> bool:
    """The oldest unheld material deleted, batch by batch, until ``extra`` more than the
    threshold is free, ``most`` bytes are deleted (an office of an installation down to its
    share) or only held material is left. False: a sweep's record still cannot be written
    (the next run finishes it)."""
    rule = f"disk pressure: free space below {threshold:g}%"
    while True:
        # as whole bytes: a measure that sums sizes in SQL gives Decimal on PostgreSQL
        free, total = (int(v) for v in measure())
        needed = total * threshold / 100 + extra - free
        if needed <= 0 or (most is not None and most <= 0):
            break
        ids, size = _oldest_unheld(vault, batch, needed if most is None else min(needed, most))
        if most is not None:
            most -= size
        marked = 0
        if ids:  # no empty sweep (and audit entry) for every retry while all is held
            sweep_id, marked = _mark(vault, ids)
            report.sweep_ids.append(sweep_id)
            if not _delete_swept(vault, watch, sweep_id, rule, actor, report):
                assert watch is not None  # only a watched disk's refusal comes back
                if not _finish_unfinished(vault, watch, actor, report):
                    return False
                continue
        if not marked:
            only_held_left(vault, watch, actor)
            break
    return True


def _oldest_unheld(vault: Vault, batch: int, needed: float) -> tuple[list[int], int]:
    """The oldest stored items no hold covers, only as many as ``needed`` bytes take, and
    their bytes."""
    inner = aliased(Recording)
    with vault.reading() as s:
        candidates = s.execute(
            select(inner.id, inner.size).where(inner.state == RecordingState.STORED,
                                               ~covered_by_active_hold(inner))
            .order_by(inner.start_at, inner.id).limit(batch)).all()
    # The oldest, only as many as the shortfall needs (a batch is a ceiling, not a dose:
    # on a small disk 200 segments can be all there is).
    ids: list[int] = []
    taken = 0
    for rid, size in candidates:
        ids.append(rid)
        taken += size or 0
        if taken >= needed:
            break
    return ids, taken


def _mark(vault: Vault, ids: list[int]) -> tuple[int, int]:
    """A disk-pressure sweep marking ``ids`` deleting; its id and how many it marked."""
    with vault.transaction() as s:
        row = Sweep(started_at=datetime.now(UTC), as_of=datetime.now(UTC),
                    mode=SweepMode.DISK_PRESSURE)
        s.add(row)
        s.flush()
        sweep_id = row.id
        # Checked again here: a hold placed since the read above wins.
        marked = s.execute(update(Recording).where(
            Recording.id.in_(ids), Recording.state == RecordingState.STORED,
            ~covered_by_active_hold())
            .values(state=RecordingState.DELETING, sweep_id=sweep_id)
            .execution_options(synchronize_session=False)).rowcount
    return sweep_id, marked


def _delete_swept(vault: Vault, watch: DiskWatch | None, sweep_id: int, rule: str,
                  actor: str, report: sweep.SweepReport) -> bool:
    """The marked items unlinked and recorded. False: the full disk refused the record
    (the sweep is left to `_finish_unfinished`)."""
    # Before its end by design (the disk is full): only the holds, in the database
    # and open in the audit log, are asked again (holds/record.py).
    try:
        victims, kept, _early = sweep.delete_marked(
            vault, sweep_id, datetime.now(UTC), actor, lambda _src: rule,
            expiry=False, clear_agreed=False)
    except Exception as exc:
        if watch is None or not is_disk_full(exc):
            raise
        # Its files are gone (or going) but the disk refused the record of it: the
        # rows stay `deleting` until it is finished, here once the unlinks made
        # room, else by the next run.
        log.warning("disk-pressure sweep %d: its record could not be written (%s); "
                    "finishing it when there is room", sweep_id, exc)
        watch.unfinished.add(sweep_id)
        watch.disk_full("the sweep's record of its deletions could not be written")
        return False
    report.deleted.extend({"id": r.id, "source_id": r.source_id} for r in victims
                          if r.id not in kept)  # kept: a hold placed meanwhile
    return True
