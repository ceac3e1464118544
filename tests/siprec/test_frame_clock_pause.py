"""The frames' clock on a busy machine (issue 64, found by a fresh-clone run at load 11): a
thread paused between its reading of the wall clock and of the steady clock measured a false
step of the wall clock, the next call's start moved by the pause, and a call that went on after
the capture process's absence lost its unheard stretch from its record. The clocks are read
here as the thread reads them, the pause put between two readings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kustosz.ingest.phone import call_clock
from kustosz.ingest.phone.call_clock import STEP_S, FrameClock


class Clocks:
    """A wall clock 1 000 000 s ahead of the steady one; ``pause`` seconds pass between the
    wall clock's reading and the next steady one, ``times`` times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.t = 100.0
        self.pauses: Iterator[float] = iter(())
        monkeypatch.setattr(call_clock, "steady", self.steady)
        monkeypatch.setattr(call_clock, "wall", self.wall)

    def steady(self) -> float:
        self.t += 0.0001
        return self.t

    def wall(self) -> float:
        now = self.t + 1_000_000.0
        self.t += next(self.pauses, 0.0)
        return now

    def pause(self, seconds: float, times: int = 1) -> None:
        self.pauses = iter([seconds] * times)


@pytest.mark.parametrize("pause", [0.6, 2.0, 30.0])
def test_a_pause_between_the_readings_is_no_step_of_the_wall_clock(
        monkeypatch: pytest.MonkeyPatch, pause: float) -> None:
    clocks = Clocks(monkeypatch)
    frames = FrameClock()
    clocks.pause(pause)  # the thread stalls once, between its two readings
    frames.update()
    stamp = clocks.t + 1_000_000.0  # a frame stamped now
    assert frames.steady_of(stamp) == pytest.approx(clocks.t, abs=0.01)
    assert frames._before is None  # no step was taken for one


def test_a_real_step_is_still_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    clocks = Clocks(monkeypatch)
    frames = FrameClock()
    monkeypatch.setattr(call_clock, "wall", lambda: clocks.t + 1_000_000.0 + 3600.0)
    frames.update()
    assert frames._before is not None
    late = clocks.t + 1_000_000.0  # stamped just before the step, read after it
    assert frames.steady_of(late) == pytest.approx(clocks.t, abs=STEP_S)


def test_pauses_at_every_try_take_the_tightest_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    clocks = Clocks(monkeypatch)
    clocks.pause(0.02, times=call_clock.READ_TRIES)
    at = call_clock.offset()
    # each try's wall reading lies within its own bracket: off by at most half of it
    assert at == pytest.approx(1_000_000.0, abs=0.011)
