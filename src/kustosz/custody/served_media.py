"""Which part of a masked copy's video the bytes served so far hold (custody.subject_review
counts a reviewer's watching from them): the packets' places in the file and their times."""

from __future__ import annotations

import bisect
import functools
import math
from pathlib import Path


@functools.lru_cache(maxsize=4)
def _packets(path: str, size: int, mtime_ns: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The file's video packets in file order: where each ends (byte) and the earliest
    presentation time (s) of it and every packet after it. ``size`` and ``mtime_ns`` key the
    cache: a file made again is read again."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    ends: list[int] = []
    times: list[float] = []
    with av.open(path) as c:
        stream = c.streams.video[0]
        tb = float(stream.time_base or 0)
        origin = stream.start_time or 0
        for pkt in c.demux(stream):
            if pkt.pos is None or pkt.pts is None or pkt.size == 0:
                continue
            at = (pkt.pts - origin) * tb
            ends.append(int(pkt.pos) + int(pkt.size))
            times.append(at)
    order = sorted(range(len(ends)), key=ends.__getitem__)
    ends = [ends[i] for i in order]
    earliest = [times[i] for i in order]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    return tuple(ends), tuple(earliest)


def covered_s(file: Path, prefix: int) -> float:
    """Media time (s from the start) whose every frame lies within the first ``prefix`` bytes
    of ``file`` (a faststart MP4: the index first, then the frames in order); every frame
    within: infinity (the caller caps it at the file's length)."""
    st = file.stat()
    ends, earliest = _packets(str(file), st.st_size, st.st_mtime_ns)
    k = bisect.bisect_right(ends, prefix)
    return math.inf if k >= len(ends) else max(0.0, earliest[k])
