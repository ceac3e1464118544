"""The GStreamer RTSP test server works with the real ffmpeg and PyAV."""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason, pre_encoded_clip

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


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_pre_encoded_clip_loops_into_continuous_10s_segments(ffmpeg: str, tmp_path: Path) -> None:
    """The benchmark source: a looped clip, 10 s segments with -c copy, at ~4 Mbit/s, cheap.

    An 8 s clip, so that 25 s of recording cross its wrap three times; two mounts at once.
    """
    clip = pre_encoded_clip(seconds=8)
    streams = 2
    with RtspServer(mounts=streams, clip=clip) as srv:
        assert srv.proc is not None
        procs = [subprocess.Popen(
            [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp",
             "-i", srv.url(i), "-map", "0:v", "-c", "copy", "-t", "25",
             "-f", "segment", "-segment_time", "10", "-segment_format", "mpegts",
             "-segment_list", str(tmp_path / f"list{i}.csv"), "-segment_list_type", "csv",
             "-reset_timestamps", "0", str(tmp_path / f"cam{i}_%03d.ts")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        ) for i in range(1, streams + 1)]  # fmt: skip
        cpu0, t0 = process_cpu_s(srv.proc.pid), time.monotonic()
        try:
            errors = [p.communicate(timeout=90)[1] for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        server_cpu = process_cpu_s(srv.proc.pid) - cpu0
        wall = time.monotonic() - t0
    assert [p.returncode for p in procs] == [0] * streams, errors
    # real time: a source that is not paced would hand out 25 s of video at once
    assert 24 < wall < 45, wall

    for i in range(1, streams + 1):
        rows = list(csv.reader((tmp_path / f"list{i}.csv").open()))
        assert len(rows) == 3, rows  # 10 + 10 + the rest
        spans = [(float(r[1]), float(r[2])) for r in rows]
        for (_s, e), (s2, _e) in itertools.pairwise(spans):
            assert s2 == pytest.approx(e, abs=0.05), spans  # no hole between segments
        for k, ((s, e), row) in enumerate(zip(spans[:-1], rows[:-1], strict=True), start=1):
            # the segmenter cuts at the first key frame (every 2 s) at or after k * 10 s
            assert -0.05 <= e - 10 * k <= 2.05, spans
            mbit_s = (tmp_path / row[0]).stat().st_size * 8 / (e - s) / 1e6
            assert 3.4 <= mbit_s <= 4.8, (row, mbit_s)

        # frame times run on across the clip's wraps: 40 ms apart, never back
        times = []
        for row in rows:
            with av.open(str(tmp_path / row[0])) as c:
                v = c.streams.video[0]
                assert (v.codec_context.width, v.codec_context.height) == (1280, 720)
                times += [float(p.pts * p.time_base) for p in c.demux(v) if p.pts is not None]
        # (the first frame's step is ffmpeg's: it stamps the packet that arrived before
        # the first RTCP report one tick before the next)
        steps = [b - a for a, b in itertools.pairwise(times[1:])]
        assert len(times) >= 24 * 25, len(times)
        assert min(steps) > 0.03 and max(steps) < 0.07, (min(steps), max(steps))

    # packetising only: a few per cent of a core for both streams (x264 at 640x360
    # took ~4 % of a core per stream; this clip is 1280x720)
    assert server_cpu / wall / streams < 0.05, (server_cpu, wall)


def test_pre_encoded_clip_sender_reports_carry_wall_time() -> None:
    """The looped clip's RTCP sender reports map RTP time to the server's wall clock, as a
    camera with a right clock would: the payloader must not run ahead of the frames' time
    (it did by ~0.66 s before identity sync=true went in front of it)."""
    lags: list[float] = []
    with (
        RtspServer(clip=pre_encoded_clip(seconds=8)) as srv,
        av.open(srv.url(), options={"rtsp_transport": "tcp"}, timeout=10) as c,
    ):
        deadline = time.monotonic() + 10
        for pkt in c.demux(c.streams.video[0]):
            if pkt.pts is not None and c.start_time_realtime is not None:
                lags.append(time.time() - (c.start_time_realtime / 1e6
                                           + float(pkt.pts * pkt.time_base)))
                if len(lags) == 1:
                    deadline = min(deadline, time.monotonic() + 1.5)
            if time.monotonic() > deadline:
                break
    assert lags, "no RTCP sender report seen"
    assert min(lags) == pytest.approx(0.0, abs=0.3)
