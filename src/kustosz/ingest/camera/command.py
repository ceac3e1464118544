"""The ffmpeg command line of one camera's recorder, and which ffmpeg to run."""

from __future__ import annotations

import shutil
from pathlib import Path

from kustosz.errors import ConfigError

SEGMENT_PATTERN = "seg%08d.ts"
SEGMENT_GLOB = "seg*.ts"
LIST_NAME = "segments.csv"
# A camera that stops sending without closing the connection is noticed after this long.
IO_TIMEOUT_S = 5.0
SIMULATED_PREFIX = "lavfi:"


def ffmpeg_exe(choice: str | None = None) -> str:
    """`wheel` (default: the imageio-ffmpeg binary), `system` (ffmpeg on PATH) or a path."""
    if not choice or choice == "wheel":
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    if choice == "system":
        found = shutil.which("ffmpeg")
        if not found:
            raise ConfigError("ffmpeg=system, but there is no ffmpeg on PATH")
        return found
    if not Path(choice).is_file():
        raise ConfigError(f"ffmpeg {choice!r} does not exist")
    return choice


def input_args(url: str, gop_seconds: float) -> list[str]:
    if url.startswith(SIMULATED_PREFIX):
        # The demo's camera: a test pattern with a tone, encoded live like a camera would; the
        # tone is there to show that the recorder drops audio.
        return ["-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                "-pix_fmt", "yuv420p", "-g", str(max(1, round(15 * gop_seconds)))]
    return ["-rtsp_transport", "tcp", "-timeout", str(int(IO_TIMEOUT_S * 1e6)), "-i", url,
            "-c", "copy"]


def recorder_argv(ffmpeg: str, url: str, segment_seconds: float, folder: Path) -> list[str]:
    """Video only (`-map 0:v:0 -an`, R1.3), no re-encoding, one MPEG-TS file per segment.

    `-reset_timestamps 0` keeps one time line per session so the segment list's start/end
    times chain exactly; the supervisor maps them to wall-clock time.
    """
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            *input_args(url, min(segment_seconds, 2.0)),
            "-map", "0:v:0", "-an", "-sn", "-dn",
            "-f", "segment", "-segment_time", f"{segment_seconds:g}",
            "-segment_format", "mpegts", "-segment_list", str(folder / LIST_NAME),
            "-segment_list_type", "csv", "-reset_timestamps", "0",
            str(folder / SEGMENT_PATTERN)]
