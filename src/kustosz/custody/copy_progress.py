"""How far a copy being made has got, for the page that waits for it and the command line
(issue 29 item 14): each source's share of the work by the bytes of its recordings, and
within a camera the bytes of the copy's MP4 written so far, its playable file's parts and
the masking's frames. The last part (hashing, signing, the label) is `SEALING`."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

MEDIA_SHARE = 0.85  # of the copy's progress: its media; the rest is sealing the bundle
SEALING = 0.9  # where the copy stands once its media are written
# A camera copied with its playable file: the MP4 is a remux (-c copy, as fast as the disk),
# the playable file is encoded again with the time burnt in, which takes the longer part.
REMUX_SHARE_WITH_PLAYABLE = 0.3
LOOK_EVERY_S = 0.5


class Report(Protocol):
    def __call__(self, fraction: float, note: str | None = None) -> None: ...


def spans(groups: Sequence[Any]) -> list[tuple[float, float]]:
    """Each source's part of the copy's progress (from, to), by the bytes of its recordings
    (a source with none recorded counts as one byte, so that it has a part too)."""
    sizes = [max(1, sum(int(r.size or 0) for r in g.recordings)) for g in groups]
    total = float(sum(sizes)) or 1.0
    out, at = [], 0.0
    for size in sizes:
        nxt = at + MEDIA_SHARE * size / total
        out.append((at, nxt))
        at = nxt
    return out


def within(progress: Report | None, lo: float, hi: float, note: str
           ) -> Callable[[float], None]:
    """A reporter of a step's own fraction (0..1) as the copy's (``lo``..``hi``)."""
    def told(fraction: float) -> None:
        if progress is not None:
            progress(lo + (hi - lo) * max(0.0, min(1.0, fraction)), note)
    return told


@contextlib.contextmanager
def growing(path: Path, expected: int, told: Callable[[float], None]) -> Iterator[None]:
    """While the block writes ``path``, tell how much of the ``expected`` bytes it holds
    (looked at every `LOOK_EVERY_S`; an MP4 remuxed from MPEG-TS is a little smaller than
    its segments, so the fraction stops short of 1 until the step that follows)."""
    stop = threading.Event()

    def look() -> None:
        while not stop.wait(LOOK_EVERY_S):
            try:
                told(path.stat().st_size / max(1, expected))
            except FileNotFoundError:
                continue  # not started yet
            except Exception:  # a report that failed (the database away) must not stop the copy
                log.warning("could not report the copy's progress", exc_info=True)

    watcher = threading.Thread(target=look, name="copy-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
