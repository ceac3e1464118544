"""R1.3 at intake: a camera source keeps image only (002 zał.5 §3.3, 003 §4.2). A file taken
into one that carries a sound track is stored as its video streams alone, remuxed without
re-encoding (`video_only`); a file with sound and no picture is refused."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from kustosz.errors import InputError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.ingest.ts_tables import video_alone

# Muxers for the usual camera-file suffixes; anything else is written back in the container
# ffmpeg read it from (its demuxer's first name), so the stored file keeps its format.
_MUXERS = {".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts", ".mp4": "mp4", ".m4v": "mp4",
           ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi", ".flv": "flv"}

# MPEG-TS whose own tables are read first (ts_tables): the recorder's segments among them.
_TS_SUFFIXES = frozenset({".ts", ".mts"})


def _streams(path: Path) -> tuple[int, int, str] | None:
    """(video streams, audio streams, demuxer) as ffmpeg sees the file; None if it is no media
    file ffmpeg can read (then it holds no sound any player could play either). An error of
    the system rather than of the file (no such file, too many open files, an I/O error, no
    memory) is raised, never read as "no sound": what says so is kept (the intake's
    `sound_checked` mark, playback's verdict), and a file with sound would then be served
    with it (R1.3)."""
    if path.suffix.lower() in _TS_SUFFIXES and (videos := video_alone(path)) is not None:
        return videos, 0, "mpegts"  # its tables leave no doubt: ffmpeg is not asked
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    try:
        with av.open(str(path)) as c:
            return len(c.streams.video), len(c.streams.audio), c.format.name
    except (OSError, MemoryError):
        raise
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        return None


def video_only(path: Path, scratch: Path, muxer: str | None = None) -> Path | None:
    """R1.3 at intake: None if ``path`` carries no sound (it is stored as it is); else a copy in
    ``scratch`` holding its video streams only (`-map 0:v -c copy`: no re-encoding), checked
    to have no audio, in ``muxer`` or the file's own container. A file with sound and no
    picture is refused."""

    found = _streams(path)
    if found is None or found[1] == 0:
        return None
    videos, _audio, demuxer = found
    if videos == 0:
        raise InputError(f"{path.name} holds sound and no picture: a camera source keeps "
                         "image only (R1.3)",
                         pl=f"Plik {path.name} zawiera dźwięk, a nie zawiera obrazu: źródło "
                            "wizyjne przechowuje wyłącznie obraz (bez dźwięku).")
    muxer = muxer or _MUXERS.get(path.suffix.lower(), demuxer.split(",")[0])
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"{uuid.uuid4().hex}.video.part"  # *.part: removed by clean_tmp after a crash
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
         "-map", "0:v", "-an", "-sn", "-dn", "-c", "copy", "-f", muxer, str(out)],
        capture_output=True, text=True, timeout=3600)
    try:
        checked = _streams(out) if done.returncode == 0 else None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if checked is None or checked[0] == 0 or checked[1] != 0:
        out.unlink(missing_ok=True)
        raise InputError(f"cannot take the sound track out of {path.name} ({muxer}): "
                         f"{done.stderr.strip()[-300:] or 'the result still holds sound'}; "
                         "convert it to MP4 or MPEG-TS first",
                         pl=f"Nie udało się usunąć ścieżki dźwiękowej z pliku {path.name}; "
                            "przekształć go najpierw do formatu MP4 lub MPEG-TS.")
    return out
