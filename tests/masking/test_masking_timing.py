"""The masking's result does not depend on how fast its detection thread runs (a fresh-clone
run of 2026-11-30: test_masking_time_band's output differed under load, 520 687 against
519 852 bytes, and its check failed). A round's detection measures each face's speed against
the round before and writes it into that round's tracks; a frame emitted while the next round
still ran was masked with the speed before or after that write, by chance. Here the same clip
is masked with the masking thread slowed (each round ends before the frames that use it are
due) and with the detector slowed (each round ends after): every frame's boxes must be the
same, and so the file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kustosz.masking import Segment, mask_video
from kustosz.masking.detect import CenterFace, Detection
from kustosz.masking.video import Options
from tests.masking.scene import make_clip

pytestmark = pytest.mark.slow


class Slow(CenterFace):
    """The real detector, its masking's calls (no threshold named) held back a while."""

    def __call__(self, rgb: Any, threshold: float | None = None) -> list[Detection]:
        found = super().__call__(rgb, threshold)
        if threshold is None:
            time.sleep(0.06)
        return found


def _boxes(clip: list[Path], out: Path, detector: CenterFace, pause: float) -> list[Any]:
    """Every frame's boxes; ``pause``: the masking thread held back after each frame (its
    detections then end before the frames that use them are due)."""
    seen: list[Any] = []

    def note(i: int, t: float, boxes: Any, near: Any, manual: Any) -> None:
        seen.append((i, boxes, near))
        time.sleep(pause)

    # as test_masking_time_band: a slate of 1.35 s between the second and the third segment,
    # after which every face is a new one (its speed measured by the round after)
    segments = [Segment(clip[0], 0.0), Segment(clip[1], 2.0), Segment(clip[2], 5.35)]
    mask_video(segments, out, detector=detector, options=Options(verify=False),
               duration_s=7.35, trace=note)
    return seen


def test_the_frames_boxes_do_not_depend_on_the_detections_speed(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "src", seconds=6.0, segment_s=2.0, audio=False)
    quick = _boxes(clip, tmp_path / "quick.mp4", CenterFace(), 0.06)
    slow = _boxes(clip, tmp_path / "slow.mp4", Slow(), 0.0)
    assert len(quick) == len(slow) == 184
    assert sum(len(b) for _i, b, _n in quick) > 0  # faces were masked
    differ = [q[0] for q, s in zip(quick, slow, strict=True) if q != s]
    assert differ == [], differ
    assert np.array_equal(np.frombuffer((tmp_path / "quick.mp4").read_bytes()[-4096:], np.uint8),
                          np.frombuffer((tmp_path / "slow.mp4").read_bytes()[-4096:], np.uint8))
