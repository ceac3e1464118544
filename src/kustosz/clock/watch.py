"""The server's wall clock watched against its steady clock (issue 14 item 9, issue 27 item 7).

`time.time()` can step (NTP correcting a clock that was 40 days behind, an administrator
setting the date, a VM restored from a snapshot); the steady clock (CLOCK_BOOTTIME: it also
runs while the machine sleeps, so a resumed machine is no jump) cannot. Between two readings
both advance alike; a difference beyond `THRESHOLD_S` is a jump.

The watch keeps a reference time line, the *high-water mark* H: the highest time the clock
has shown, carried on by the steady clock. Unless the evidence below says otherwise the
clock is taken never to be ahead of the true time, so H is a lower bound of it, and material
counts from H where the clock read less (kept longer, never shorter). On a jump:

* forward by D: what the clock stamped since its frame began (the previous jump, or the
  persisted start of the frame before serve started) is D younger than the index says, and
  its retention is counted from the later reading (kustosz.clock.rebase); and where the
  jump takes the clock above H, H rises by as much and every row taken in before the jump
  counts from as much later too (the older frames' clocks were that much further behind; two
  jumps forward in a row left the first frame's rows judged by the second clock otherwise);
* backward by D: the material stamped before is D older than stamped, which only keeps it
  longer; what is stamped from now on counts from H (`behind_s`, `lag_for`);
* a *correction*: the clock lands back (within the threshold) on the time line of an earlier
  frame that was at the high-water mark when it ended, after a forward jump took it above.
  Either that earlier time line was right and the jump forward was wrong (the clock was
  wrong-ahead: set ahead by hand, a bad NTP source) and is now undone, or the earlier time
  line was behind, the jump forward corrected it and the clock has now gone wrong again by
  exactly as much. The second needs the same error twice; the first is what an undone
  mistake looks like, and keeping the high-water mark would keep everything recorded from
  then on D past its legal end (invariant 1 forbids that too). So a correction lowers H to
  the clock: material from then on counts from its own stamps. What remains undecidable:
  a clock set back that does *not* return to a known time line (counted from H: kept
  longer), and a clock that was already wrong when watching began (nothing to compare with
  but the vault's last times). Material stamped during the wrong-ahead period, and that
  re-based at the jump forward, keeps its later end (their objects may already be locked to
  it) until two people undo the jump: the watch cannot tell the undone mistake from a
  correct jump forward followed by a clock set back by as much (which whoever controls the
  clock could stage to have correct ends shortened), so only an approved
  `kustosz clock undo` shortens them (kustosz.clock.undo). Until then they are D late at
  most, and the alert says how many and names the step. The correction's row and audit
  entry name the forward jump it corrects, the jumps whose moves an undo would put back, and
  the ahead period's frames: the readings they gave and how far ahead each was.

Each jump is a `ClockJump` row, an alert (row kind "clock_jump", kustosz.alerts) and an audit
entry.

Across a restart (`check_start`, run by `start` before recovery, intake and the first sweep
may use the clock): the watch persists, every minute, at every jump and at `close`, the
high-water mark with a pair of readings (wall, CLOCK_BOOTTIME), the boot id
(/proc/sys/kernel/random/boot_id), the start of the current frame and the frames it keeps.
On the same boot the wall clock should read `wall_then + (boottime_now - boottime_then)`; a
difference beyond the threshold is a jump made while serve was stopped, in either direction,
handled as a live one (a forward one re-bases what the old frame stamped; a backward one
counts from H; a return to a known time line is a correction). After a reboot the steady
clock starts again, so only the backward check is possible from the vault alone: a clock
behind the newest time the vault recorded (the persisted high-water mark, the last audit
entry) counts as a jump back made while stopped; a clock set ahead while the machine was off
cannot be told from a long stop.

The cameras' clocks (RTCP, ingest.camera.clock) are compared too: a camera whose offset to the
server changes by more than the threshold, beyond what the server's own jumps explain, has
had its clock stepped, which raises the same alert naming the camera.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kustosz.audit import append as audit
from kustosz.clock.confirm import SUSPECT_S, hold, release, synchronised, unconfirmed
from kustosz.clock.rebase import raise_older, rebase
from kustosz.clock.undo import kept_late
from kustosz.clock.words import span_pl, when_pl
from kustosz.db.clock import ClockJump
from kustosz.db.models import Alert, AuditEntry, Recording, Setting
from kustosz.db.outage import Backoff, is_database_away
from kustosz.db.settings import put_settings
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.watchdog import progress_of
from kustosz.words import count_pl

log = logging.getLogger(__name__)
# serve's watchdog: a turn of the watch is one reading (a database write a minute, bounded by
# db.deadline); re-basing a jump's material may take as long as a sweep.
ALLOWANCE_S = 120.0
REBASE_ALLOWANCE_S = 2 * 3600.0
THRESHOLD_S = 2.0
INTERVAL_S = 1.0
PERSIST_S = 60.0
HIGH_WATER_KEY = "clock.high_water"
READING_KEY = "clock.reading"  # JSON: the readings a start on the same boot compares with
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
FRAMES_KEPT = 64  # the clock's frames remembered for segments taken in after their jump
ALERT_KIND = AlertRow.CLOCK_JUMP


def steady_clock() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def boot_id() -> str | None:
    """This boot's id (a fresh random one at every boot): the steady clock's readings of two
    runs compare only within one boot."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Frame:
    """A past frame of the server's clock: the readings it gave (first, last), the jump that
    ended it, and how far it was below the high-water mark when it ended."""

    first: float
    last: float
    delta: float
    lag_end: float
    jump_id: int | None = None  # the ClockJump row of the jump that ended it


@dataclass(frozen=True)
class Correction:
    """What a correction undid (kustosz.clock.undo): the forward jump that began the ahead
    period (None: not known, frames kept before migration 0030), the jumps whose moves an
    undo puts back, and the period's frames as (first, last, ahead_s) — the readings the
    clock gave in each and how far ahead of the restored time line it was."""

    corrects: int | None
    undoes: tuple[int, ...]
    ahead: tuple[tuple[float, float, float], ...]
    kept_late: int = 0  # recordings kept past their end until an undo is approved


@dataclass(frozen=True)
class Jump:
    clock: str  # server | restart | camera
    delta_s: float  # > 0: forward
    before: datetime | None  # the last reading before it
    after: datetime  # the first reading after it
    rebased: int = 0
    source_id: int | None = None
    corrected: bool = False  # the clock returned to a time line it left by a jump forward
    measured: bool = False  # restart: compared on the same boot (expected reading in before)
    correction: Correction | None = None
    id: int | None = None  # its ClockJump row


def watch_of(vault: Vault) -> ClockWatch | None:
    """The watch registered for ``vault`` (among its services: kustosz.vault_services), or
    None where nothing watches the clock (a command run by hand, most tests)."""
    return vault.services.get(ClockWatch)


def behind_s(vault: Vault) -> float:
    """How far the server's clock is behind the highest time it has shown (0 within the
    threshold, or when nothing watches): the recorder counts retention from the later."""
    watch = watch_of(vault)
    return watch.behind_s() if watch is not None else 0.0


def lag_for(vault: Vault, start: datetime, end: datetime | None = None) -> float:
    """How far behind the true time the clock was when it stamped ``start`` (0 within the
    threshold, or when nothing watches): what an intake adds to count retention from.
    ``end``: the end the same clock stamped, at or before now (a camera segment's)."""
    watch = watch_of(vault)
    if watch is None:
        return 0.0
    return watch.lag_for(start.timestamp(), None if end is None else end.timestamp())


def generation(vault: Vault) -> int:
    """Grows at every jump of the server's clock: a camera session learns its anchor anew."""
    watch = watch_of(vault)
    return watch.generation if watch is not None else 0


def before_sweep(vault: Vault) -> None:
    """A reading just before the sweep decides what is due: a forward jump in the last second
    is handled (its material re-based) before the sweep could take it for old. A watch whose
    start check has not succeeded yet (the database was away) makes it now, and if it cannot,
    the sweep does not run (it raises): a sweep must never judge ages by an unchecked clock."""
    watch = watch_of(vault)
    if watch is None:
        return
    watch.ensure_checked()
    try:
        watch.sample()
    except Exception:  # the watch's own thread reads again within a second; the sweep goes on
        log.exception("clock watch: reading before the sweep failed")


def camera_offset(vault: Vault, source_id: int, name: str, offset_s: float) -> Jump | None:
    watch = watch_of(vault)
    return watch.camera_offset(source_id, name, offset_s) if watch is not None else None


class ClockWatch:
    def __init__(self, vault: Vault, threshold_s: float = THRESHOLD_S,
                 interval_s: float = INTERVAL_S, wall: Callable[[], float] = time.time,
                 steady: Callable[[], float] = steady_clock,
                 boot: Callable[[], str | None] = boot_id,
                 synced: Callable[[], bool | None] = synchronised) -> None:
        self.vault, self.threshold_s, self.interval_s = vault, threshold_s, interval_s
        self._wall, self._steady, self._boot, self._synced = wall, steady, boot, synced
        self.held = False  # a reboot left the clock unconfirmed (kustosz.clock.confirm)
        self._lock = threading.Lock()
        w, st = wall(), steady()
        self._last = (w, st)
        self._frame_start = w  # rows taken since share this clock's error
        self._high = (w, st)  # the high-water mark H, carried on by the steady clock
        self._persisted = st
        self._checked = False
        self._cameras: dict[int, tuple[float, float]] = {}  # offset, server jumps then
        self.total_s = 0.0  # sum of the server's jumps
        self.generation = 0
        self.jumps: list[Jump] = []
        # The frames the server's clock has had, oldest first. A segment stamped in an old
        # frame may be taken in after the jump that ended it (the rebase at the jump did not
        # see it), and a session's anchor learnt in a frame may stamp segments the stream
        # carried on into the next (a take delayed past two jumps).
        self._frames: deque[Frame] = deque(maxlen=FRAMES_KEPT)

    # -- registration, start, the thread, stop --------------------------------------------
    def register(self) -> ClockWatch:
        return self.vault.services.put(ClockWatch, self)

    def unregister(self) -> None:
        self.vault.services.drop(ClockWatch, self)

    def start(self) -> ClockWatch:
        """Register and compare the clock with what the vault kept (`check_start`): serve
        calls this before its start-up recovery takes spooled segments in and before the
        sweep can run. A failed check (the database away) is logged and made again by `run`
        and by the sweep (`before_sweep`), which does not run until it succeeds."""
        self.register()
        try:
            self.ensure_checked()
        except Exception:
            log.exception("clock watch: the start check failed; retried before any sweep")
        return self

    def ensure_checked(self) -> None:
        if not self._checked:
            self.check_start()

    def run(self, stop: threading.Event) -> None:
        """Read the clock every `interval_s` until ``stop``. The watch stays registered when
        ``stop`` is set: the recorders and listeners still close and take in their last
        segments and chunks, which the watch must still cover; serve calls `close` after
        stopping them."""
        self.register()
        # serve's watchdog (kustosz.watchdog): a reading is a second's work; a jump re-bases
        # the material of its frames under `busy`.
        self._loop = progress_of(self.vault).loop("clock", ALLOWANCE_S)
        try:
            backoff = Backoff(first_s=self.interval_s, limit_s=30.0)
            while not self._checked and not stop.is_set():
                try:
                    self.check_start()
                except Exception as exc:
                    if is_database_away(exc):
                        log.warning("clock watch: the start check waits for the database")
                    else:
                        log.exception("clock watch: the start check failed; trying again")
                    if self._loop.wait(stop, backoff.delay()):
                        return
            while not self._loop.wait(stop, self.interval_s):
                self._loop.beat()
                try:
                    self.sample()
                    if self.held and self._synced():
                        release(self.vault, "synchronised", "clock")
                        self.held = False
                except Exception:  # a database hiccup must not end the watch
                    log.exception("clock watch: reading failed")
        finally:
            self._loop.forget()

    def close(self) -> None:
        """After serve has stopped everything that takes material in: a last reading (a jump
        in the last second is handled), the readings kept for the next start, unregistered."""
        try:
            try:
                self.sample()
            except Exception:
                log.exception("clock watch: the last reading failed")
            self._persist()
        except Exception:
            log.exception("clock watch: high-water mark not kept")
        finally:
            self.unregister()

    # -- readings -------------------------------------------------------------------------
    def _high_now(self, st: float) -> float:
        return self._high[0] + (st - self._high[1])

    def behind_s(self) -> float:
        with self._lock:
            gap = self._high_now(self._steady()) - self._wall()
        return gap if gap > self.threshold_s else 0.0

    def lag_for(self, at: float, end: float | None = None) -> float:
        """The clock's lag behind the true time in the frame that stamped ``at`` (a reading
        of the server's clock): the current frame's lag as the last reading knew it — not the
        clock read now, which may have jumped since the stamp without the watch knowing yet —
        plus every jump the watch has seen since the frame ended. A frame's clock can give
        ``at`` from its first reading on until the time its clock, carried on, would show now
        (a session's anchor learnt in a frame stamps the segments the stream carried on after
        the frame ended, if they were taken in only after two jumps; issue 27 item 7 d). A
        reading several frames can give takes the largest, and so does the lag read now (as
        `behind_s`): kept longer, never shorter. ``end``, where the same clock stamped it
        by now (a segment's end: never later than the reading at its close), bounds from
        above the frames that can have given the stamp."""
        with self._lock:
            w, st = self._last
            st_now = self._steady()
            current = self._high_now(st) - w
            # ... and the clock read now: a jump back since the last reading, not seen yet,
            # is in it (a jump forward since makes it too small, which the frames make up)
            found = [self._high_now(st_now) - self._wall()]
            thr = self.threshold_s
            reading_now = w + (st_now - st)  # the current frame's clock, now
            last = at if end is None else max(at, end)
            # The current frame's clock, carried on, reads ``reading_now``: a later stamp was
            # given after a jump forward not read yet, by a clock whose lag is the one read now
            if self._frame_start - thr <= at and last <= reading_now + thr:
                found.append(current)
            after = 0.0
            for frame in reversed(self._frames):
                after += frame.delta
                if frame.first - thr <= at and \
                        last <= max(frame.last, reading_now - after) + thr:
                    found.append(current + after)
        lag = max(found)
        return lag if lag > self.threshold_s else 0.0

    def sample(self) -> Jump | None:
        with self._lock:
            w, st = self._wall(), self._steady()
            w0, st0 = self._last
            self._last = (w, st)
            elapsed = st - st0
            delta = (w - w0) - elapsed
            jump = None
            if abs(delta) > self.threshold_s:
                jump = self._jumped(delta, w0, w, elapsed, st)
            if w > self._high_now(st):
                self._high = (w, st)
            due = jump is not None or st - self._persisted >= PERSIST_S
            if due:
                self._persisted = st  # a failed write is tried a minute later, not every second
        if due:
            self._persist()  # outside the lock: the recorders ask behind_s meanwhile
        return jump

    def _jumped(self, delta: float, w0: float, w: float, elapsed: float, st: float,
                clock: str = "server", since: float | None = None) -> Jump:
        """``w0 + elapsed``: the old clock's reading now; ``since``: the earliest reading of
        the frame that ended (default: the frame's start as the watch knows it)."""
        loop = getattr(self, "_loop", None)
        with loop.busy(REBASE_ALLOWANCE_S) if loop is not None else contextlib.nullcontext():
            return self._handle_jump(delta, w0, w, elapsed, st, clock, since)

    def _handle_jump(self, delta: float, w0: float, w: float, elapsed: float, st: float,
                     clock: str, since: float | None) -> Jump:
        rebased = 0
        restart = clock == "restart"
        before, after = _at(w0 + (elapsed if restart else 0.0)), _at(w)
        # The jump's row first: what it moves is kept under its id (kustosz.clock.undo).
        jump_id = self._open(clock, delta, before, after)
        start = self._frame_start if since is None else since
        rise = w - self._high_now(st)  # how far the high-water mark rises
        if rise > self.threshold_s:
            # Every frame before was behind by as much more as the mark rises (the clock is
            # taken never to be ahead): all that was taken in before the jump counts from that
            # much later. First: the re-base below only moves what is still short of it.
            rebased += raise_older(self.vault, _at(self._high_now(st)), rise, jump_id,
                                   new_from=_at(w - elapsed))
        if delta > 0:
            # The old clock read [frame start, w0 + elapsed]; a starved watch (elapsed > delta)
            # puts new stamps there too: kept longer, unless a camera segment's end tells.
            rebased += rebase(self.vault, _at(start), _at(w0 + elapsed), delta, jump_id,
                              ended_by=_at(w0 + elapsed + self.threshold_s))
        lag_end = max(0.0, self._high_now(st) - (w0 + elapsed))
        self._frames.append(Frame(start, w0 + elapsed, delta, lag_end, jump_id))
        self._frame_start = w - elapsed  # the earliest the new clock can have read
        self.total_s += delta
        self.generation += 1
        correction = self._corrected(w, st)
        if correction is not None:
            with self.vault.reading() as s:
                correction = Correction(correction.corrects, correction.undoes,
                                        correction.ahead,
                                        kept_late(s, correction.undoes, correction.ahead,
                                                  self.threshold_s, (w - elapsed, w)))
        jump = Jump(clock, delta, before, after, rebased, corrected=correction is not None,
                    measured=restart, correction=correction, id=jump_id)
        self._record(jump)
        return jump

    def _open(self, clock: str, delta: float, before: datetime, after: datetime) -> int:
        with self.vault.transaction() as s:
            row = ClockJump(detected_at=after, clock=clock, delta_s=delta, before_at=before,
                            rebased=0)
            s.add(row)
            s.flush()
            return row.id

    def _corrected(self, w: float, st: float) -> Correction | None:
        """The clock is back (within the threshold) on the time line of an earlier frame that
        was at the high-water mark when it ended, below the mark a jump forward raised since:
        a wrong-ahead clock corrected (the module's docstring says why). H comes down to the
        clock, so what is stamped from now on counts from its own stamps. Returns what the
        correction undid: the jump that ended that frame, the jumps since (this one's frame
        is the last), and each later frame with how far ahead of that time line it was."""
        if self._high_now(st) - w <= self.threshold_s:
            return None
        frames = list(self._frames)
        after = 0.0
        for i in range(len(frames) - 1, -1, -1):
            after += frames[i].delta
            if abs(after) <= self.threshold_s and frames[i].lag_end <= self.threshold_s:
                self._high = (w, st)
                ahead: list[tuple[float, float, float]] = []
                since = 0.0
                for later in reversed(frames[i + 1:]):
                    since += later.delta  # the jumps from the one that ended it on
                    if abs(since) > self.threshold_s:
                        ahead.append((later.first, later.last, -since))
                undoes = tuple(f.jump_id for f in frames[i:-1] if f.jump_id is not None)
                return Correction(frames[i].jump_id, undoes, tuple(reversed(ahead)))
        return None

    def check_start(self) -> Jump | None:
        """The clock compared with what the vault kept from before this start (see the
        module's docstring): on the same boot in both directions, after a reboot only a clock
        behind the vault's newest time. Material stamped from now on counts from the later
        time; a clock found moved forward re-bases what the old frame stamped."""
        with self.vault.reading() as s:
            kept = s.get(Setting, HIGH_WATER_KEY)
            reading = s.get(Setting, READING_KEY)
            last_audit = s.execute(select(AuditEntry.at).order_by(AuditEntry.seq.desc())
                                   .limit(1)).scalar_one_or_none()
            self.held = unconfirmed(s) is not None  # a start before this one's, unconfirmed
        state = _state_of(reading.value if reading is not None else None)
        seen = [last_audit.timestamp()] if last_audit is not None else []
        if kept is not None:
            with contextlib.suppress(ValueError):
                seen.append(float(kept.value))
        boot = self._boot()
        with self._lock:
            if self._checked:
                return None
            # The first reading (at construction): a jump since is the next sample's.
            w, st = self._last
            if state is not None and boot is not None and state["boot"] == boot:
                jump = self._same_boot(state, w, st)
            else:
                # The frame's start is not known for sure: a forward jump later re-bases all
                # that is older too (kept longer, never shorter).
                if state is not None:
                    self._frame_start = min(float(state["frame_start"]), w)  # type: ignore[arg-type]
                else:
                    self._frame_start = 0.0
                jump = self._other_boot(seen, w, st)
            self._checked = True
        self._persist()
        return jump

    def _same_boot(self, state: dict[str, object], w: float, st: float) -> Jump | None:
        """The steady clock ran on while serve was stopped: the wall clock should read
        ``wall_then + (steady_now - steady_then)``."""
        elapsed = st - float(state["steady"])  # type: ignore[arg-type]
        wall_then = float(state["wall"])  # type: ignore[arg-type]
        self._frames.clear()  # a check made again after a failed one starts afresh
        self._frames.extend(Frame(*f) for f in state["frames"])  # type: ignore[attr-defined]
        self._frame_start = float(state["frame_start"])  # type: ignore[arg-type]
        self.total_s = float(state.get("total", 0.0))  # type: ignore[arg-type]
        self._high = (max(float(state["high"]), wall_then), st - elapsed)  # type: ignore[arg-type]
        delta = w - (wall_then + elapsed)
        jump = None
        if abs(delta) > self.threshold_s:
            jump = self._jumped(delta, wall_then, w, elapsed, st, "restart")
        if w > self._high_now(st):
            self._high = (w, st)
        return jump

    def _other_boot(self, seen: list[float], w: float, st: float) -> Jump | None:
        """Another boot (or nothing kept): the newest time the vault recorded is all there is;
        a clock behind it was set back while stopped. A clock set ahead is not told."""
        newest = max(seen, default=w)
        if w - newest > SUSPECT_S and not self._synced():
            with self.vault.transaction() as s:  # a clock that may be ahead: sweeps wait
                hold(s, newest, w)
            self.held = True
        if newest - w <= self.threshold_s:
            return None
        self._high = (newest, st)
        jump = Jump("restart", w - newest, _at(newest), _at(w))
        self._record(jump)
        return jump

    def camera_offset(self, source_id: int, name: str, offset_s: float) -> Jump | None:
        """A new RTCP measurement (camera clock minus server clock). The server's own jumps
        move every camera's offset by minus as much; what is left moved the camera's clock."""
        with self._lock:
            previous = self._cameras.get(source_id)
            self._cameras[source_id] = (offset_s, self.total_s)
            if previous is None:
                return None
            moved = (offset_s - previous[0]) + (self.total_s - previous[1])
            if abs(moved) <= self.threshold_s:
                return None
            jump = Jump("camera", moved, None, _at(self._wall()), source_id=source_id)
            self._record(jump, name)
            return jump

    # -- what a jump leaves ---------------------------------------------------------------
    def _persist(self) -> None:
        with self._lock:
            st = self._steady()
            w = self._wall()
            high = max(self._high_now(st), w)
            state = json.dumps({
                "boot": self._boot(), "wall": w, "steady": st, "high": self._high_now(st),
                "frame_start": self._frame_start, "total": self.total_s,
                "frames": [[f.first, f.last, f.delta, f.lag_end, f.jump_id]
                           for f in self._frames]})

        def write() -> None:
            with self.vault.transaction() as s:
                put_settings(s, {HIGH_WATER_KEY: repr(high), READING_KEY: state})

        try:
            write()
        except IntegrityError:  # another node (kustosz.cluster) made the row meanwhile
            write()

    def _record(self, jump: Jump, camera: str | None = None) -> None:
        """The jump's row (made here, or by `_open` before its material was moved), alert
        and audit entry."""
        self.jumps.append(jump)
        way = "forward" if jump.delta_s > 0 else "backward"
        log.warning("clock jump: %s clock moved %s by %.1f s%s; %d recordings re-based",
                    (camera and f"camera {camera}") or jump.clock, way, abs(jump.delta_s),
                    f" ({jump.before.isoformat()} -> {jump.after.isoformat()})"
                    if jump.before else "", jump.rebased,
                    extra={"clock": jump.clock, "delta_s": round(jump.delta_s, 3),
                           "rebased": jump.rebased, "source_id": jump.source_id})
        fix = jump.correction
        with self.vault.transaction() as s:
            row = s.get(ClockJump, jump.id) if jump.id is not None else None
            if row is None:
                row = ClockJump(detected_at=jump.after, clock=jump.clock,
                                source_id=jump.source_id, delta_s=jump.delta_s,
                                before_at=jump.before)
                s.add(row)
            row.rebased = jump.rebased
            row.corrects_id = fix.corrects if fix is not None else None
            s.flush()
            s.add(Alert(raised_at=jump.after, kind=ALERT_KIND, source_id=jump.source_id,
                        message=message_pl(jump, camera)))
            details: dict[str, object] = {
                "id": row.id, "clock": jump.clock, "delta_s": round(jump.delta_s, 3),
                "before": jump.before.isoformat() if jump.before else None,
                "after": jump.after.isoformat(), "rebased": jump.rebased}
            if fix is not None:
                # The facts an undo is checked against (kustosz.clock.undo): the newest
                # recording taken in by then ends the ahead period's intake.
                details.update({
                    "corrects": fix.corrects, "undoes": list(fix.undoes),
                    "ahead": [[_at(a).isoformat(), _at(b).isoformat(), round(d, 3)]
                              for a, b, d in fix.ahead],
                    "last_recording": s.execute(select(func.max(Recording.id))).scalar(),
                    "kept_late": fix.kept_late})
            audit(s, "system", "clock.jump", camera or "server clock", details)


def _state_of(text: str | None) -> dict[str, object] | None:
    """The persisted readings, or None if absent or not understood (then the start compares
    with the vault's newest time only)."""
    if not text:
        return None
    try:
        state = json.loads(text)
        for key in ("wall", "steady", "high", "frame_start"):
            float(state[key])
        # (first, last, delta, lag_end[, the id of the jump that ended it]; before 0030: none)
        state["frames"] = [[float(x) for x in f[:4]] + [None if len(f) < 5 or f[4] is None
                                                        else int(f[4])]
                           for f in state.get("frames", [])]
        if any(len(f) != 5 for f in state["frames"]):
            return None
    except (ValueError, TypeError, KeyError):
        return None
    return state if isinstance(state, dict) else None


def message_pl(jump: Jump, camera: str | None = None) -> str:
    span = span_pl(jump.delta_s)
    if jump.clock == "camera":
        way = "do przodu" if jump.delta_s > 0 else "do tyłu"
        return (f"Zegar kamery {camera} przestawił się skokowo o {span} {way} względem zegara "
                "serwera. Czas w nagraniach tej kamery może się różnić od czasu w archiwum; "
                "sprawdź ustawienia czasu kamery (NTP).")
    readings = f" (wskazywał {when_pl(jump.before)}, teraz {when_pl(jump.after)})" \
        if jump.before else ""
    if jump.clock == "restart" and jump.before is not None and jump.measured:
        return _restart_pl(jump, span)
    if jump.clock == "restart" and jump.before is not None:
        return (f"Zegar serwera wskazuje {when_pl(jump.after)}, o {span} wcześniej niż "
                f"ostatni zapis w archiwum ({when_pl(jump.before)}). Okres przechowywania "
                "nowych nagrań liczy się od późniejszego z tych czasów. Sprawdź "
                "synchronizację czasu serwera (NTP).")
    if jump.corrected:
        return (f"Zegar serwera cofnął się o {span}{readings} i wrócił do czasu, który "
                "wskazywał przed wcześniejszym przeskokiem do przodu: uznano, że wcześniej "
                "się spieszył, a teraz wskazuje właściwy czas. Okres przechowywania nowych "
                f"nagrań liczy się od ich własnego czasu.{_kept_late_pl(jump)} Sprawdź "
                "synchronizację czasu serwera (NTP).")
    if jump.delta_s > 0:
        return (f"Zegar serwera przeskoczył o {span} do przodu{readings}. Nagrania zapisane "
                "przed tą zmianą mają w archiwum zbyt wczesny czas; okres ich przechowywania "
                "liczy się od późniejszego odczytu (przeliczono "
                f"{count_pl(jump.rebased, 'nagranie', 'nagrania', 'nagrań')}). "
                "Sprawdź synchronizację czasu serwera (NTP).")
    return (f"Zegar serwera cofnął się o {span}{readings}. Okres przechowywania nagrań "
            "liczy się od późniejszego odczytu czasu, więc żadne nie zostanie usunięte "
            "przedwcześnie. Sprawdź synchronizację czasu serwera (NTP).")


def _restart_pl(jump: Jump, span: str) -> str:
    """A jump made while serve was stopped, measured on the same boot."""
    readings = f" (wskazuje {when_pl(jump.after)}, a powinien około {when_pl(jump.before)})" \
        if jump.before else ""
    if jump.delta_s > 0:
        return (f"Zegar serwera przestawiono o {span} do przodu, gdy Kustosz był zatrzymany"
                f"{readings}. Nagrania zapisane przed tą zmianą mają w archiwum zbyt wczesny "
                "czas; okres ich przechowywania liczy się od późniejszego odczytu (przeliczono "
                f"{count_pl(jump.rebased, 'nagranie', 'nagrania', 'nagrań')}). "
                "Sprawdź synchronizację czasu serwera (NTP).")
    if jump.corrected:
        return (f"Zegar serwera cofnięto o {span}, gdy Kustosz był zatrzymany{readings}, do "
                "czasu, który wskazywał przed wcześniejszym przeskokiem do przodu: uznano, "
                "że wcześniej się spieszył. Okres przechowywania nowych nagrań liczy się od "
                f"ich własnego czasu.{_kept_late_pl(jump)} Sprawdź synchronizację czasu "
                "serwera (NTP).")
    return (f"Zegar serwera cofnięto o {span}, gdy Kustosz był zatrzymany{readings}. Okres "
            "przechowywania nowych nagrań liczy się od późniejszego odczytu czasu, więc żadne "
            "nie zostanie usunięte przedwcześnie. Sprawdź synchronizację czasu serwera (NTP).")


def _kept_late_pl(jump: Jump) -> str:
    """A correction: how much material is kept how long too long, and the two-person step
    that alone may shorten it (kustosz.clock.undo)."""
    fix = jump.correction
    if fix is None or fix.kept_late == 0 or not fix.ahead:
        return ""
    late = span_pl(max(d for _, _, d in fix.ahead))
    how = (f"administrator proponuje cofnięcie przeskoku nr {fix.corrects} (kustosz clock "
           f"undo propose {fix.corrects} --reason PRZYCZYNA --by KONTO), a inna osoba z rolą "
           "zatwierdzającego zatwierdza je (kustosz clock undo approve NR --by KONTO "
           "--credentials PLIK)") if fix.corrects is not None else \
        "tego przeskoku nie można jednak wskazać (zapisano go przed aktualizacją)"
    return (" Nagrania zapisane, gdy zegar się spieszył, oraz przeliczone przy przeskoku do "
            f"przodu (razem {count_pl(fix.kept_late, 'nagranie', 'nagrania', 'nagrań')}) będą "
            f"przechowywane nawet o {late} dłużej, niż pozwala ich okres przechowywania. "
            "System nie skraca go sam, bo nie odróżni cofniętej pomyłki od zegara celowo "
            "przestawionego z powrotem; skrócić go może tylko dwuosobowa procedura: "
            f"{how}.")
