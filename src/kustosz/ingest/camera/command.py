"""The ffmpeg command line of one camera's recorder, and which ffmpeg to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kustosz.cameras.register import SIMULATED_PREFIX, SIMULATED_SUB

SEGMENT_PATTERN = "seg%08d.ts"
SEGMENT_GLOB = "seg*.ts"
LIST_NAME = "segments.csv"
# A camera that stops sending without closing the connection is noticed after this long.
IO_TIMEOUT_S = 5.0
# The demo's picture (kustosz/demo/README.md): two people in public-domain photographs, so
# that a data subject's copy in the demo masks a real face. ffmpeg's test pattern had none,
# and the face detector scored its checkerboard above the masking threshold (issue 49).
DEMO_SCENE = Path(__file__).resolve().parents[2] / "demo" / "scene.jpg"
# A 640×360 window panning slowly (30 s there and back) across the 720×360 picture: a live
# camera's picture moves, and the masks follow the faces.
DEMO_PAN = "crop=640:360:x='40+40*sin(2*PI*t/30)':y=0"


# The camera's address (with its password) reaches ffmpeg on its stdin, as a one-line
# ffconcat script, never on its command line: /proc/PID/cmdline is readable by every local
# account, a pipe only by the process's own. ffmpeg takes a URL from nowhere else (not from
# a file of options, not from the environment); the concat demuxer opens the RTSP input
# itself, with the options the script gives, and hands its packets on untouched.
PIPED_PROTOCOLS = "pipe,rtsp,rtsps,tcp,tls,udp,rtp"


# A fragment per frame: the live relay's and the recorder's reading of a camera (issue 65).
MP4_FLAGS = "empty_moov+default_base_moof+frag_every_frame"


@dataclass(frozen=True)
class RecorderCommand:
    argv: list[str]  # the ffmpeg that writes the segments
    stdin: bytes | None = field(default=None, repr=False)  # the address, when it is secret
    # The ffmpeg that reads the camera, when it is not the writer itself: its fragmented MP4
    # goes to the writer's stdin with each picture joined whole (recorder_pair.py); the
    # address (``stdin``) goes to it.
    reader: list[str] | None = None


def input_script(url: str) -> bytes:
    """The ffconcat script naming the camera: ffmpeg reads it from stdin (pipe:0)."""
    if any(c in url for c in "\r\n\0"):
        raise ValueError("a camera URL cannot hold line breaks")
    quoted = "'" + url.replace("'", "'\\''") + "'"
    # allowed_media_types: the camera is asked for its video only, so its sound never even
    # reaches this machine (R1.3); ffmpeg's -map cannot tell the inner RTSP demuxer to skip
    # a stream, and receiving the sound only to drop it cost the recorder about half again.
    return (f"ffconcat version 1.0\nfile {quoted}\noption rtsp_transport tcp\n"
            f"option allowed_media_types video\n"
            f"option timeout {int(IO_TIMEOUT_S * 1e6)}\n").encode()


def demo_scene_input(fps: int) -> list[str]:
    """ffmpeg's input options for the demo's picture, repeated at ``fps`` (its pan,
    `DEMO_PAN`, is an output option: after every input)."""
    # pattern_type none: a "%" in the installed path is not a frame number's pattern
    return ["-loop", "1", "-framerate", str(fps), "-pattern_type", "none",
            "-i", str(DEMO_SCENE)]


def input_args(url: str, gop_seconds: float) -> tuple[list[str], bytes | None]:
    if url.startswith(SIMULATED_PREFIX):
        # The demo's camera: the demo's picture with a tone, encoded live like a camera would;
        # the tone is there to show that the recorder drops audio. Its sub-stream, as a
        # camera's lighter profile: the same picture at half the width and height, its
        # parameter sets in the header too (global_header), as a camera's SDP gives them: the
        # live relay's fragmented MP4 needs them in its moov (avcC) for the browser's MSE.
        sub = url == SIMULATED_SUB
        return ["-re", *demo_scene_input(15),
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                "-vf", DEMO_PAN + (",scale=320:180" if sub else ""), "-c:v", "libx264",
                "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                *(["-flags", "+global_header"] if sub else []),
                "-g", str(max(1, round(15 * gop_seconds)))], None
    return (["-f", "concat", "-safe", "0", "-protocol_whitelist", PIPED_PROTOCOLS,
             "-i", "pipe:0", "-c", "copy"], input_script(url))


def recorder_command(ffmpeg: str, url: str, segment_seconds: float, folder: Path,
                     segment_list: str | None = None, join: bool = True) -> RecorderCommand:
    """Video only (`-map 0:v:0 -an`, R1.3), no re-encoding, one MPEG-TS file per segment.

    `-reset_timestamps 0` keeps one time line per session so the segment list's start/end
    times chain exactly; the supervisor maps them to wall-clock time. `-nostdin` only stops
    ffmpeg reading keys from stdin; the input script still comes through it. ``segment_list``:
    where ffmpeg writes its list of closed segments (the recorder's pipe, `pipe:N`), by
    default the list file in ``folder``.

    ``join``: the camera is read by an ffmpeg of its own into fragmented MP4, and its
    pictures reach the writer whole (issue 65): ffmpeg's H.264 parser, reading the camera,
    ends a picture at a parameter set that a camera sends between its slices, and a copy into
    MPEG-TS stored each such key frame cut in two — decoded half green, the P-frames after it
    built on the hole. recorder_pair.py decides it per camera. The demo's camera, encoded
    here by x264 in one slice a picture, is always written by one ffmpeg.
    """
    args, script = input_args(url, min(segment_seconds, 2.0))
    head = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"]
    reader = None
    if join and not url.startswith(SIMULATED_PREFIX):
        reader = [*head, *args, "-map", "0:v:0", "-an", "-sn", "-dn", "-f", "mp4",
                  "-movflags", MP4_FLAGS, "pipe:1"]
        # the codec is in the moov: nothing to probe, no fragment held back for it
        args = ["-probesize", "32", "-analyzeduration", "0", "-f", "mp4", "-i", "pipe:0",
                "-c", "copy"]
    return RecorderCommand(
        [*head, *args, "-map", "0:v:0", "-an", "-sn", "-dn",
         "-f", "segment", "-segment_time", f"{segment_seconds:g}",
         "-segment_format", "mpegts",
         "-segment_list", segment_list or str(folder / LIST_NAME),
         "-segment_list_type", "csv", "-reset_timestamps", "0",
         str(folder / SEGMENT_PATTERN)], script, reader)
