"""Issue 27 item 7: the clock across serve's stop and start, and a clock that was ahead.

Segments are recorded through the camera intake (the spool's Session, the mtimes ffmpeg
leaves) under a wall clock of the test's own, shifted; the steady clock (CLOCK_BOOTTIME) is
left alone. A restart is a new `ClockWatch` over the same vault, as serve makes one; "the
same boot" is the boot id the watch is given (the machine's own cannot be changed by a test:
the one thing mocked here). The real sweep runs, judging by the server's shifted clock as
serve's does. Each case checks both ways: nothing deleted before its true period ends,
nothing kept past it (invariant 1, R2.1)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kustosz.clock import ClockWatch, watch_of
from kustosz.db.clock import ClockJump
from kustosz.db.models import Alert, Recording, Source
from kustosz.index.expiry import expiry_of
from kustosz.retention import run_sweep
from kustosz.vault import Vault
from tests.clock_helpers import DAY, Camera, ShiftedClock, camera_source

BOOT = "6a0d4a5e-boot-one"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ShiftedClock:
    c = ShiftedClock()
    c.install(monkeypatch)
    return c


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def started(vault: Vault, clock: ShiftedClock, boot: str = BOOT) -> ClockWatch:
    """As serve starts it: registered and checked before recovery, intake and the sweep."""
    clock.catch_up()  # what the vault wrote before is not taken for a clock behind
    return ClockWatch(vault, wall=clock.wall, steady=clock.steady, boot=lambda: boot).start()


def behind_from_the_start(clock: ShiftedClock, seconds: float) -> None:
    """The clock behind the true time since before the vault was made (the vault's own
    entries were stamped by it): the true time is moved on instead of the clock back."""
    clock.true += seconds
    clock.start += seconds  # the steady clock untouched
    clock.error_s = -seconds


def _not_early(vault: Vault, taken: list[tuple[int, float]]) -> None:
    rows = _rows(vault)
    with vault.reading() as s:
        source = s.execute(select(Source)).scalars().first()
        for rid, true_start in taken:
            assert rows[rid].expires_at >= expiry_of(source, _at(true_start), vault.policy)


def _rows(vault: Vault) -> dict[int, Recording]:
    with vault.reading() as s:
        return {r.id: r for r in s.execute(select(Recording)).scalars()}


def _sweep_by_server_clock(vault: Vault, clock: ShiftedClock, later_s: float = 0.0) -> set[int]:
    """Serve's sweep: `now` is the server's (shifted) clock; returns the ids it deleted."""
    report = run_sweep(vault, now=_at(clock.wall() + later_s))
    return {d["id"] for d in report.deleted}


def _ends_on_time(vault: Vault, taken: list[tuple[int, float]]) -> None:
    """Each recording's end is its true period's end: not earlier, and not later than the
    end counted from a minute after its true start (float rounding at a midnight)."""
    rows = _rows(vault)
    with vault.reading() as s:
        source = s.execute(select(Source)).scalars().first()
        for rid, true_start in taken:
            due = expiry_of(source, _at(true_start), vault.policy)
            late = expiry_of(source, _at(true_start + 60), vault.policy)
            got = rows[rid].expires_at
            assert due <= got <= late, (rid, rows[rid].start_at, rows[rid].retain_from, got,
                                        due)


def _alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return [a.message for a in s.execute(select(Alert).where(Alert.kind == "clock_jump")
                                              .order_by(Alert.id)).scalars()]


def _record(feed: Camera, n: int, seconds: float = 10) -> list[tuple[int, float]]:
    for _ in range(n):
        feed.record(seconds)
    return feed.take()


# -- (a) the watch covers what is taken in while serve stops ----------------------------------

def test_segments_taken_in_at_the_stop_keep_the_clock_protection(vault: Vault,
                                                                 clock: ShiftedClock) -> None:
    """The clock 40 days behind is corrected in the last second before a graceful stop; the
    recorders' last segments (closed by the old clock) are taken in after the watch's thread
    has ended. The watch is still registered then, and `close` (serve's, after the recorders)
    reads the clock once more: the jump is found and what the old clock stamped re-based."""
    cam = camera_source(vault)
    behind_from_the_start(clock, 40 * DAY)
    # A long interval: the thread reads nothing between the start and the stop, the worst
    # case (the correction falls between two readings).
    watch = ClockWatch(vault, interval_s=3600, wall=clock.wall, steady=clock.steady,
                       boot=lambda: BOOT)
    stop = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    thread.start()
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not watch._checked:  # the start check made (the thread's first step)
        assert datetime.now(UTC) < deadline
        thread.join(0.01)
    feed = Camera(vault, cam, clock, "20261122T100000-stop")
    taken = _record(feed, 3)
    feed.record(10)  # the segment ffmpeg closes at the stop, by the old clock
    clock.advance(0.3)
    clock.error_s = 0.0  # NTP corrects the clock
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert watch_of(vault) is watch, "unregistered before the recorders took their last in"
    taken += feed.take()  # the recorder's stop takes the last segment in
    watch.close()  # serve: after the recorders and listeners have stopped
    assert watch_of(vault) is None
    assert [j.delta_s for j in watch.jumps] == [pytest.approx(40 * DAY)]
    # Started again (the same boot): no jump, nothing to re-base, nothing deleted.
    again = started(vault, clock)
    try:
        assert again.jumps == []
        assert _sweep_by_server_clock(vault, clock) == set()
        _ends_on_time(vault, taken)
    finally:
        again.close()


# -- (b) a jump made while serve was stopped, the same boot ---------------------------------

def test_recorded_behind_then_corrected_while_stopped_is_not_deleted(vault: Vault,
                                                                     clock: ShiftedClock
                                                                     ) -> None:
    """The experiment: recorded with the clock 40 days behind, stopped, the clock corrected,
    started: the first sweep deleted all 38 segments, with no alert."""
    cam = camera_source(vault)
    behind_from_the_start(clock, 40 * DAY)
    watch = started(vault, clock)
    assert watch.jumps == []
    feed = Camera(vault, cam, clock, "20261122T100000-beh")
    taken = _record(feed, 38)
    watch.close()
    clock.advance(30)
    clock.error_s = 0.0  # corrected while serve was stopped
    clock.advance(30)
    watch = started(vault, clock)
    try:
        (jump,) = watch.jumps
        assert jump.clock == "restart" and jump.delta_s == pytest.approx(40 * DAY, abs=1)
        assert jump.rebased == 38
        assert _sweep_by_server_clock(vault, clock) == set()
        assert len(_rows(vault)) == 38
        _ends_on_time(vault, taken)
        (said,) = _alerts(vault)
        assert said.startswith("Zegar serwera przestawiono o 40 dni do przodu, gdy Kustosz "
                               "był zatrzymany (wskazuje ")
        assert "przeliczono 38 nagrań" in said
        # ... and they do go when their true period ends (30 days in this preset).
        assert len(_sweep_by_server_clock(vault, clock, later_s=32 * DAY)) == 38
    finally:
        watch.close()


def test_a_clock_set_ahead_while_stopped_deletes_nothing_early(vault: Vault,
                                                              clock: ShiftedClock) -> None:
    """Recorded with a right clock, stopped, the clock set 40 days ahead, started: the sweep
    judges by the clock ahead, and must not take the material for 40 days older."""
    cam = camera_source(vault)
    watch = started(vault, clock)
    feed = Camera(vault, cam, clock, "20261122T100000-ahd")
    taken = _record(feed, 38)
    watch.close()
    clock.advance(10)
    clock.error_s = 40 * DAY
    watch = started(vault, clock)
    try:
        (jump,) = watch.jumps
        assert jump.clock == "restart" and jump.delta_s == pytest.approx(40 * DAY, abs=1)
        assert _sweep_by_server_clock(vault, clock) == set()
        assert len(_rows(vault)) == 38
        assert "przestawiono o 40 dni do przodu" in _alerts(vault)[0]
    finally:
        watch.close()
    # The clock set right again while stopped: a correction (back on the time line it left);
    # what is recorded from then on ends on time; the material from before keeps its later
    # end (at most 40 days; said in the alert).
    clock.advance(10)
    clock.error_s = 0.0
    watch = started(vault, clock)
    try:
        (jump,) = watch.jumps
        assert jump.delta_s == pytest.approx(-40 * DAY, abs=1) and jump.corrected
        later = _record(Camera(vault, cam, clock, "20261122T110000-ahd"), 3)
        _ends_on_time(vault, later)
        assert set(_sweep_by_server_clock(vault, clock)) == set()
        _not_early(vault, taken)
        assert "cofnięto o 40 dni, gdy Kustosz był zatrzymany" in _alerts(vault)[-1]
    finally:
        watch.close()


def test_a_clock_set_back_while_stopped_counts_from_the_time_it_should_show(
        vault: Vault, clock: ShiftedClock) -> None:
    """Set 40 days back while stopped (the same boot): an alert at the start, and what is
    recorded from then on counts from the time the clock should show — not deleted early,
    not kept late."""
    cam = camera_source(vault)
    watch = started(vault, clock)
    taken = _record(Camera(vault, cam, clock, "20261122T100000-bk1"), 2)
    watch.close()
    clock.advance(600)  # stopped for ten minutes
    clock.error_s = -40 * DAY
    watch = started(vault, clock)
    try:
        (jump,) = watch.jumps
        assert jump.clock == "restart" and jump.delta_s == pytest.approx(-40 * DAY, abs=1)
        assert watch.behind_s() == pytest.approx(40 * DAY, abs=2)
        taken += _record(Camera(vault, cam, clock, "20261122T101000-bk2"), 3)
        assert _sweep_by_server_clock(vault, clock) == set()
        _ends_on_time(vault, taken)
        said = _alerts(vault)[0]
        assert said.startswith("Zegar serwera cofnięto o 40 dni, gdy Kustosz był zatrzymany")
        assert "żadne nie zostanie usunięte przedwcześnie" in said
    finally:
        watch.close()


def test_a_stop_without_a_jump_raises_nothing(vault: Vault, clock: ShiftedClock) -> None:
    cam = camera_source(vault)
    watch = started(vault, clock)
    taken = _record(Camera(vault, cam, clock, "20261122T100000-none"), 2)
    watch.close()
    clock.advance(3 * 3600)  # three hours stopped: the steady clock says so
    watch = started(vault, clock)
    try:
        assert watch.jumps == []
        taken += _record(Camera(vault, cam, clock, "20261122T130000-none"), 2)
        _ends_on_time(vault, taken)
        assert _alerts(vault) == []
    finally:
        watch.close()


def test_after_a_reboot_only_a_clock_behind_the_vault_is_told(vault: Vault,
                                                             clock: ShiftedClock) -> None:
    """Another boot (its id differs, the steady clock began again): the persisted readings
    cannot be carried on, so only a clock behind the vault's newest time is found."""
    cam = camera_source(vault)
    watch = started(vault, clock)
    taken = _record(Camera(vault, cam, clock, "20261122T100000-rb"), 2)
    watch.close()
    clock.advance(300)
    clock.start = clock.true  # the machine rebooted: CLOCK_BOOTTIME from 0
    clock.error_s = -40 * DAY
    watch = started(vault, clock, boot="another-boot")
    try:
        (jump,) = watch.jumps
        assert jump.clock == "restart" and jump.delta_s < -39 * DAY
        taken += _record(Camera(vault, cam, clock, "20261122T100500-rb"), 2)
        assert _sweep_by_server_clock(vault, clock) == set()
        _not_early(vault, taken)  # not late either but for the reboot's unknown length
        assert "wcześniej niż ostatni zapis w archiwum" in _alerts(vault)[0]
    finally:
        watch.close()


def test_the_first_sweep_checks_the_clock_if_the_start_could_not(vault: Vault,
                                                                 clock: ShiftedClock) -> None:
    """A watch registered whose start check has not run (serve's thread not there yet, or
    the database was away at the start): the sweep makes the check before it deletes."""
    cam = camera_source(vault)
    behind_from_the_start(clock, 40 * DAY)
    watch = started(vault, clock)
    taken = _record(Camera(vault, cam, clock, "20261122T100000-first"), 4)
    watch.close()
    clock.advance(5)
    clock.error_s = 0.0
    watch = ClockWatch(vault, wall=clock.wall, steady=clock.steady,
                       boot=lambda: BOOT).register()
    try:
        assert _sweep_by_server_clock(vault, clock) == set()
        assert [j.clock for j in watch.jumps] == ["restart"]
        _ends_on_time(vault, taken)
    finally:
        watch.close()


# -- (c) a clock that was ahead, then corrected ---------------------------------------------

def test_material_recorded_after_a_wrong_ahead_period_is_not_kept_late(vault: Vault,
                                                                       clock: ShiftedClock
                                                                       ) -> None:
    """Right, then set 40 days ahead (a forward jump: the material before is re-based, as the
    watch cannot tell yet), then corrected back to the time line it left. From the correction
    on, the high-water mark (the ahead reading) no longer pushes retention: new material ends
    30 days after its true day, not 70."""
    cam = camera_source(vault)
    watch = started(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-fwd")
        before = _record(feed, 2)
        clock.advance(1)
        clock.error_s = 40 * DAY
        assert watch.sample() is not None
        ahead = _record(feed, 2)
        assert _sweep_by_server_clock(vault, clock) == set()  # judged by the clock ahead
        clock.advance(1)
        clock.error_s = 0.0  # NTP corrects it
        jump = watch.sample()
        assert jump is not None and jump.corrected and watch.behind_s() == 0.0
        feed2 = Camera(vault, cam, clock, "20261122T100100-fwd")
        after = _record(feed2, 3)
        _ends_on_time(vault, after)
        assert _sweep_by_server_clock(vault, clock) == set()
        # Nothing early, whatever its time; the material of the ahead period and before
        # keeps its later end (at most 40 days).
        _not_early(vault, before + ahead)
        # 31 days on: everything recorded after the correction has gone.
        gone = _sweep_by_server_clock(vault, clock, later_s=31 * DAY)
        assert {rid for rid, _ in after} <= gone
        assert "wrócił do czasu, który wskazywał przed wcześniejszym przeskokiem" in \
            _alerts(vault)[-1]
        with vault.reading() as s:
            assert [j.delta_s > 0 for j in s.execute(select(ClockJump).order_by(ClockJump.id))
                    .scalars()] == [True, False]
    finally:
        watch.close()


def test_a_clock_set_back_elsewhere_is_still_counted_from_the_high_water(
        vault: Vault, clock: ShiftedClock) -> None:
    """Ahead by 40 days, then set back by 50 (not to the time line it left): nothing says
    which reading is right, so the later one counts (kept longer, never shorter)."""
    cam = camera_source(vault)
    watch = started(vault, clock)
    try:
        clock.advance(1)
        clock.error_s = 40 * DAY
        watch.sample()
        clock.advance(1)
        clock.error_s = -10 * DAY
        jump = watch.sample()
        assert jump is not None and not jump.corrected
        assert watch.behind_s() == pytest.approx(50 * DAY, abs=2)
        (rid, true_start), = _record(Camera(vault, cam, clock, "20261122T100000-els"), 1)
        row = _rows(vault)[rid]
        assert row.retain_from is not None
        assert row.retain_from - _at(true_start) > timedelta(days=39)
    finally:
        watch.close()
