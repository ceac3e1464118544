#!/usr/bin/python3
"""A small real RTSP server for tests, built on GStreamer's gst-rtsp-server.

Run it with Debian's interpreter (``/usr/bin/python3``), which is the one
``python3-gi`` and ``gir1.2-gst-rtsp-server-1.0`` are installed for::

    /usr/bin/python3 tests/support/rtsp_server.py --port 0 --mounts 2

Once listening it prints exactly one line ``READY rtsp://127.0.0.1:PORT`` to
stdout and then serves until SIGTERM or SIGINT, when it exits with status 0.

Each mount (``/cam1`` .. ``/camN``) is a shared media (one pipeline for all
clients, so a client joining or leaving does not reset the others) carrying a
live test picture (H.264, or H.265 with ``--h265``) and, unless ``--no-audio``,
an AAC tone; ``--audio-only`` serves the AAC track alone.

``--clip DIR`` serves pre-encoded H.264 instead, without encoding (a benchmark source
that costs next to nothing): DIR holds an MPEG-TS clip cut at its key frames into
``part00000.ts`` .. ``partNNNNN.ts`` (``rtsp.py``'s ``pre_encoded_clip`` makes it).
``--clip`` given again serves another clip on the next mount (mount N the Nth clip, the
last one on the mounts beyond: ``h264_clips.py``'s streams of 1 to 8 slices a picture).
Every mount reads the parts in a loop (multifilesrc loop=true), and tsdemux turns the
jump back of the MPEG-TS clock at each wrap into continuing timestamps (measured: one
extra 20 ms between the last frame and the first), so a client sees one endless stream;
the mount only demuxes, parses and packetises.  No audio in that mode.  gst-rtsp-server's
rtpbin sends RTCP sender reports (NTP wall clock <-> RTP time) on every stream;
the publish clock mode is CLOCK_AND_OFFSET.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

AAC_ENCODERS = ("avenc_aac", "voaacenc", "fdkaacenc")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--mounts", type=int, default=1, help="serve /cam1../camN")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--sub-stream", action="store_true",
                   help="the last mount is a sub-stream: half the width and height")
    p.add_argument("--bitrate-kbps", type=int, default=1000)
    p.add_argument("--no-audio", action="store_true")
    p.add_argument("--audio-only", action="store_true", help="AAC track only, no video")
    p.add_argument("--h265", action="store_true", help="H.265 video instead of H.264")
    p.add_argument("--not-shared", action="store_true",
                   help="a pipeline per client instead of one shared by all of a mount's")
    p.add_argument("--clip", metavar="DIR", action="append",
                   help="serve the pre-encoded MPEG-TS parts in DIR (part%%05d.ts) in a loop "
                        "instead of encoding a test picture; video only")
    p.add_argument("--flash", type=float, metavar="SECONDS",
                   help="a plain grey picture changing its shade at every multiple of "
                        "SECONDS of the wall clock (FLASH_LEVELS in turn), each change "
                        "written to --flash-log (bench/live_latency.py: glass-to-glass "
                        "latency); no sound")
    p.add_argument("--flash-log", metavar="FILE",
                   help="with --flash: one line per change, 'MOUNT EPOCH_NS LEVEL'")
    p.add_argument("--gop", type=float, default=2.0, metavar="SECONDS",
                   help="key frame interval of the encoded picture (real cameras: 1-2 s)")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--password-env", metavar="NAME",
                   help="take the password from this environment variable: a password "
                        "on the command line is visible to every local account")
    p.add_argument(
        "--clock-offset", type=float, default=0.0, metavar="SECONDS",
        help="skew the camera's wall clock: RTCP sender reports carry server time + SECONDS",
    )  # fmt: skip
    a = p.parse_args(argv)
    if a.password_env:
        a.password = os.environ.get(a.password_env)
        if a.password is None:
            p.error(f"--password-env: {a.password_env} is not set")
    if a.no_audio and a.audio_only:
        p.error("--no-audio and --audio-only exclude each other")
    if (a.user is None) != (a.password is None):
        p.error("--user and --password go together")
    if a.mounts < 1:
        p.error("--mounts must be >= 1")
    if a.flash is not None:
        if a.clip is not None or a.h265 or a.audio_only or not a.flash_log:
            p.error("--flash needs --flash-log and an H.264 picture (no --clip/--h265)")
        a.no_audio = True
    if a.clip is not None:
        if a.h265 or a.audio_only:
            p.error("--clip serves the clip's H.264 alone: no --h265, no --audio-only")
        a.no_audio = True
        a.clip_parts = [len(clip_parts(folder)) for folder in a.clip]
        for folder, count in zip(a.clip, a.clip_parts, strict=True):
            if count == 0:
                p.error(f"--clip: no part00000.ts.. in {folder}")
    return a


def clip_parts(folder: str) -> list[str]:
    """part00000.ts, part00001.ts, ... in order, stopping at the first one missing."""
    found = []
    while os.path.isfile(os.path.join(folder, f"part{len(found):05d}.ts")):
        found.append(os.path.join(folder, f"part{len(found):05d}.ts"))
    return found


def clip_branch(a: argparse.Namespace, mount: int) -> str:
    # multifilesrc reads each part whole into one buffer: parts of one GOP (~1 MB at
    # 4 Mbit/s) keep that small.  Not live: the sinks pace it by its timestamps, and the
    # CLOCK_AND_OFFSET publish mode (below) makes the media unseekable, so that a client's
    # PLAY with a Range does not try to seek the looping source (which fails: 503).
    # identity sync=true holds each frame until its time before the payloader: without it
    # the payloader runs ahead of the sinks (by what is queued, ~0.7 s), and the RTCP sender
    # reports, which map RTP time to wall time at the payloader, showed the camera's clock
    # 0.66 s fast (measured with kustosz's clock probe; -0.04 s with it).
    which = min(mount, len(a.clip)) - 1
    location = os.path.join(a.clip[which], "part%05d.ts")
    return (
        f"multifilesrc location={location} start-index=0 "
        f"stop-index={a.clip_parts[which] - 1} "
        "loop=true ! tsdemux ! h264parse ! identity sync=true "
        "! rtph264pay name=pay0 pt=96 config-interval=-1"
    )


def find_aac_encoder() -> str:
    for name in AAC_ENCODERS:
        if Gst.ElementFactory.find(name) is not None:
            return name
    raise SystemExit("no AAC encoder element (avenc_aac/voaacenc/fdkaacenc) available")


def video_branch(a: argparse.Namespace, mount: int) -> str:
    gop = max(1, round(a.fps * a.gop))
    # a different test pattern per mount makes streams easy to tell apart
    pattern = ("ball", "smpte", "snow", "pinwheel")[(mount - 1) % 4]
    if a.flash is not None:  # one shade over the whole picture, nothing drawn over it
        pattern = f"solid-color foreground-color={grey(FLASH_LEVELS[0])}"
    width, height = a.width, a.height
    if a.sub_stream and mount == a.mounts:  # a camera's lighter stream for live view
        width, height = a.width // 2, a.height // 2
    overlay = "" if a.flash is not None else "! timeoverlay "
    src = (
        f"videotestsrc name=src is-live=true pattern={pattern} "
        f"! video/x-raw,width={width},height={height},framerate={a.fps}/1 "
        f"{overlay}! videoconvert ! video/x-raw,format=I420 "
    )
    if a.h265:
        enc = (
            f"! x265enc tune=zerolatency speed-preset=ultrafast bitrate={a.bitrate_kbps} "
            f"key-int-max={gop} ! video/x-h265,profile=main "
            "! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        enc = (
            f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={a.bitrate_kbps} "
            f"key-int-max={gop} ! video/x-h264,profile=constrained-baseline "
            "! rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    return src + enc


def audio_branch(a: argparse.Namespace, pay_index: int, encoder: str) -> str:
    return (
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 "
        "! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 "
        f"! {encoder} bitrate=64000 ! aacparse "
        f"! rtpmp4gpay name=pay{pay_index} pt=97"
    )


def launch_line(a: argparse.Namespace, mount: int, encoder: str | None) -> str:
    parts = []
    if a.clip is not None:
        parts.append(clip_branch(a, mount))
    elif not a.audio_only:
        parts.append(video_branch(a, mount))
    if encoder is not None:
        parts.append(audio_branch(a, len(parts), encoder))
    return "( " + "  ".join(parts) + " )"


NTP_EPOCH_OFFSET_NS = 2_208_988_800 * Gst.SECOND  # 1900-01-01 -> 1970-01-01


def skewed_ntp_clock(offset_s: float) -> Gst.Clock:
    """A realtime system clock calibrated to read NTP-epoch time + ``offset_s``.

    With rtpbin's ntp-time-source=clock-time the RTCP SR NTP field is this
    clock's time, so a client sees a camera whose clock is off by ``offset_s``.
    """
    clock = Gst.SystemClock(clock_type=Gst.ClockType.REALTIME)
    clock.set_calibration(0, NTP_EPOCH_OFFSET_NS + int(offset_s * Gst.SECOND), 1, 1)
    return clock


def use_clock_time_for_rtcp(_factory, media) -> None:
    pipeline = media.get_element().get_parent()

    def on_added(_bin, element) -> None:
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "rtpbin":
            element.set_property("ntp-time-source", "clock-time")

    pipeline.connect("element-added", on_added)


# --flash's shades, in turn: each far from the one before (a change is never a small step)
# and from each other (a shade seen says which change it was, up to six periods late)
FLASH_LEVELS = (20, 140, 60, 180, 100, 220)


def grey(level: int) -> int:
    return 0xFF000000 | level << 16 | level << 8 | level


def flasher(period: float, log_path: str):
    """media-configure handler of --flash: the mount's picture changes its shade at each
    multiple of ``period`` on the wall clock (a timer checks every 2 ms), each change logged
    with the wall time it was made at: the moment the camera's glass saw it. One timer and
    one count of changes per mount, whatever the number of pipelines the mount has had (a
    shared media made again after its last client left), so each change is logged once."""
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open while the server runs
    sources: dict[int, object] = {}

    def start(mount: int) -> None:
        state = {"turn": 0, "next": (int(time.time() / period) + 1) * period}

        def tick() -> bool:
            now = time.time()
            if now >= state["next"]:
                state["turn"] += 1
                level = FLASH_LEVELS[state["turn"] % len(FLASH_LEVELS)]
                src = sources[mount]
                src.set_property("foreground-color", grey(level))
                log.write(f"{mount} {time.time_ns()} {level}\n")
                state["next"] = (int(now / period) + 1) * period
            return True

        GLib.timeout_add(2, tick)

    def configure(_factory, media, mount: int) -> None:
        first = mount not in sources
        sources[mount] = media.get_element().get_by_name("src")
        if first:
            start(mount)

    return configure


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    Gst.init(None)
    encoder = None if a.no_audio else find_aac_encoder()

    server = GstRtspServer.RTSPServer()
    server.set_address(a.host)
    server.set_service(str(a.port))

    permissions = None
    if a.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)

    # A client thread per connection (the pool's default is one thread for all): a DESCRIBE
    # prepares its media in the client's thread and waits for its preroll there, so with one
    # thread a media slow to preroll on a loaded machine held every other camera's new
    # connection behind it (the cluster test's hand-overs timed out for a minute in CI).
    server.get_thread_pool().set_max_threads(32)
    mounts = server.get_mount_points()
    for i in range(1, a.mounts + 1):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(a, i, encoder))
        factory.set_shared(not a.not_shared)
        factory.set_publish_clock_mode(GstRtspServer.RTSPPublishClockMode.CLOCK_AND_OFFSET)
        # No EOS before a media is unprepared: with it, a shared mount whose client vanished
        # without TEARDOWN (an ffmpeg killed with SIGKILL) began answering DESCRIBE 503 about
        # 16 s after the kill, idle, and beside two CPU hogs still did 100 s after it (every
        # one from 59 s to 100 s); without it, 34 DESCRIBEs of 34 in those 100 s were
        # answered. A test source has nothing to finish writing at an EOS.
        factory.set_eos_shutdown(False)
        if permissions is not None:
            factory.set_permissions(permissions)
        if a.clock_offset:
            factory.set_clock(skewed_ntp_clock(a.clock_offset))
            factory.connect("media-configure", use_clock_time_for_rtcp)
        if a.flash is not None:
            factory.connect("media-configure", flasher(a.flash, a.flash_log), i)
        mounts.add_factory(f"/cam{i}", factory)

    loop = GLib.MainLoop()
    source_id = server.attach(None)
    if source_id == 0:
        print(f"cannot listen on {a.host}:{a.port}", file=sys.stderr, flush=True)
        return 2

    # sessions of clients that vanish without TEARDOWN are reaped periodically
    def cleanup() -> bool:
        server.get_session_pool().cleanup()
        return True

    GLib.timeout_add_seconds(2, cleanup)

    def stop(*_args) -> bool:
        loop.quit()
        return False

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, stop, None)

    print(f"READY rtsp://{a.host}:{server.get_bound_port()}", flush=True)
    loop.run()
    GLib.source_remove(source_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
