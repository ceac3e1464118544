"""The GStreamer RTSP test server works with the real ffmpeg and PyAV."""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

av = pytest.importorskip("av")
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

pytestmark = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_connect(ffmpeg: str, url: str, seconds: float = 1.0) -> subprocess.CompletedProcess:
    """Read ``seconds`` of the stream and throw it away."""
    return subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url,
         "-t", str(seconds), "-f", "null", "-"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.mark.slow
def test_segmenting_video_only_from_an_av_stream(ffmpeg: str, tmp_path: Path) -> None:
    with RtspServer(audio=True) as srv:
        t0 = time.monotonic()
        r = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", srv.url(),
             "-map", "0:v", "-c", "copy", "-an", "-t", "6.5",
             "-f", "segment", "-segment_time", "2", "-segment_format", "mpegts",
             "-segment_list", str(tmp_path / "list.csv"), "-segment_list_type", "csv",
             "-reset_timestamps", "0", str(tmp_path / "out%05d.ts")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    assert elapsed < 14, elapsed

    segments = sorted(tmp_path.glob("out*.ts"))
    assert len(segments) >= 3, (segments, r.stderr[-2000:])
    rows = list(csv.reader((tmp_path / "list.csv").open()))
    assert [row[0] for row in rows] == [p.name for p in segments]
    starts = [float(row[1]) for row in rows]
    ends = [float(row[2]) for row in rows]
    assert starts == sorted(starts)
    assert all(e > s for s, e in zip(starts, ends, strict=True))
    # with a 2 s GOP, every segment but the last spans about 2 s
    assert all(1.5 <= e - s <= 2.6 for s, e in zip(starts[:-1], ends[:-1], strict=True)), rows

    for seg in segments:
        with av.open(str(seg)) as c:
            assert [s.type for s in c.streams] == ["video"], seg
            v = c.streams.video[0]
            assert v.codec_context.name == "h264"
            assert (v.codec_context.width, v.codec_context.height) == (640, 360)
            assert sum(1 for p in c.demux(v) if p.size) > 0


def test_wrong_password_gives_401(ffmpeg: str) -> None:
    with RtspServer(user="kamera", password="s3cret!", audio=False) as srv:
        assert "kamera:s3cret%21@" in srv.url()
        bad = ffmpeg_connect(ffmpeg, srv.url(password="wrong"))
        assert bad.returncode != 0
        assert "401" in bad.stderr, bad.stderr[-2000:]
        anonymous = ffmpeg_connect(ffmpeg, srv.url().replace("kamera:s3cret%21@", ""))
        assert anonymous.returncode != 0
        assert "401" in anonymous.stderr
        good = ffmpeg_connect(ffmpeg, srv.url(), seconds=0.5)
        assert good.returncode == 0, good.stderr[-2000:]


def test_restart_keeps_the_port(ffmpeg: str) -> None:
    with RtspServer(audio=False) as srv:
        port = srv.port
        first = ffmpeg_connect(ffmpeg, srv.url(), seconds=0.5)
        assert first.returncode == 0, first.stderr[-2000:]

        srv.stop()
        down = ffmpeg_connect(ffmpeg, f"rtsp://127.0.0.1:{port}/cam1")
        assert down.returncode != 0

        srv.restart()
        assert srv.port == port
        again = ffmpeg_connect(ffmpeg, srv.url(), seconds=0.5)
        assert again.returncode == 0, again.stderr[-2000:]


def test_stop_while_a_client_is_reading_exits_cleanly(ffmpeg: str) -> None:
    with RtspServer(mounts=2) as srv:
        reader = subprocess.Popen(
            [ffmpeg, "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", srv.url(2),
             "-f", "null", "-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            time.sleep(3)
            assert reader.poll() is None
            assert srv.stop() == 0
            _, err = reader.communicate(timeout=20)  # ffmpeg notices the server is gone
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
        assert "frame=" in err


def test_rtcp_sender_reports_carry_the_camera_clock() -> None:
    """PyAV's start_time_realtime (from the first RTCP SR) maps pts to camera wall time."""
    offset = -30.0
    lags: list[float] = []
    with (
        RtspServer(audio=False, clock_offset=offset) as srv,
        av.open(srv.url(), options={"rtsp_transport": "tcp"}, timeout=10) as c,
    ):
        # packets buffered while the stream was probed arrive late; read on for
        # 1.5 s after the first SR so that live packets (lag = latency) are seen
        deadline = time.monotonic() + 10
        for pkt in c.demux(c.streams.video[0]):
            if pkt.pts is not None and c.start_time_realtime is not None:
                camera_time = c.start_time_realtime / 1e6 + float(pkt.pts * pkt.time_base)
                lags.append(time.time() - camera_time)
                if len(lags) == 1:
                    deadline = min(deadline, time.monotonic() + 1.5)
            if time.monotonic() > deadline:
                break
    assert lags, "no RTCP sender report seen"
    # receive time - camera time = transport/encoder latency (small) - clock offset
    assert min(lags) == pytest.approx(-offset, abs=0.3)
