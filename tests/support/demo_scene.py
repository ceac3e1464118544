"""The demo's picture (src/kustosz/demo/scene.jpg), made from scikit-image's photographs.

The product cannot import scikit-image (a test dependency) nor download anything at run time,
so the picture ships as package data; this is how it was made, and tests/test_demo_faces.py
checks that the shipped file is still this. Run to write it again:
`.venv/bin/python -m tests.support.demo_scene src/kustosz/demo/scene.jpg`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

WIDTH, HEIGHT = 720, 360  # the camera's 640×360 window pans 80 px across it
QUALITY = 85


def scene() -> np.ndarray:
    """The astronaut (Eileen Collins, NASA, public domain) beside the cameraman (Lav
    Varshney, CC0), 1024×512 scaled to 720×360, RGB."""
    people = np.concatenate([data.astronaut(), np.stack([data.camera()] * 3, axis=-1)],
                            axis=1)
    return cv2.resize(people, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def write(path: Path) -> None:
    bgr = cv2.cvtColor(scene(), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, QUALITY,
                                        cv2.IMWRITE_JPEG_OPTIMIZE, 1]):
        raise OSError(f"could not write {path}")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
