"""The recorder against a real RTSP server (GStreamer) and the real ffmpeg."""

from __future__ import annotations

import logging
import os
import signal

import av
import pytest
from camera_helpers import index_matches_files, largest_gap, register_camera, stored, wait_for
from sqlalchemy import select
from tests.conftest import Cli
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.db.cameras import ClockOffset, Gap, RecorderStatus
from kustosz.db.models import Alert
from kustosz.ingest.camera import recorder as rec_module
from kustosz.ingest.camera.clock import Measurement
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())
FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, down_alert_after_s=1.5)


def gaps(vault: Vault, source_id: int) -> list[Gap]:
    """Gaps once recording had begun (the test server may answer 404 for a moment after it
    says it is ready; that first failed attempt is a gap too, but not the one under test)."""
    first = stored(vault, source_id)[0].start_at
    with vault.reading() as s:
        return list(s.execute(select(Gap).where(Gap.source_id == source_id,
                                                Gap.start_at >= first)
                              .order_by(Gap.start_at)).scalars())


def _offsets(vault: Vault) -> list[float]:
    with vault.reading() as s:
        return list(s.execute(select(ClockOffset.offset_s).order_by(ClockOffset.id)).scalars())


def status(vault: Vault, source_id: int) -> RecorderStatus | None:
    with vault.reading() as s:
        return s.get(RecorderStatus, source_id)


@pytest.mark.slow
@pytest.mark.parametrize("first_probe", ["true", "spoilt"])
def test_thirty_seconds_continuous_video_only_with_clock_offset(
        site_vault: Vault, first_probe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``spoilt``: the first clock probe comes back 5 s off, as a probe starved by a busy
    machine does (issue 64: the suite's run found no ClockOffset row at all): the offset is
    still measured while the test records, from probes that agree."""
    if first_probe == "spoilt":
        real, calls = rec_module.measure_offset, []

        def starved(url: str, *a: object, **k: object) -> Measurement | None:
            m = real(url)
            calls.append(m)
            return Measurement(m.offset_s + 5.0, m.samples) if m and len(calls) == 1 else m

        monkeypatch.setattr(rec_module, "measure_offset", starved)
    with RtspServer(audio=True, clock_offset=-30.0) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            # 31 s of segments, the camera's offset measured, and a segment stored since that
            # carries it: what the asserts below read (issue 64: the offset is measured in
            # its own time, not within the first 31 s for sure — a probe spoilt by a busy
            # machine is measured again)
            wait_for(lambda: (lambda r: r and (r[-1].end_at - r[0].start_at).total_seconds()
                              >= 31 and r[-1].meta.get("clock_offset_s") is not None)(
                stored(site_vault)) and _offsets(site_vault), 60,
                "31 s of segments and the clock offset",
                shown=lambda: (len(stored(site_vault)), _offsets(site_vault)))
        finally:
            pool.stop_all()
    recs = stored(site_vault, cam.source_id)
    assert (recs[-1].end_at - recs[0].start_at).total_seconds() >= 30
    assert largest_gap(recs) <= 1.0, [(r.start_at, r.end_at) for r in recs]
    assert all(abs((r.end_at - r.start_at).total_seconds() - 2.0) < 0.6 for r in recs[:-1])
    for rec in recs:  # R1.3: the camera's AAC track is never written
        with av.open(str(site_vault.storage.path(rec.storage_key))) as c:
            assert [s.type for s in c.streams] == ["video"]
            assert c.streams.video[0].codec_context.name == "h264"
        assert rec.meta["browser_playable"] is True
    index_matches_files(site_vault)
    assert gaps(site_vault, cam.source_id) == []
    offsets = _offsets(site_vault)
    assert offsets and offsets[0] == pytest.approx(-30.0, abs=0.5)
    assert recs[-1].meta["clock_offset_s"] == pytest.approx(-30.0, abs=0.5)
    listed = Cli(site_vault.root)("cameras", "list").output
    assert "-30.0" in listed


def test_server_restart_records_a_gap_and_recording_resumes(site_vault: Vault) -> None:
    with RtspServer(audio=False) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: len(stored(site_vault)) >= 2, 30, "two segments")
            srv.stop()
            wait_for(lambda: (st := status(site_vault, cam.source_id)) and st.state == "down",
                     20, "the recorder to notice")
            wait_for(lambda: any(a for a in site_vault.alerts_open() if "hol" in a), 10,
                     "the camera-down alert")
            before = len(stored(site_vault))
            srv.restart()
            wait_for(lambda: len(stored(site_vault)) >= before + 2, 30, "recording to resume")
        finally:
            pool.stop_all()
    (gap,) = gaps(site_vault, cam.source_id)
    assert gap.end_at is not None and gap.end_at > gap.start_at
    assert gap.cause in ("stream_ended", "unreachable")
    recs = stored(site_vault, cam.source_id)
    assert any(r.start_at >= gap.end_at for r in recs) and any(r.end_at <= gap.start_at
                                                               for r in recs)
    assert site_vault.alerts_open() == []  # cleared when the camera came back
    index_matches_files(site_vault)


def test_killed_ffmpeg_loses_at_most_one_segment_and_spares_other_cameras(
        site_vault: Vault) -> None:
    with RtspServer(mounts=2, audio=True) as srv:
        one = register_camera(site_vault, "hol", srv.url(1))
        two = register_camera(site_vault, "wejscie", srv.url(2))
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: len(stored(site_vault, one.source_id)) >= 2, 30, "segments")
            victim = pool.recorders[one.source_id]
            pid = victim.proc.pid
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: victim.proc.pid != pid and
                     len(stored(site_vault, one.source_id)) >= 4, 30, "a new ffmpeg")
            wait_for(lambda: len(stored(site_vault, two.source_id)) >= 6, 30, "camera two")
        finally:
            pool.stop_all()
    (gap,) = gaps(site_vault, one.source_id)
    assert gap.cause == "recorder_crashed" and gap.end_at is not None
    # the killed ffmpeg's unfinished segment is kept for what it holds, or dropped: the
    # gap is at most that segment plus reconnecting
    assert (gap.end_at - gap.start_at).total_seconds() < 2.0 + 6.0
    assert gaps(site_vault, two.source_id) == []
    assert largest_gap(stored(site_vault, two.source_id)) <= 1.0
    index_matches_files(site_vault)


def test_wrong_credentials_and_unreachable_host_are_reported_without_secrets(
        site_vault: Vault, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kustosz")
    with RtspServer(audio=False, user="kamera", password="Haslo!42") as srv:
        bad = register_camera(site_vault, "hol", srv.url(password="Zle!haslo"))
        gone = register_camera(site_vault, "brama", "rtsp://kamera:Haslo!42@127.0.0.1:9/cam1")
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: all((st := status(site_vault, c.source_id)) and st.state == "down"
                                 for c in (bad, gone)), 20, "both reported down")
            wait_for(lambda: len(site_vault.alerts_open()) == 2, 10, "two alerts")
        finally:
            pool.stop_all()
    assert "401" in status(site_vault, bad.source_id).message
    assert "unreachable" in status(site_vault, gone.source_id).message
    out = Cli(site_vault.root)("recorders", "status").output
    assert "401" in out and "unreachable" in out
    assert "kamera nieosiągalna" in " ".join(site_vault.alerts_open())
    with site_vault.reading() as s:
        details = " ".join(f"{a.message}" for a in s.execute(select(Alert)).scalars())
    with site_vault.reading() as s:
        gap_text = " ".join(g.detail or "" for g in s.execute(select(Gap)).scalars())
    for text in (out, caplog.text, details, gap_text):
        assert "Haslo" not in text and "Zle!haslo" not in text and "Zle%21haslo" not in text
    assert "401" in caplog.text and stored(site_vault) == []


def test_h265_is_recorded_and_flagged_not_playable_in_browser(site_vault: Vault) -> None:
    with RtspServer(audio=False, h265=True) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: len(stored(site_vault)) >= 1, 30, "a segment")
        finally:
            pool.stop_all()
    recs = stored(site_vault, cam.source_id)
    assert recs and all(r.meta["codec"] == "hevc" and r.meta["browser_playable"] is False
                        for r in recs)
    assert "not playable in browser" in Cli(site_vault.root)("recorders", "status").output


def test_stream_without_video_is_reported(site_vault: Vault) -> None:
    with RtspServer(audio=True, audio_only=True) as srv:
        cam = register_camera(site_vault, "hol", srv.url())
        pool = RecorderPool(site_vault, options=FAST)
        pool.reconcile()
        try:
            wait_for(lambda: (st := status(site_vault, cam.source_id)) and st.state == "down",
                     20, "reported down")
        finally:
            pool.stop_all()
    assert "no video" in status(site_vault, cam.source_id).message
    assert stored(site_vault) == []
