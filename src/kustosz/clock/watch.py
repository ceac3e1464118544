"""The server's wall clock watched against its steady clock (issue 14 item 9).

`time.time()` can step (NTP correcting a clock that was 40 days behind, an administrator
setting the date, a VM restored from a snapshot); the steady clock (CLOCK_BOOTTIME: it also
runs while the machine sleeps, so a resumed machine is no jump) cannot. Between two readings
both advance alike; a difference beyond `THRESHOLD_S` is a jump. On a jump:

* forward by D: what the clock stamped since the previous jump (or since watching began) is
  D younger than the index says, and its retention is counted from the later reading
  (kustosz.clock.rebase);
* backward by D: the material stamped before is D older than stamped, which only keeps it
  longer; what is stamped from now on is counted from the later reading too: the highest time
  the clock ever showed, carried on by the steady clock (`behind_s`).

Each jump is a `ClockJump` row, an alert (row kind "clock_jump", kustosz.alerts) and an audit
entry. At start, a clock behind the newest time the vault recorded (the last audit entry, the
high-water mark kept every minute) counts as a backward jump made while serve was stopped.
The cameras' clocks (RTCP, ingest.camera.clock) are compared too: a camera whose offset to the
server changes by more than the threshold, beyond what the server's own jumps explain, has
had its clock stepped, which raises the same alert naming the camera.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kustosz.alerts.kinds import AlertRow
from kustosz.audit import append as audit
from kustosz.clock.rebase import rebase
from kustosz.clock.words import span_pl, when_pl
from kustosz.db.clock import ClockJump
from kustosz.db.models import Alert, AuditEntry, Setting
from kustosz.documents.words import count_pl
from kustosz.vault import Vault

log = logging.getLogger(__name__)
THRESHOLD_S = 2.0
INTERVAL_S = 1.0
PERSIST_S = 60.0
HIGH_WATER_KEY = "clock.high_water"
FRAMES_KEPT = 64  # the clock's frames remembered for segments taken in after their jump
ALERT_KIND = AlertRow.CLOCK_JUMP


def steady_clock() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Jump:
    clock: str  # server | restart | camera
    delta_s: float  # > 0: forward
    before: datetime | None  # the last reading before it
    after: datetime  # the first reading after it
    rebased: int = 0
    source_id: int | None = None


_watches: dict[Path, ClockWatch] = {}


def watch_of(vault: Vault) -> ClockWatch | None:
    return _watches.get(vault.root)


def behind_s(vault: Vault) -> float:
    """How far the server's clock is behind the highest time it has shown (0 within the
    threshold, or when nothing watches): the recorder counts retention from the later."""
    watch = watch_of(vault)
    return watch.behind_s() if watch is not None else 0.0


def lag_for(vault: Vault, start: datetime) -> float:
    """How far behind the true time the clock was when it stamped ``start`` (0 within the
    threshold, or when nothing watches): what an intake adds to count retention from."""
    watch = watch_of(vault)
    return watch.lag_for(start.timestamp()) if watch is not None else 0.0


def generation(vault: Vault) -> int:
    """Grows at every jump of the server's clock: a camera session learns its anchor anew."""
    watch = watch_of(vault)
    return watch.generation if watch is not None else 0


def before_sweep(vault: Vault) -> None:
    """A reading just before the sweep decides what is due: a forward jump in the last second
    is handled (its material re-based) before the sweep could take it for old."""
    watch = watch_of(vault)
    if watch is None:
        return
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
                 steady: Callable[[], float] = steady_clock) -> None:
        self.vault, self.threshold_s, self.interval_s = vault, threshold_s, interval_s
        self._wall, self._steady = wall, steady
        self._lock = threading.Lock()
        w, st = wall(), steady()
        self._last = (w, st)
        self._frame_start = w  # rows taken since share this clock's error
        self._high = (w, st)  # the highest wall reading, carried on by the steady clock
        self._persisted = st
        self._cameras: dict[int, tuple[float, float]] = {}  # offset, server jumps then
        self.total_s = 0.0  # sum of the server's jumps
        self.generation = 0
        self.jumps: list[Jump] = []
        # The frames the server's clock has had, oldest first: the readings each frame's clock
        # gave (first, last) and the jump that ended it. A segment stamped in an old frame may
        # be taken in after the jump that ended it (the rebase at the jump did not see it).
        self._frames: deque[tuple[float, float, float]] = deque(maxlen=FRAMES_KEPT)

    # -- registration and the thread ------------------------------------------------------
    def register(self) -> ClockWatch:
        _watches[self.vault.root] = self
        return self

    def unregister(self) -> None:
        if _watches.get(self.vault.root) is self:
            del _watches[self.vault.root]

    def run(self, stop: threading.Event) -> None:
        self.register()
        try:
            self.check_start()
            while not stop.wait(self.interval_s):
                try:
                    self.sample()
                except Exception:  # a database hiccup must not end the watch
                    log.exception("clock watch: reading failed")
        finally:
            self.unregister()
            try:
                self._persist()
            except Exception:
                log.exception("clock watch: high-water mark not kept")

    # -- readings -------------------------------------------------------------------------
    def _high_now(self, st: float) -> float:
        return self._high[0] + (st - self._high[1])

    def behind_s(self) -> float:
        with self._lock:
            gap = self._high_now(self._steady()) - self._wall()
        return gap if gap > self.threshold_s else 0.0

    def lag_for(self, at: float) -> float:
        """The clock's lag behind the true time in the frame that stamped ``at`` (a reading
        of the server's clock): the current frame's lag as the last reading knew it — not the
        clock read now, which may have jumped since the stamp without the watch knowing yet —
        plus every jump the watch has seen since the frame ended. A reading several frames
        gave (the clock went back over its own readings) takes the largest, and so does the
        lag read now (as `behind_s`): kept longer, never shorter."""
        with self._lock:
            w, st = self._last
            current = max(0.0, self._high_now(st) - w)
            # ... and the clock read now: a jump back since the last reading, not seen yet,
            # is in it (a jump forward since makes it too small, which the frames make up)
            found = [self._high_now(self._steady()) - self._wall()]
            thr = self.threshold_s
            if at >= self._frame_start - thr:
                found.append(current)
            after = 0.0
            for first, last, delta in reversed(self._frames):
                after += delta
                if first - thr <= at <= last + thr:
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
                jump = self._jumped(delta, w0, w, elapsed)
            if w > self._high_now(st):
                self._high = (w, st)
            due = st - self._persisted >= PERSIST_S
            if due:
                self._persisted = st  # a failed write is tried a minute later, not every second
        if due:
            self._persist()  # outside the lock: the recorders ask behind_s meanwhile
        return jump

    def _jumped(self, delta: float, w0: float, w: float, elapsed: float) -> Jump:
        rebased = 0
        if delta > 0:
            # Every reading of the old clock lies in [frame start, w0 + elapsed]; every reading
            # of the new one after w0 + delta. Should elapsed exceed delta (the watch was
            # starved), some new readings fall in the window too: kept longer, never shorter.
            rebased = rebase(self.vault, _at(self._frame_start), _at(w0 + elapsed), delta)
        self._frames.append((self._frame_start, w0 + elapsed, delta))
        self._frame_start = w - elapsed  # the earliest the new clock can have read
        self.total_s += delta
        self.generation += 1
        jump = Jump("server", delta, _at(w0), _at(w), rebased)
        self._record(jump)
        return jump

    def check_start(self) -> Jump | None:
        """A clock behind what the vault recorded before it started (set back while it was
        stopped): material stamped from now on counts from the later time."""
        with self.vault.reading() as s:
            kept = s.get(Setting, HIGH_WATER_KEY)
            last_audit = s.execute(select(AuditEntry.at).order_by(AuditEntry.seq.desc())
                                   .limit(1)).scalar_one_or_none()
        seen = [last_audit.timestamp()] if last_audit is not None else []
        if kept is not None:
            with contextlib.suppress(ValueError):
                seen.append(float(kept.value))
        with self._lock:
            w, st = self._wall(), self._steady()
            newest = max(seen, default=w)
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
            high = max(self._high_now(self._steady()), self._wall())
        from sqlalchemy.exc import IntegrityError

        try:
            with self.vault.transaction() as s:
                s.merge(Setting(key=HIGH_WATER_KEY, value=repr(high)))
        except IntegrityError:  # another node (kustosz.cluster) made the row meanwhile
            with self.vault.transaction() as s:
                s.merge(Setting(key=HIGH_WATER_KEY, value=repr(high)))

    def _record(self, jump: Jump, camera: str | None = None) -> None:
        self.jumps.append(jump)
        way = "forward" if jump.delta_s > 0 else "backward"
        log.warning("clock jump: %s clock moved %s by %.1f s%s; %d recordings re-based",
                    (camera and f"camera {camera}") or jump.clock, way, abs(jump.delta_s),
                    f" ({jump.before.isoformat()} -> {jump.after.isoformat()})"
                    if jump.before else "", jump.rebased,
                    extra={"clock": jump.clock, "delta_s": round(jump.delta_s, 3),
                           "rebased": jump.rebased, "source_id": jump.source_id})
        with self.vault.transaction() as s:
            s.add(ClockJump(detected_at=jump.after, clock=jump.clock, source_id=jump.source_id,
                            delta_s=jump.delta_s, before_at=jump.before,
                            rebased=jump.rebased))
            s.add(Alert(raised_at=jump.after, kind=ALERT_KIND, source_id=jump.source_id,
                        message=message_pl(jump, camera)))
            audit(s, "system", "clock.jump", camera or "server clock", {
                "clock": jump.clock, "delta_s": round(jump.delta_s, 3),
                "before": jump.before.isoformat() if jump.before else None,
                "after": jump.after.isoformat(), "rebased": jump.rebased})


def message_pl(jump: Jump, camera: str | None = None) -> str:
    span = span_pl(jump.delta_s)
    if jump.clock == "camera":
        way = "do przodu" if jump.delta_s > 0 else "do tyłu"
        return (f"Zegar kamery {camera} przestawił się skokowo o {span} {way} względem zegara "
                "serwera. Czas w nagraniach tej kamery może się różnić od czasu w archiwum; "
                "sprawdź ustawienia czasu kamery (NTP).")
    readings = f" (wskazywał {when_pl(jump.before)}, teraz {when_pl(jump.after)})" \
        if jump.before else ""
    if jump.clock == "restart" and jump.before is not None:
        return (f"Zegar serwera wskazuje {when_pl(jump.after)}, o {span} wcześniej niż "
                f"ostatni zapis w archiwum ({when_pl(jump.before)}). Okres przechowywania "
                "nowych nagrań liczy się od późniejszego z tych czasów. Sprawdź "
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
