"""Where a live frame's time goes (bench/live_latency.py --profile, issue 68's live row): for
each change the live page showed, when the relay handed the frame's fragment to its viewers
(this process: the bench runs the web server), when the page's SourceBuffer held it
(appendBuffer's updateend, the buffered end past the frame's time) and when the page
presented it (requestVideoFrameCallback). All three on this machine's wall clock, the frame
named by its media time (the fragment's tfdt over the track's timescale, which MSE keeps in
"segments" mode)."""

from __future__ import annotations

import statistics
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from kustosz.ingest.camera import fmp4, live_stream

# Every SourceBuffer the page makes reports each append's end: the wall time it finished and
# the buffered end it left.
APPEND_HOOK = """(() => {
  window.__appended = [];
  const add = MediaSource.prototype.addSourceBuffer;
  MediaSource.prototype.addSourceBuffer = function (type) {
    const sb = add.call(this, type);
    sb.addEventListener("updateend", () => {
      const b = sb.buffered;
      if (b.length) { window.__appended.push([Date.now() * 1e6, b.end(b.length - 1)]); }
    });
    return sb;
  };
})();"""


@dataclass
class Profile:
    relayed: list[tuple[int, float]] = field(default_factory=list)  # (ns, media s)
    appended: list[tuple[float, float]] = field(default_factory=list)  # (ns, buffered end s)
    presented: list[tuple[float, float]] = field(default_factory=list)  # (ns, media s)
    lags: list[float] = field(default_factory=list)  # the buffered end less the play position


def _timescale(init: bytes) -> int:
    moov = next(body for kind, body in fmp4.boxes(init) if kind == b"moov")
    mdhd = fmp4.child(moov, b"trak", b"mdia", b"mdhd")
    assert mdhd is not None
    return int(struct.unpack(">I", mdhd[12:16] if mdhd[0] == 0 else mdhd[20:24])[0])


def _tfdt(fragment: bytes) -> int:
    moof = next(body for kind, body in fmp4.boxes(fragment) if kind == b"moof")
    tfdt = fmp4.child(moof, b"traf", b"tfdt")
    assert tfdt is not None
    return int(struct.unpack(">Q", tfdt[4:12])[0] if tfdt[0] == 1
               else struct.unpack(">I", tfdt[4:8])[0])


def watch_relay(profile: Profile) -> None:
    """Every fragment the relays of this process hand on, timed."""
    original = live_stream.LiveStream._fragment

    def timed(self: live_stream.LiveStream, fragment: bytes, key: bool) -> None:
        at = time.time_ns()
        original(self, fragment, key)
        if self.init is not None:
            profile.relayed.append((at, _tfdt(fragment) / _timescale(self.init)))

    live_stream.LiveStream._fragment = timed  # type: ignore[method-assign]


def breakdown(profile: Profile, changes: list[tuple[int, int]],
              frames: list[tuple[float, float]], tolerance: float) -> dict[str, Any]:
    """Medians over the changes shown, in seconds: the camera to the relay's hand-off, to the
    page's buffer, to the screen."""
    stages: dict[str, list[float]] = {"camera→relay": [], "relay→buffer": [],
                                      "buffer→screen": []}
    media = dict(profile.presented)
    for at, level in changes:
        shown = next((t for t, v in frames if t >= at and abs(v - level) <= tolerance), None)
        if shown is None or media.get(shown, -1) < 0:
            continue
        m = media[shown]
        relayed = next((t for t, mt in profile.relayed if abs(mt - m) < 1e-3), None)
        buffered = next((t for t, end in profile.appended if end > m + 1e-3), None)
        if relayed is None or buffered is None:
            continue
        stages["camera→relay"].append((relayed - at) / 1e9)
        stages["relay→buffer"].append((buffered - relayed) / 1e9)
        stages["buffer→screen"].append((shown - buffered) / 1e9)
    lags = [lag for lag in profile.lags if lag >= 0]
    return {name: round(statistics.median(v), 3) if v else None for name, v in stages.items()} | {
        "changes": len(stages["camera→relay"]),
        "play position behind the buffer's end, median": round(statistics.median(lags), 3)
        if lags else None}
