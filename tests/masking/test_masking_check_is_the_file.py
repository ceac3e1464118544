"""The output's check runs beside the masking (issue 28 item 1, its cost): the encoder hands
each packet it writes to a checker thread, which decodes it and runs the detector on every
frame. What was checked must be the file: the finished file is decoded again and every frame's
pixels compared with those checked. And the masks are sized so that the first check finds no
sliver of a face at their edges (one pass, not two, on the bench's panning clip).

Real faces (scikit-image's photographs, tests/masking/scene.py), the real detector and the
real encoder. The one simulated part: a checker that loses the last packets (what a bug in the
hand-over would do), to see that the comparison with the file catches it."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from kustosz.masking import Segment, mask_video, regions, video
from tests.masking.scene import make_clip

pytestmark = pytest.mark.slow
SEGMENT_S = 2.0


@pytest.fixture(scope="module")
def pan(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    folder = tmp_path_factory.mktemp("pan")
    src = make_clip(folder, seconds=6.0, segment_s=SEGMENT_S)
    return [Segment(p, i * SEGMENT_S, p.name) for i, p in enumerate(src)]


def file_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(c.streams.video[0]))


def test_the_check_saw_every_frame_of_the_file_in_one_pass(
        tmp_path: Path, pan: list[Segment]) -> None:
    out = tmp_path / "masked.mp4"
    d = mask_video(pan, out)
    v = d["verification"]
    assert v["frames_checked"] == d["video"]["frames"] == file_frames(out) == 150
    assert v["frames_match_the_file"] is True
    # the masks reach below the chin: the check finds no sliver there, so no second pass
    assert v["passes"] == 1 and v["frames_masked_again"] == 0, v
    assert v["passed"] and v["frames_with_residual"] == 0, v
    assert v["max_residual_score"] < 0.2
    assert d["detector"]["box_neck_below"] == regions.NECK_BELOW


def test_without_the_neck_the_first_check_finds_slivers(
        tmp_path: Path, pan: list[Segment], monkeypatch: pytest.MonkeyPatch) -> None:
    """The premise of `regions.NECK_BELOW`: with the masks of before, the check scores the
    mosaic's bottom row over the collar as a face and a second pass is needed."""
    monkeypatch.setattr(regions, "NECK_BELOW", 0.0)
    monkeypatch.setattr(video, "REMASK_ROUNDS", 0)
    v = mask_video(pan, tmp_path / "no-neck.mp4")["verification"]
    assert not v["passed"] and v["frames_with_residual"] > 0, v


def test_a_check_that_lost_frames_does_not_pass(
        tmp_path: Path, pan: list[Segment], monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker is handed every packet but the last few: it checks fewer frames than the
    file holds, and the comparison with the file fails the copy, whatever the detector said."""
    real_put = video._Checker.put
    sent: list[object] = []

    def lossy(self: video._Checker, packet: av.Packet | None, extradata: bytes | None) -> None:
        if packet is not None:
            sent.append(packet)
            if len(sent) > 140:
                return
        real_put(self, packet, extradata)

    monkeypatch.setattr(video._Checker, "put", lossy)
    out = tmp_path / "lossy.mp4"
    d = mask_video(pan, out)
    v = d["verification"]
    assert len(sent) == 150 and file_frames(out) == 150
    assert v["frames_checked"] < 150
    assert v["frames_match_the_file"] is False
    assert not v["passed"], v


def test_the_reason_says_the_check_was_not_of_the_file() -> None:
    from datetime import UTC, datetime

    from kustosz.masking import residual

    bad = [{"path": "video/1.mp4", "source": {"name": "cam-hol"},
            "masking": {"verification": {"passed": False, "frames_match_the_file": False,
                                         "frames_checked": 140, "frames_with_residual": 0,
                                         "worst_frames": []}}}]
    assert residual.failed(bad) == bad
    en, pl = residual.reason(bad, datetime(2026, 11, 24, 8, tzinfo=UTC), UTC)
    assert "cam-hol: the frames checked are not the masked file's frames" in en
    assert "cam-hol: sprawdzone klatki różnią się od klatek zamaskowanego nagrania" in pl
