"""Start the GStreamer test RTSP server (``rtsp_server.py``) from pytest.

The server needs PyGObject + gst-rtsp-server, which Debian installs for its
own ``/usr/bin/python3`` only, so it always runs as a separate process::

    with RtspServer(mounts=2, user="u", password="p") as srv:
        srv.url(1)      # rtsp://u:p@127.0.0.1:PORT/cam1
        srv.restart()   # same port, new pipelines (a gap for recorders)

A benchmark source that does not encode (issue 18): ``pre_encoded_clip()`` makes an
H.264 clip once with ffmpeg (cached), and ``RtspServer(clip=...)`` serves it on every
mount in a loop, packetised only::

    with RtspServer(mounts=100, clip=pre_encoded_clip()) as srv: ...

Tests skip with ``pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SYSTEM_PYTHON = os.environ.get("KUSTOSZ_GST_PYTHON", "/usr/bin/python3")
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
READY_TIMEOUT = 20.0
PASSWORD_ENV = "KUSTOSZ_TEST_RTSP_PASSWORD"
DEBIAN_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly "
    "gstreamer1.0-libav"
)

_PROBE = """
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("videotestsrc", "audiotestsrc", "x264enc", "rtph264pay", "rtpmp4gpay",
                       "multifilesrc", "tsdemux", "h264parse")
           if Gst.ElementFactory.find(e) is None]
if not any(Gst.ElementFactory.find(e) for e in ("avenc_aac", "voaacenc", "fdkaacenc")):
    missing.append("an AAC encoder")
print("missing: " + ", ".join(missing) if missing else "ok")
"""


class RtspServerError(RuntimeError):
    pass


@functools.cache
def _probe() -> str:
    """'ok' or a human-readable reason the server cannot run here."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found"
    try:
        r = subprocess.run(
            [SYSTEM_PYTHON, "-c", _PROBE], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"probing GStreamer failed: {e}"
    out = r.stdout.strip()
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"GStreamer RTSP server not importable with {SYSTEM_PYTHON}: {tail}"
    return out


def gst_available() -> bool:
    return _probe() == "ok"


def gst_skip_reason() -> str:
    why = _probe()
    return f"GStreamer RTSP test server unavailable ({why}); apt-get install {DEBIAN_PACKAGES}"


class RtspServer:
    """A running ``rtsp_server.py`` subprocess; usable as a context manager."""

    def __init__(
        self,
        mounts: int = 1,
        audio: bool = True,
        h265: bool = False,
        audio_only: bool = False,
        user: str | None = None,
        password: str | None = None,
        bitrate_kbps: int = 1000,
        port: int = 0,
        width: int = 640,
        height: int = 360,
        fps: int = 15,
        host: str = "127.0.0.1",
        clock_offset: float = 0.0,
        start: bool = True,
        shared: bool = True,
        clip: Path | list[Path] | None = None,
        sub_stream: bool = False,
        flash: float | None = None,
        flash_log: Path | None = None,
        gop: float = 2.0,
    ) -> None:
        """``clip``: a folder made by ``pre_encoded_clip()``; every mount then serves it in a
        loop without encoding (video only: ``audio``, ``h265``, the size, rate and bitrate
        are the clip's, the arguments for them are not used). ``sub_stream``: the last mount
        is a camera's sub-stream, at half the width and height. A list of clips: mount N
        serves the Nth (the last one the mounts beyond)."""
        if audio_only and not audio:
            raise ValueError("audio_only needs audio=True")
        if (user is None) != (password is None):
            raise ValueError("user and password go together")
        self.mounts = mounts
        self.audio = audio
        self.h265 = h265
        self.audio_only = audio_only
        self.user = user
        self.password = password
        self.bitrate_kbps = bitrate_kbps
        self.width, self.height, self.fps = width, height, fps
        self.host = host
        self.clock_offset = clock_offset
        # False: a pipeline per client (each client's its own, a camera that starts anew for
        # each). A client killed without TEARDOWN no longer leaves a shared mount refusing the
        # next one (503): rtsp_server.py unprepares without waiting for an EOS
        self.shared = shared
        self.clip = clip
        self.sub_stream = sub_stream
        self.flash, self.flash_log, self.gop = flash, flash_log, gop
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.base_url: str | None = None
        if start:
            self.start()

    # -- lifecycle --------------------------------------------------------------
    def _argv(self) -> list[str]:
        argv = [
            SYSTEM_PYTHON, "-u", str(SERVER_SCRIPT),
            "--host", self.host, "--port", str(self.port),
            "--mounts", str(self.mounts), "--bitrate-kbps", str(self.bitrate_kbps),
            "--width", str(self.width), "--height", str(self.height), "--fps", str(self.fps),
        ]  # fmt: skip
        if self.sub_stream:
            argv.append("--sub-stream")
        if self.flash is not None:
            argv += ["--flash", repr(self.flash), "--flash-log", str(self.flash_log)]
        if self.gop != 2.0:
            argv += ["--gop", repr(self.gop)]
        if self.clip is not None:
            for folder in self.clip if isinstance(self.clip, list) else [self.clip]:
                argv += ["--clip", str(folder)]
        elif not self.audio:
            argv.append("--no-audio")
        if self.audio_only:
            argv.append("--audio-only")
        if self.h265:
            argv.append("--h265")
        if not self.shared:
            argv.append("--not-shared")
        if self.clock_offset:
            argv += ["--clock-offset", repr(float(self.clock_offset))]
        if self.user is not None:
            # Not "--password": the tests of data at rest look for the password in every
            # process's command line, this camera's included.
            argv += ["--user", self.user, "--password-env", PASSWORD_ENV]
        return argv

    def start(self, timeout: float = READY_TIMEOUT) -> RtspServer:
        if self.running:
            raise RtspServerError("server already running")
        # stderr goes to a file: never blocks the child, and is there for errors
        self._close_stderr()
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="replace", prefix="kustosz-rtsp-"
        )
        env = {**os.environ, PASSWORD_ENV: self.password or ""}
        self.proc = subprocess.Popen(
            self._argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, start_new_session=True, env=env,
        )  # fmt: skip
        line = self._read_ready(timeout)
        if not line.startswith("READY rtsp://"):
            self._kill()
            raise RtspServerError(
                f"RTSP test server did not become ready within {timeout:.0f}s "
                f"(argv: {' '.join(self._argv())}); stdout line: {line!r}; "
                f"stderr:\n{self.stderr()}"
            )
        self.base_url = line.split(" ", 1)[1].strip()
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def _read_ready(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while (left := deadline - time.monotonic()) > 0:
                if sel.select(left):
                    return self.proc.stdout.readline()  # "" if the child died
            return ""
        finally:
            sel.close()

    def stderr(self) -> str:
        f = getattr(self, "_stderr", None)
        if f is None or f.closed:
            return ""
        f.flush()
        f.seek(0)
        return f.read()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server and wait; returns its exit status (None if not started)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self, downtime: float = 0.0) -> RtspServer:
        """Stop, optionally stay down ``downtime`` seconds, start on the same port."""
        if self.port == 0:
            raise RtspServerError("restart() before the server ever started")
        self.stop()
        if downtime > 0:
            time.sleep(downtime)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:  # the port may take a moment to be free again
            try:
                return self.start()
            except RtspServerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __enter__(self) -> RtspServer:
        if not self.running:
            self.start()
        return self

    def _close_stderr(self) -> None:
        f = getattr(self, "_stderr", None)
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._close_stderr()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._kill()

    # -- addresses --------------------------------------------------------------
    def url(self, mount: int = 1, user: str | None = None, password: str | None = None) -> str:
        """``rtsp://[user:pass@]127.0.0.1:PORT/camN``; own credentials unless overridden."""
        if self.base_url is None:
            raise RtspServerError("server not started")
        if not 1 <= mount <= self.mounts:
            raise ValueError(f"mount {mount} not in 1..{self.mounts}")
        u = self.user if user is None else user
        p = self.password if password is None else password
        cred = f"{quote(u, safe='')}:{quote(p or '', safe='')}@" if u is not None else ""
        return f"rtsp://{cred}{self.host}:{self.port}/cam{mount}"


CLIP_PART_SECONDS = 2  # one GOP a part: the server reads a part into one buffer


def clip_cache_dir() -> Path:
    root = os.environ.get("KUSTOSZ_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kustosz-tests")
    return Path(root) / "rtsp-clips"


def pre_encoded_clip(
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    kbps: int = 4000,
    seconds: int = 30,
    cache: Path | None = None,
) -> Path:
    """A folder of MPEG-TS parts (one 2 s GOP each) of H.264 at ``kbps``, made once.

    ``testsrc2`` with temporal noise, so that x264 really needs the bitrate (a clean test
    picture falls far short of 4 Mbit/s); capped with maxrate/bufsize so it does not go
    over; a key frame every 2 s exactly (no scene cuts), no B-frames (as most cameras),
    SPS/PPS repeated before every key frame. Cached under ``clip_cache_dir()`` by its
    parameters; made in a temporary folder and renamed, so an interrupted run or two
    runs at once never leave a half clip behind.
    """
    import imageio_ffmpeg  # the venv's; rtsp_server.py runs under Debian's python

    gop = fps * CLIP_PART_SECONDS
    folder = (cache or clip_cache_dir()) / f"h264-{width}x{height}-{fps}fps-{kbps}k-{seconds}s"
    if (folder / "part00000.ts").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    try:
        subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
             "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps},noise=alls=12:allf=t",
             "-t", str(seconds), "-pix_fmt", "yuv420p",
             "-c:v", "libx264", "-preset", "veryfast", "-bf", "0",
             "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
             "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
             "-x264-params", "repeat-headers=1",
             "-f", "segment", "-segment_time", str(CLIP_PART_SECONDS),
             "-segment_format", "mpegts", str(work / "part%05d.ts")],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        try:
            work.rename(folder)
        except OSError:  # made meanwhile by another run
            if not (folder / "part00000.ts").is_file():
                raise
    finally:
        if work.exists():
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    return folder


if __name__ == "__main__":  # manual check: python tests/support/rtsp.py
    print(gst_skip_reason() if not gst_available() else "ok")
    with RtspServer() as s:
        print(s.url())
    sys.exit(0)
