"""Reading what ffmpeg wrote: the segment list, and what a segment file really holds (PyAV)."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListedSegment:
    name: str
    start: float  # seconds on the session's stream time line
    end: float


class SegmentList:
    """Follows ffmpeg's CSV segment list; a row appears only once its segment is closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def poll(self) -> list[ListedSegment]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a half-written last line waits
        self.offset += len(complete)
        return parse_rows(complete.decode("utf-8", "replace"))


def parse_rows(text: str) -> list[ListedSegment]:
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3:
            continue
        try:
            rows.append(ListedSegment(row[0], float(row[1]), float(row[2])))
        except ValueError:
            log.warning("unreadable segment list row %r", row)
    return rows


@dataclass(frozen=True)
class SegmentFacts:
    codec: str
    duration: float  # seconds of video actually in the file
    has_audio: bool


def inspect(path: Path) -> SegmentFacts | None:
    """Open the file with PyAV and measure the video it holds; None if there is none."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None
            v = c.streams.video[0]
            lo = hi = None
            for pkt in c.demux(v):
                if pkt.pts is None or not pkt.size:
                    continue
                end = pkt.pts + (pkt.duration or 0)
                lo = pkt.pts if lo is None else min(lo, pkt.pts)
                hi = end if hi is None else max(hi, end)
            if lo is None or hi is None or v.time_base is None:
                return None
            return SegmentFacts(v.codec_context.name, float((hi - lo) * v.time_base),
                                bool(c.streams.audio))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.warning("segment %s is unreadable: %s", path.name, exc)
        return None


def codec_of(path: Path) -> tuple[str | None, bool]:
    """(video codec, has an audio stream) from the container header only."""
    import av

    try:
        with av.open(str(path)) as c:
            codec = c.streams.video[0].codec_context.name if c.streams.video else None
            return codec, bool(c.streams.audio)
    except (av.error.FFmpegError, OSError):
        return None, False
