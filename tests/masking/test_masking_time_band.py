"""Issue 49 item 17, in the engine: with the period's clock given, the masked file carries each
frame's recording time in the playable file's band above the picture — from each segment's
own start (a segment after a gap shows its own time, not the end of the one before plus the
frames since), across a change of the zone's offset (CEST to CET, the hour shown twice), with
the slate's words over a gap — drawn in the same pass that masks and encodes, and never shown
to the check for faces, which looks at the picture below it (the boxes it reports for the
reviewer's pictures are in the file's pixels, below the band).

Real faces (scikit-image's photographs, tests/masking/scene.py), the real detector, encoder and
ffmpeg. No OCR: the text expected is rendered with the playable file's own filters and compared
with the band; the right second matches, a second off does not."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest
from PIL import Image

from kustosz import playable
from kustosz.masking import Segment, mask_video
from kustosz.masking.detect import CenterFace, Detection
from tests.masking.scene import make_clip

pytestmark = pytest.mark.slow
TZ = ZoneInfo("Europe/Warsaw")
T0 = datetime(2026, 10, 25, 0, 59, 57, tzinfo=UTC)  # 02:59:57 CEST, 3 s before 02:00 CET
PIC = playable.Picture(640, 360, 25)


class Spy(CenterFace):
    """The real detector, noting the size of each picture the output's check is shown."""

    checked: ClassVar[list[tuple[int, int]]] = []

    def __call__(self, rgb: Any, threshold: float | None = None) -> list[Detection]:
        if threshold is not None:  # the check's calls name their threshold
            self.checked.append(rgb.shape[:2])
        return super().__call__(rgb, threshold)


def frame_at(path: Path, t: float) -> np.ndarray:
    """The frame whose time is nearest ``t`` s from the first, RGB as int16."""
    with av.open(str(path)) as c:
        best, dist = None, None
        for f in c.decode(video=0):
            d = abs(float(f.time) - t)
            if dist is None or d < dist:
                best, dist = f.to_ndarray(format="rgb24"), d
    assert best is not None
    return best.astype(np.int16)


def expected_band(below: np.ndarray, first: str, tmp: Path) -> np.ndarray:
    """The playable file's band over ``below`` (pad, drawtext), its first line ``first``."""
    Image.fromarray(below.astype(np.uint8)).save(tmp / "below.png")
    (tmp / "first.txt").write_text(first)
    graph = ",".join([playable.band_filters(PIC, tmp / "none.txt")[0],
                      playable.first_line(PIC, f"@{tmp / 'first.txt'}")])
    subprocess.run([playable.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(tmp / "below.png"), "-vf", graph, str(tmp / "exp.png")], check=True)
    return np.asarray(Image.open(tmp / "exp.png").convert("RGB")).astype(np.int16)[:PIC.band]


def glyphs_off(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a - b).max(axis=2) > 96).sum())


def test_the_masked_file_shows_each_frames_recording_time(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "src", seconds=6.0, segment_s=2.0, audio=False)
    # Two segments from T0, then 1.35 s without recording (a slate), then the third from its
    # own start, 5.35 s after T0.
    segments = [Segment(clip[0], 0.0), Segment(clip[1], 2.0), Segment(clip[2], 5.35)]
    Spy.checked.clear()  # its twins (the check's networks) are Spies too
    out = tmp_path / "masked.mp4"
    d = mask_video(segments, out, detector=Spy(), duration_s=7.35, clock=(T0, TZ))
    v = d["verification"]
    assert v["passed"] and d["stats"]["faces_detected"] > 0, v
    assert (d["video"]["width"], d["video"]["height"]) == (640, 360 + PIC.band)
    assert d["time_burned_in"]["band_rows"] == PIC.band
    assert [g["from_s"] for g in d["gaps"]] == [4.0]
    # The check saw every frame, each the picture without the band.
    assert len(Spy.checked) >= v["frames_checked"] == d["video"]["frames"]
    assert set(Spy.checked) == {(360, 640)}
    assert all(w["box"][1] >= PIC.band - 1 for w in v["worst_frames"]), v["worst_frames"]

    work = tmp_path / "render"
    work.mkdir()
    cases = [(0.5, "2026-10-25 02:59:57 CEST", "2026-10-25 02:59:58 CEST"),
             # the clocks went back a second before: CET, the hour again
             (3.5, "2026-10-25 02:00:00 CET", "2026-10-25 03:00:00 CEST"),
             (4.6, "Brak nagrania (no recording)", "2026-10-25 02:00:01 CET"),
             # 0.25 s into the third segment: its own start, not the second's end
             (5.6, "2026-10-25 02:00:02 CET", "2026-10-25 02:00:01 CET")]
    for t, right, wrong in cases:
        frame = frame_at(out, t)
        assert frame.shape == (360 + PIC.band, 640, 3)
        below = frame[PIC.band:]
        band = frame[:PIC.band]
        assert glyphs_off(band, expected_band(below, right, work)) < 5, (t, right)
        assert glyphs_off(band, expected_band(below, wrong, work)) > 15, (t, wrong)
        if t == 0.5:
            Image.fromarray(frame.astype(np.uint8)).save(tmp_path / "frame.png")  # by hand


def test_without_a_clock_the_file_is_the_picture_alone(tmp_path: Path) -> None:
    """A direct call without the period's start (bench, tests) burns nothing in."""
    clip = make_clip(tmp_path / "src", seconds=2.0, segment_s=2.0, audio=False)
    d = mask_video([Segment(clip[0], 0.0)], tmp_path / "plain.mp4")
    assert (d["video"]["width"], d["video"]["height"]) == (640, 360)
    assert "time_burned_in" not in d
    assert frame_at(tmp_path / "plain.mp4", 0.5).shape == (360, 640, 3)


def test_the_band_is_the_time_at_each_second(tmp_path: Path) -> None:
    """The band of second N after the period's start is drawn once and shared by that
    second's frames; a batch ends where the zone's offset changes."""
    from kustosz.masking.band import TimeBand

    band = TimeBand(T0 + timedelta(seconds=0.5), TZ, 641, 361)
    assert band.rows == PIC.band and band.at(0.0).shape == (PIC.band, 640, 3)
    assert np.shares_memory(band.at(0.1), band.at(0.4))  # one second: 02:59:57.6 and .9
    assert not np.array_equal(band.at(0.4), band.at(0.6))  # 02:59:58
    assert band.calls == 1
    band.at(3.0)  # 01:00:00.5 UTC: CET, past the end of the first batch
    assert band.calls == 2 and band.first == int((T0 + timedelta(seconds=3)).timestamp())
    # The batch ended on the change itself, not within the second after it (where the zone
    # pieces' bisection stopped before: the playable file showed 03:00:00 CEST for up to a
    # second after 02:59:59 CEST when a segment began at such a moment).
    change = datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC)
    for start in (T0, T0 + timedelta(seconds=2.3), change - timedelta(seconds=1000.7)):
        assert [p[0] for p in playable.zone_pieces(start, change + timedelta(seconds=30),
                                                   TZ)] == [start, change], start
