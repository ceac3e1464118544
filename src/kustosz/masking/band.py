"""The recording time burned into a data subject's masked copy (issue 49 item 17): the band the
police copy's playable file adds above the picture, drawn by the same definitions
(kustosz.playable: `Picture`'s band, `first_line`'s font, size and place, `clock_text`'s
format, `slate_head`'s words over a gap), so both copies show the time alike and leave the
camera's own clock/OSD at the top of its picture uncovered.

How, and why so: the masked frames are encoded in this process in the one pass that masks
them (video._Encoder; no second decode and encode of the file), and PyAV's ffmpeg has no
drawtext. The band changes once a second, so ffmpeg (imageio's, the playable file's) draws the
bands of up to `BATCH_S` seconds in one call — a clip of the band alone at one frame a second,
its clock ``%{pts:gmtime}`` as in the playable file — and each masked frame is stacked under
its second's band: one short ffmpeg call per `BATCH_S` of recording and a memory copy a frame.
The band is added after the masking, so nothing in it is ever masked; the output's check looks
at the picture below it only (video._Check), so its text is never taken for a face.

The time of a frame is the period's start plus the frame's own time in the period
(video._Decoded: each segment's indexed start plus the frame's offset within that segment —
never a count of frames, nor the clock when the copy is made), in the office's zone, down to
the second as ffmpeg's gmtime floors it in the playable file. A batch ends where the zone's
offset changes (`playable.zone_pieces`): the hour 02:00–03:00 of October's last Sunday is
shown twice, CEST then CET.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from kustosz import playable
from kustosz.errors import KustoszError

BATCH_S = 30  # seconds of band drawn by one ffmpeg call ...
BATCH_BYTES = 32 << 20  # ... fewer where that many bands would take more memory (4K)


class TimeBand:
    """The bands of a masked copy whose period starts at ``start``, its picture
    ``width`` × ``height`` (odd sides lose their last row or column, as the encoder's)."""

    def __init__(self, start: datetime, tz: ZoneInfo, width: int, height: int) -> None:
        playable.need_font()
        self.start, self.tz = start.timestamp(), tz
        self.pic = playable.Picture(width - width % 2, height - height % 2, 1)
        self.rows = self.pic.band
        one = self.rows * self.pic.width * 3
        self.batch = max(1, min(BATCH_S, BATCH_BYTES // one))
        self.first = 0  # the epoch second of `bands[0]`
        self.bands: np.ndarray | None = None  # seconds × rows × width × 3
        self.heads: dict[bool, np.ndarray] = {}
        self.calls = 0

    def at(self, t: float) -> np.ndarray:
        """The band over the frame ``t`` seconds after the period's start."""
        second = math.floor(self.start + t + 1e-6)
        bands = self.bands
        if bands is None or not 0 <= second - self.first < len(bands):
            bands = self.bands = self._clock(second)
            self.first = second
        return bands[second - self.first]  # type: ignore[no-any-return]

    def slate(self, unreadable: bool) -> np.ndarray:
        """The band over a gap's slate: no clock, words saying there is no recording."""
        if unreadable not in self.heads:
            self.heads[unreadable] = self._draw(["@head.txt"], 1,
                                                {"head.txt": playable.slate_head(unreadable)})[0]
        return self.heads[unreadable]

    def describe(self) -> dict[str, Any]:
        return {"time_zone": str(self.tz.key), "band_rows": self.rows,
                "where": "a black band above the picture, which is whole below it",
                "format": playable.CLOCK_FORMAT + " %Z",
                "font": f"DejaVu Sans ({playable.FONT_PACKAGE})",
                "from": "each segment's indexed start plus the frame's time in it"}

    def _clock(self, second: int) -> np.ndarray:
        """The bands of ``second`` and the seconds after it, up to `batch` of them or to
        the first change of the zone's offset."""
        begin = datetime.fromtimestamp(second, UTC)
        end = datetime.fromtimestamp(second + self.batch, UTC)
        (_, offset, abbr), *changes = playable.zone_pieces(begin, end, self.tz)
        count = self.batch
        if changes:
            count = max(1, math.ceil((changes[0][0] - begin).total_seconds()))
        return self._draw([playable.clock_text(second + offset, abbr)], count, {})

    def _draw(self, lines: list[str], count: int, files: dict[str, str]) -> np.ndarray:
        """``count`` bands, one a second from pts 0, the first line's drawtext text being
        ``lines[0]`` (``@name``: the words of ``files[name]``, written to a scratch folder)."""
        pic, rows = self.pic, self.rows
        tmp = Path(tempfile.mkdtemp(prefix="kustosz-band-"))
        try:
            for name, words in files.items():
                (tmp / name).write_text(words)
            text = lines[0]
            if text.startswith("@"):
                text = f"@{tmp / text[1:]}"
            graph = (f"color=c=black:s={pic.width}x{rows}:r=1,format=yuv420p,"
                     + playable.first_line(pic, text) + "[v]")
            done = subprocess.run(
                [playable.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
                 "-filter_complex", graph, "-map", "[v]", "-frames:v", str(count),
                 "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                capture_output=True, timeout=120)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.calls += 1
        size = rows * pic.width * 3
        if done.returncode != 0 or len(done.stdout) != count * size:
            raise KustoszError("ffmpeg could not draw the recording time for the masked copy: "
                               f"{done.stderr.decode('utf-8', 'replace').strip()[-500:]}",
                               pl="Nie udało się wpisać czasu nagrania w obraz zamaskowanej "
                                  "kopii (błąd programu ffmpeg; szczegóły w dzienniku "
                                  "serwera).")
        return np.frombuffer(done.stdout, dtype=np.uint8).reshape(count, rows, pic.width, 3)
