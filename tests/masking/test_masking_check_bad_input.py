"""Bad input to what issue 28 item 1 added: the output's check (``verify``), the motion-sized
hold (``motion``), the detector's per-call threshold, and the residual frames a review page
asks for: a clear error in English and Polish, nothing left behind, nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kustosz.errors import InputError
from kustosz.masking import Options, Segment, mask_video, residual
from kustosz.masking.detect import CenterFace
from tests.masking.scene import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_clip(tmp_path_factory.mktemp("checkbad") / "src", seconds=0.6, segment_s=0.6)


@pytest.mark.parametrize("field", ["verify", "motion"])
@pytest.mark.parametrize("value", [None, 0, 1, "true", "no", 2.0])
def test_a_switch_that_is_not_true_or_false_is_refused(tmp_path: Path, clip: list[Path],
                                                        field: str, value: Any) -> None:
    out = tmp_path / "out" / "m.mp4"
    out.parent.mkdir()
    with pytest.raises(InputError) as e:
        mask_video([Segment(clip[0], 0.0)], out, options=Options(**{field: value}))
    assert f"{field} must be true or false" in str(e.value)
    assert e.value.pl and "musi mieć wartość tak albo nie" in e.value.pl
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("threshold", [0, 1, -0.5, 1.5, "0.3", True, float("nan")])
def test_a_bad_threshold_for_one_call_is_refused(threshold: Any) -> None:
    with pytest.raises(InputError) as e:
        CenterFace()(np.zeros((64, 64, 3), np.uint8), threshold=threshold)
    assert "threshold" in str(e.value) and e.value.pl and "Próg" in e.value.pl


def test_a_copy_source_never_checked_counts_as_failed() -> None:
    """A masked file without the check's record is not assumed clean."""
    assert residual.failed([{"path": "a.mp4", "masking": {}}]) == [
        {"path": "a.mp4", "masking": {}}]
    assert residual.failed([{"path": "a.mp4", "masking": {"verification": {"passed": False}}}])
    assert residual.failed([{"path": "a.mp4", "masking": {"verification": {"passed": True}}},
                            {"path": "b.mp4"}]) == []


@pytest.mark.parametrize("k", [0, -1, 3, True, "1", None])
def test_a_residual_frame_not_recorded_is_refused(k: Any) -> None:
    source = {"masking": {"verification": {"worst_frames": [
        {"frame": 3, "t": 0.12, "score": 0.1, "box": [1, 2, 3, 4]},
        {"frame": 30, "t": 1.2, "score": 0.07, "box": [1, 2, 3, 4]}]}}}
    with pytest.raises(InputError) as e:
        residual.worst_frame(source, k)
    assert "no frame number" in str(e.value) and e.value.pl and "nie zapisało" in e.value.pl


@pytest.mark.parametrize("frame", [-1, 10_000, True, "3"])
def test_a_thumbnail_of_a_frame_the_file_has_not_is_refused(clip: list[Path],
                                                            frame: Any) -> None:
    with pytest.raises(InputError) as e:
        residual.thumbnail(clip[0], frame, [0, 0, 10, 10])
    assert "frame" in str(e.value) and e.value.pl and "klatk" in e.value.pl
