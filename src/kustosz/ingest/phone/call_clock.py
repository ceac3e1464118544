"""A call's times (issue 64 item 7): its start read off the wall clock once, its length and
every interval within it off the steady clock.

The wall clock steps (NTP correcting a clock an hour out, an administrator setting the date);
a call's end read off it after a step was a false length — a 9.3 s call stored as 0.0 s after
a step back of an hour, as 3 609 s after one forward. The steady clock (CLOCK_MONOTONIC, what
the RTP writer times packets by) only runs: a call's end is its start plus the steady seconds
between, and where the wall clock stepped meanwhile the call says by how much
(`CallFacts.clock_step`, the stored call's `wall_clock_step_s`), so the person reading its
times knows the clock around it moved. Whether the start itself was right is the clock
watch's business (kustosz.clock), as for every other stamp.

Frames read by the capture process carry its wall-clock time (capture/wire.py): `FrameClock`
puts them on serve's steady clock, so the capture's calls are timed like SIPREC's."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

# Below this a difference between the two clocks is their reading jitter and the NTP slew
# the steady clock shares, no step: not written on the call.
STEP_S = 0.5
# How long a frame stamped by the wall clock before a step may still arrive after it: the
# capture process hands frames over within milliseconds, or within its socket's backlog when
# serve is behind.
LATE_FRAME_S = 10.0


def wall() -> float:
    """The wall clock (UTC seconds). Read here alone, so that tests can step it."""
    return time.time()


def steady() -> float:
    return time.monotonic()


# A pause longer than this between the two clocks' readings (the thread descheduled on a busy
# machine) would pass for a step of the wall clock: the reading is taken again.
READ_SPREAD_S = 0.005
READ_TRIES = 5


def offset() -> float:
    """The wall clock's reading less the steady clock's: constant until the wall clock
    steps. The wall clock is read between two readings of the steady one, and again while
    those two lie further apart than READ_SPREAD_S: a thread paused between its readings for
    half a second on a loaded machine measured a false step of the wall clock, and a call's
    start moved by that pause (its unheard stretch was then lost from its record)."""
    best: tuple[float, float] | None = None
    for _ in range(READ_TRIES):
        before = steady()
        now = wall()
        after = steady()
        spread = after - before
        if best is None or spread < best[0]:
            best = (spread, now - (before + after) / 2)
        if spread <= READ_SPREAD_S:
            break
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class CallClock:
    """A call's start on both clocks, the wall one read once."""

    wall_start: float  # UTC seconds
    steady_start: float

    @classmethod
    def now(cls) -> CallClock:
        return cls(wall(), steady())

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.wall_start, UTC)

    def at(self, steady_at: float) -> datetime:
        """The wall-clock time of a steady-clock moment of the call, on the time line of its
        start (never before it)."""
        return datetime.fromtimestamp(
            self.wall_start + max(0.0, steady_at - self.steady_start), UTC)

    def step(self) -> float:
        """How far the wall clock stepped since the start (+ forward, - back); 0.0 when
        less than STEP_S."""
        moved = offset() - (self.wall_start - self.steady_start)
        return round(moved, 3) if abs(moved) >= STEP_S else 0.0


class FrameClock:
    """The capture process's frame times (its wall clock) on serve's steady clock.

    Both processes read the same wall clock of one machine, so a frame's steady time is its
    stamp less the clocks' offset. When the wall clock steps, frames stamped just before it
    may still arrive after it: for a while the offset before the step is kept too, and each
    frame takes whichever of the two puts it nearer now — a real frame is never seconds old,
    a step is an hour."""

    def __init__(self) -> None:
        self._offset = offset()
        self._before: float | None = None
        self._stepped_at = 0.0

    def update(self) -> None:
        """The clocks read again: at each batch of frames."""
        now = offset()
        if abs(now - self._offset) >= STEP_S:
            self._before, self._offset, self._stepped_at = self._offset, now, steady()
        elif self._before is not None and steady() - self._stepped_at > LATE_FRAME_S:
            self._before = None

    def steady_of(self, stamp: float) -> float:
        at = stamp - self._offset
        if self._before is not None:
            now = steady()
            then = stamp - self._before
            if abs(then - now) < abs(at - now):
                return then
        return at

    def wall_of(self, steady_at: float) -> float:
        """A steady-clock moment's reading on the wall clock as it is now."""
        return steady_at + self._offset
