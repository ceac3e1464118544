"""How long a file taken in by hand lasts (issue 66 item 5): `kustosz ingest` without `--end`
stored a recording that ended when it began — no length, so no search by time found its
middle and a copy of a window inside it came out empty. The file's own length, probed as
playback probes a segment (the container's duration, by libav: what ffprobe reports), ends
it; a recording whose length cannot be read is refused until `--end` says it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from kustosz.errors import InputError
from kustosz.kinds import Material, kind_of

# The kinds whose every item is a recording with a length (a camera's video, a call's sound);
# mail and endpoint events are items of a moment.
_TIMED = (Material.VIDEO, Material.CALLS)


def media_seconds(path: Path) -> float | None:
    """The file's length in seconds (the container's, else its longest stream's); None for a
    file that is no media, or has no length."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    try:
        with av.open(str(path)) as c:
            if c.duration and c.duration > 0:
                return float(c.duration / av.time_base)
            lengths = [float(s.duration * s.time_base) for s in c.streams
                       if s.duration and s.time_base]
            return max(lengths) if lengths and max(lengths) > 0 else None
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        return None


def end_of(kind: str, path: Path, start: datetime) -> datetime:
    """When the file taken in at ``start`` ends, by its own length; ``start`` for an item of
    a moment (mail, an event log)."""
    if kind_of(kind).material not in _TIMED:
        return start
    seconds = media_seconds(path)
    if seconds is None:
        raise InputError(
            f"the length of {path.name} cannot be read from the file; give its end with "
            "--end (ISO time with zone)",
            pl=f"Nie można odczytać długości nagrania {path.name} z pliku; podaj jego koniec "
               "opcją --end (czas ISO ze strefą).")
    return start + timedelta(seconds=seconds)
