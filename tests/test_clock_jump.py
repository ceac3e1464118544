"""Issue 14 item 9: a clock that jumps. Recorded with the server's clock 40 days behind and
then corrected, a session's segments were indexed 40 days in the past and deleted by the next
sweep at once. Here the same: the segments are taken in by the camera intake (the spool's
Session, the mtimes ffmpeg leaves) under a shifted clock, the watch reads the shifted clock
against the steady one, and the real sweep runs. R2.1 (kept no shorter than the period)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.clock import ClockWatch, camera_offset  # as the recorder calls it
from kustosz.db.clock import ClockJump
from kustosz.db.models import Alert, AuditEntry, Recording, Source
from kustosz.index.expiry import expiry_of, redate_all
from kustosz.retention import run_sweep
from kustosz.vault import Vault
from tests.clock_helpers import DAY, Camera, ShiftedClock, camera_source


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ShiftedClock:
    c = ShiftedClock()
    c.install(monkeypatch)
    return c


def watching(vault: Vault, clock: ShiftedClock) -> ClockWatch:
    return ClockWatch(vault, wall=clock.wall, steady=clock.steady).register()


def _rows(vault: Vault) -> dict[int, Recording]:
    with vault.reading() as s:
        return {r.id: r for r in s.execute(select(Recording)).scalars()}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _no_earlier_than_true_age(vault: Vault, taken: list[tuple[int, float]]) -> None:
    rows = _rows(vault)
    with vault.reading() as s:
        source = s.execute(select(Source)).scalars().first()
        for rid, true_start in taken:
            due = expiry_of(source, _at(true_start), vault.policy)
            assert rows[rid].expires_at >= due, (rows[rid].start_at, rows[rid].retain_from)


def test_forty_days_behind_then_corrected_is_not_deleted_early(vault: Vault,
                                                               clock: ShiftedClock) -> None:
    """The experiment: the clock 40 days behind, a session records, NTP corrects the clock in
    the middle of the session, the sweep runs. Nothing is deleted; the period (30 days for
    cameras in this preset) counts from the true time, and the material does go once that
    has passed."""
    cam = camera_source(vault)
    clock.error_s = -40 * DAY
    watch = watching(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-exp1")
        for _ in range(3):
            feed.record(10)
        taken = feed.take()
        old = _rows(vault)
        assert all(r.start_at < datetime.now(UTC) - timedelta(days=39) for r in old.values())
        feed.record(10)  # closed by the old clock, taken in after the correction
        clock.advance(0.2)
        clock.error_s = 0.0  # the correction
        taken += feed.take()
        feed.record(10)  # closed by the new clock before the watch's next reading
        taken += feed.take()
        clock.advance(0.5)
        jump = watch.sample()
        assert jump is not None and jump.delta_s == pytest.approx(40 * DAY)
        # The fifth already counts from its own file's time (within float rounding).
        assert jump.rebased in (4, 5)
        for _ in range(2):
            feed.record(10)
        taken += feed.take()
        report = run_sweep(vault)
        assert report.deleted == []
        assert len(_rows(vault)) == 7
        _no_earlier_than_true_age(vault, taken)
        # The new clock's segments are stamped with it again: the session learned its anchor
        # anew (the first segment after the jump says so), and the jump is a gap of the
        # time line, not of the recording.
        rows = sorted(_rows(vault).values(), key=lambda r: r.id)
        assert rows[-1].start_at > datetime.now(UTC) - timedelta(minutes=5)
        assert rows[0].retain_from is not None and \
            rows[0].retain_from - rows[0].start_at == timedelta(days=40)
        # Recorded and said: one jump row, one alert in Polish, one audit entry.
        with vault.reading() as s:
            (row,) = s.execute(select(ClockJump)).scalars()
            assert row.clock == "server" and row.rebased == jump.rebased
            (alert,) = s.execute(select(Alert).where(Alert.kind == "clock_jump")).scalars()
            assert "przeskoczył o 40 dni do przodu" in alert.message
            assert f"przeliczono {jump.rebased} nagr" in alert.message
            assert s.execute(select(AuditEntry).where(AuditEntry.action == "clock.jump")
                             ).scalars().one()
        # Retention still ends: 30 days after the true day of recording, all of it goes.
        later = run_sweep(vault, now=datetime.now(UTC) + timedelta(days=32))
        assert len(later.deleted) == 7
    finally:
        watch.unregister()


def test_without_the_watch_the_file_times_still_protect_segments_of_the_new_clock(
        vault: Vault, clock: ShiftedClock) -> None:
    """No watch running (e.g. `kustosz cameras` settling a spool): each segment's own file
    time is the later reading; the anchor's early stamp does not decide its retention."""
    cam = camera_source(vault)
    clock.error_s = -40 * DAY
    feed = Camera(vault, cam, clock, "20261122T100000-exp2")
    feed.record(10)
    feed.take()
    clock.error_s = 0.0
    feed.record(10)
    (rid, true_start), = feed.take()
    row = _rows(vault)[rid]
    assert row.start_at < _at(true_start) - timedelta(days=39)  # the old anchor's stamp
    assert row.retain_from is not None and abs(row.retain_from - _at(true_start)) < \
        timedelta(seconds=1)
    assert rid not in {d["id"] for d in run_sweep(vault).deleted}
    assert rid in _rows(vault)


def test_a_clock_set_back_counts_from_the_highest_time_it_showed(vault: Vault,
                                                                 clock: ShiftedClock) -> None:
    cam = camera_source(vault)
    watch = watching(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-back")
        feed.record(10)
        taken = feed.take()
        clock.advance(1)
        clock.error_s = -40 * DAY  # someone sets the date back
        jump = watch.sample()
        assert jump is not None and jump.delta_s == pytest.approx(-40 * DAY)
        assert watch.behind_s() == pytest.approx(40 * DAY, abs=1)
        feed.record(10)
        feed.record(10)
        taken += feed.take()
        assert run_sweep(vault).deleted == []
        _no_earlier_than_true_age(vault, taken)
        with vault.reading() as s:
            (alert,) = s.execute(select(Alert).where(Alert.kind == "clock_jump")).scalars()
        assert alert.message.startswith("Zegar serwera cofnął się o 40 dni (wskazywał ")
    finally:
        watch.unregister()


def test_a_clock_behind_the_vault_at_start_counts_from_the_vault(vault: Vault,
                                                                 clock: ShiftedClock) -> None:
    """Set back while serve was stopped: the audit log's last entry is later than the clock."""
    cam = camera_source(vault)
    clock.error_s = -40 * DAY
    watch = watching(vault, clock)
    try:
        jump = watch.check_start()
        assert jump is not None and jump.clock == "restart"
        assert jump.delta_s == pytest.approx(-40 * DAY, abs=60)
        feed = Camera(vault, cam, clock, "20261122T100000-rest")
        feed.record(10)
        taken = feed.take()
        _no_earlier_than_true_age(vault, taken)
        assert run_sweep(vault).deleted == []
        with vault.reading() as s:
            (alert,) = s.execute(select(Alert).where(Alert.kind == "clock_jump")).scalars()
        assert "o 40 dni wcześniej niż ostatni zapis w archiwum" in alert.message
    finally:
        watch.unregister()


def test_small_steps_and_a_correct_clock_raise_nothing(vault: Vault,
                                                       clock: ShiftedClock) -> None:
    watch = watching(vault, clock)
    try:
        assert watch.check_start() is None
        for _ in range(5):
            clock.advance(1)
            clock.error_s += 0.3  # slewing, a slow drift: below the threshold each time
            assert watch.sample() is None
        with vault.reading() as s:
            assert s.execute(select(Alert)).first() is None
            assert s.execute(select(ClockJump)).first() is None
    finally:
        watch.unregister()


def test_a_camera_clock_step_is_told_apart_from_the_servers(vault: Vault,
                                                            clock: ShiftedClock) -> None:
    """RTCP offsets (camera minus server): a server jump moves every camera's offset by
    minus as much, which is no camera jump; a camera that steps alone is named."""
    cam = camera_source(vault, "wejście")
    watch = watching(vault, clock)
    try:
        assert camera_offset(vault, cam, "wejście", 0.2) is None
        clock.advance(1)
        clock.error_s = 100.0
        assert watch.sample() is not None
        assert camera_offset(vault, cam, "wejście", -99.7) is None  # the server's jump
        moved = camera_offset(vault, cam, "wejście", 3500.0)
        assert moved is not None and moved.clock == "camera"
        with vault.reading() as s:
            alerts = [a for a in s.execute(select(Alert).where(Alert.kind == "clock_jump"))
                      .scalars() if a.source_id == cam]
        assert len(alerts) == 1
        assert alerts[0].message.startswith(
            "Zegar kamery wejście przestawił się skokowo o 1 godzinę do przodu względem "
            "zegara serwera.")
    finally:
        watch.unregister()


def test_a_policy_change_keeps_the_later_base(vault: Vault, clock: ShiftedClock) -> None:
    """redate_all (a changed policy) counts from retain_from, not from the early stamp."""
    cam = camera_source(vault)
    clock.error_s = -40 * DAY
    watch = watching(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-pol")
        feed.record(10)
        taken = feed.take()
        clock.advance(1)
        clock.error_s = 0
        watch.sample()
        with vault.transaction() as s:
            redate_all(s, vault.policy)
        _no_earlier_than_true_age(vault, taken)
    finally:
        watch.unregister()


def test_the_watch_thread_notices_a_jump_and_keeps_its_high_water(vault: Vault,
                                                                   clock: ShiftedClock) -> None:
    """As serve runs it (cli/serve.py starts `ClockWatch(vault).run` on its own thread and
    calls `close` once the recorders and listeners have stopped)."""
    import threading
    import time

    from kustosz.clock import watch_of
    from kustosz.clock.watch import HIGH_WATER_KEY
    from kustosz.db.models import Setting

    watch = ClockWatch(vault, interval_s=0.05, wall=clock.wall, steady=clock.steady)
    stop = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while watch_of(vault) is not watch:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    clock.error_s = 600.0
    while not watch.jumps:
        assert time.monotonic() < deadline, "the watch did not notice the jump"
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    # Stopped, still registered: serve's recorders take their last segments in after this
    # (issue 27 item 7 a); serve's `close` after them unregisters.
    assert not thread.is_alive() and watch_of(vault) is watch
    watch.close()
    assert watch_of(vault) is None
    assert watch.jumps[0].delta_s == pytest.approx(600.0)
    with vault.reading() as s:
        assert s.execute(select(Alert).where(Alert.kind == "clock_jump")).scalars().one()
        kept = s.get(Setting, HIGH_WATER_KEY)
    assert kept is not None and float(kept.value) == pytest.approx(clock.wall(), abs=1)


def test_the_recorder_records_the_step_as_a_clock_jump_gap(vault: Vault,
                                                            clock: ShiftedClock) -> None:
    """The recorder's own intake (CameraRecorder._take): the time line's step after the
    correction is a `clock_jump` gap, not "the camera stopped sending"."""
    from kustosz.db.cameras import Gap
    from kustosz.ingest.camera.job import CameraJob
    from kustosz.ingest.camera.recorder import CameraRecorder

    cam = camera_source(vault)
    clock.error_s = -40 * DAY
    watch = watching(vault, clock)
    try:
        feed = Camera(vault, cam, clock, "20261122T100000-rec")
        recorder = CameraRecorder(vault, CameraJob(cam, "hol", "rtsp://192.0.2.1/s",
                                                   "rtsp://192.0.2.1/s"),
                                  feed.session.folder.parent, "ffmpeg")
        for _ in range(2):
            seg, _true = feed.record(10)
            recorder._take(feed.session, seg)
        clock.advance(0.5)
        clock.error_s = 0.0
        assert watch.sample() is not None
        for _ in range(2):
            seg, _true = feed.record(10)
            recorder._take(feed.session, seg)
        with vault.reading() as s:
            gaps = list(s.execute(select(Gap).where(Gap.source_id == cam)).scalars())
        causes = [g.cause for g in gaps]
        assert "stream_stall" not in causes
        (step,) = [g for g in gaps if g.cause == "clock_jump"]
        assert step.end_at - step.start_at > timedelta(days=39)
    finally:
        watch.unregister()


@pytest.mark.parametrize(("seconds", "said"), [
    (40 * DAY, "40 dni"), (DAY + 3, "1 dzień"), (3600, "1 godzinę"), (2 * 3600, "2 godziny"),
    (3 * 3600 + 60, "3 godziny i 1 minutę"), (22 * 60, "22 minuty"), (25 * 60, "25 minut"),
    (1, "1 sekundę"), (12, "12 sekund"), (0.2, "mniej niż sekundę"),
    (40 * DAY + 7200, "40 dni i 2 godziny")])
def test_the_span_is_said_in_polish_after_o(seconds: float, said: str) -> None:
    from kustosz.clock.words import span_pl

    assert span_pl(seconds) == said
    assert span_pl(-seconds) == said


def test_other_intakes_stamped_by_a_clock_set_back_count_from_the_later_time(
        vault: Vault, clock: ShiftedClock, tmp_path: Path) -> None:
    """A mail or event chunk, a file taken in by `kustosz ingest`: stamped with the server's
    clock (here 40 days back), kept as long as the true time requires."""
    from kustosz.ingest.files import ingest_file

    camera_source(vault, "wejscie")
    watch = watching(vault, clock)
    try:
        clock.advance(1)
        clock.error_s = -40 * DAY
        watch.sample()
        chunk = tmp_path / "chunk.jsonl"
        chunk.write_text('{"event": 1}\n')
        stamped = _at(clock.wall())
        rec = ingest_file(vault, "wejscie", chunk, stamped, stamped + timedelta(seconds=60))
        assert rec.retain_from is not None
        assert abs(rec.retain_from - _at(clock.true)) < timedelta(seconds=2)
        _no_earlier_than_true_age(vault, [(rec.id, clock.true)])
        assert rec.id not in {d["id"] for d in run_sweep(vault).deleted}
    finally:
        watch.unregister()
