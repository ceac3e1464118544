"""Issue 18: N cameras starting together probed their clocks all at once, and under that load
the probes came back with offsets of +13 to +30 s. A probe spoilt by load must raise no
camera clock jump, neither at once nor as the base the next reading is compared with; a real
step of the camera's clock is still reported; probes run a few at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from tests.clock_helpers import camera_source

from kustosz.clock import ClockWatch
from kustosz.db.cameras import ClockOffset
from kustosz.db.models import Alert
from kustosz.ingest.camera import clock as camera_clock
from kustosz.ingest.camera import recorder as rec_module
from kustosz.ingest.camera.clock import FIRST_RETRY_S, PROBES_AT_ONCE, Measurement
from kustosz.ingest.camera.job import CameraJob
from kustosz.ingest.camera.recorder import CameraRecorder, RecorderOptions
from kustosz.vault import Vault

URL = "rtsp://192.0.2.1/s"


def probes(monkeypatch: pytest.MonkeyPatch, offsets: list[float | None]) -> list[float | None]:
    """measure_offset answers these offsets in turn (None: the camera sent no report)."""
    left = list(offsets)

    def fake(url: str, *a: object, **k: object) -> Measurement | None:
        value = left.pop(0)
        return None if value is None else Measurement(value, 40)

    monkeypatch.setattr(rec_module, "measure_offset", fake)
    return left


def recorder(vault: Vault, cam: int, tmp_path: Path) -> CameraRecorder:
    return CameraRecorder(vault, CameraJob(cam, "hol", URL, URL), tmp_path / "spool", "ffmpeg",
                          RecorderOptions(clock_confirm_s=0.0))


def clock_alerts(vault: Vault, cam: int) -> list[Alert]:
    with vault.reading() as s:
        return [a for a in s.execute(select(Alert).where(Alert.kind == "clock_jump")).scalars()
                if a.source_id == cam]


def stored_offsets(vault: Vault) -> list[float]:
    with vault.reading() as s:
        return [o.offset_s for o in s.execute(select(ClockOffset).order_by(ClockOffset.id))
                .scalars()]


def test_a_probe_spoilt_by_load_raises_no_clock_jump(vault: Vault, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cam = camera_source(vault)
    watch = ClockWatch(vault).register()
    try:
        r = recorder(vault, cam, tmp_path)
        session = SimpleNamespace(name="20261123T080000-test")
        # start-up under load: the first probe +21 s off, the second right
        left = probes(monkeypatch, [21.4, 0.1,   # disagree: nothing taken
                                    0.1, 0.12,   # the retry: agreed, the base
                                    27.9, 0.11,  # hourly: spoilt, its check right
                                    0.13])       # the next hour: as before
        before = time.monotonic()
        r._measure_clock(session)
        assert r.clock_offset is None and stored_offsets(vault) == []
        # a camera with no reading yet is tried again soon, not after 5 minutes (issue 64)
        assert before + FIRST_RETRY_S <= r._next_clock <= time.monotonic() + FIRST_RETRY_S
        r._measure_clock(session)
        assert r.clock_offset == pytest.approx(0.12)
        r._measure_clock(session)
        assert r.clock_offset == pytest.approx(0.12)
        r._measure_clock(session)
        assert r.clock_offset == pytest.approx(0.13)
        assert left == []
        assert stored_offsets(vault) == pytest.approx([0.12, 0.13])
        assert watch.jumps == [] and clock_alerts(vault, cam) == []
    finally:
        watch.unregister()


def test_a_camera_without_a_reading_is_probed_again_soon_then_less_often(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 64 (the suite's test_thirty_seconds_continuous_video_only_with_clock_offset: no
    ClockOffset row at all): one probe spoilt by a busy moment, or one that got no answer,
    left a new camera without its offset for clock_retry_s (5 minutes), and its segments
    without clock_offset_s. Without a reading it is tried again after 10 s, doubling up to
    the retry period; with one, a failure waits the period as before."""
    cam = camera_source(vault)
    r = recorder(vault, cam, tmp_path)
    session = SimpleNamespace(name="20261129T080000-test")
    probes(monkeypatch, [None, 21.4, 0.1, None, None, None, None, None, 0.1, 0.12, None])
    waits = []
    for _ in range(7):
        before = time.monotonic()
        r._measure_clock(session)
        waits.append(round(r._next_clock - before))
    assert waits == [10, 20, 40, 80, 160, 300, 300]  # FIRST_RETRY_S, doubling, the period
    assert r.clock_offset is None
    r._measure_clock(session)  # 0.1 then 0.12 agree: the reading
    assert r.clock_offset == pytest.approx(0.12) and stored_offsets(vault) == [0.12]
    before = time.monotonic()
    r._measure_clock(session)  # no answer, with a reading known: the period
    assert r._next_clock - before == pytest.approx(r.opt.clock_retry_s, abs=1)


def test_a_real_step_of_the_cameras_clock_is_still_reported(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cam = camera_source(vault)
    watch = ClockWatch(vault).register()
    try:
        r = recorder(vault, cam, tmp_path)
        session = SimpleNamespace(name="20261123T080000-test")
        probes(monkeypatch, [0.2, 0.21, 3600.3, 3600.2])
        r._measure_clock(session)
        r._measure_clock(session)  # both probes say one hour ahead: the camera moved
        assert r.clock_offset == pytest.approx(3600.2)
        assert [j.clock for j in watch.jumps] == ["camera"]
        assert len(clock_alerts(vault, cam)) == 1
    finally:
        watch.unregister()


def test_no_more_than_a_few_probes_run_at_once(vault: Vault, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def slow(url: str, *a: object, **k: object) -> Measurement | None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return Measurement(0.1, 40)

    monkeypatch.setattr(rec_module, "measure_offset", slow)
    recorders = [recorder(vault, camera_source(vault, f"k{i}"), tmp_path) for i in range(12)]
    threads = [threading.Thread(target=r._probe) for r in recorders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == PROBES_AT_ONCE


def test_a_stopped_recorder_waiting_for_its_turn_does_not_probe(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes(monkeypatch, [])  # any probe would fail the test (pop from an empty list)
    r = recorder(vault, camera_source(vault), tmp_path)
    taken = [camera_clock._slots.acquire() for _ in range(PROBES_AT_ONCE)]
    try:
        r.stop()
        assert r._probe() is None
    finally:
        for _ in taken:
            camera_clock._slots.release()
