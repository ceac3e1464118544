"""Making a rectangle of the picture unrecognisable, for good.

The EDPB (Guidelines 3/2019 on video devices, §6.2, the right to erasure) treats footage
"blurred with no retroactive ability to recover the personal data that the picture previously
contained" as erased. Light blurs and fine mosaics do not meet that: a Gaussian blur is a
linear filter that deconvolution partly undoes, and faces pixelated in 8–16 px blocks were
still re-identified by neural networks (McPherson, Shokri, Shmatikov 2016, "Defeating Image
Obfuscation with Deep Learning"). So Kustosz pixelates coarsely: each rectangle is cut into at
most ``BLOCKS`` × ``BLOCKS`` blocks (at least ``MIN_BLOCK`` px each), and every pixel of a
block takes the block's mean colour. What remains of a face is ~16–25 colours; the detail is
not hidden but gone from the file, so nothing in the copy brings it back. The exact rule goes
to the copy's manifest (`describe`).
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from kustosz.masking.regions import Box

BLOCKS = 5  # at most this many blocks along a rectangle's longer side
MIN_BLOCK = 8  # px: a small rectangle is one to a few blocks, never a fine mosaic


def describe() -> dict[str, Any]:
    return {"method": "pixelation", "blocks_along_longer_side_max": BLOCKS,
            "block_min_px": MIN_BLOCK, "block_value": "mean colour of the block",
            "irreversible": True,
            "basis": "EDPB Guidelines 3/2019 §6.2: blurred with no retroactive ability to "
                     "recover the personal data"}


def pixelate(frame: np.ndarray, box: Box, keep: np.ndarray | None = None) -> None:
    """Pixelate ``box`` of ``frame`` (H×W×3 uint8) in place. Pixels where ``keep`` (H×W bool,
    the requester's boxes) is set stay as they were."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        return
    block = max(MIN_BLOCK, math.ceil(max(w, h) / BLOCKS))
    nx, ny = max(1, math.ceil(w / block)), max(1, math.ceil(h / block))
    region = frame[y1:y2, x1:x2]
    means = cv2.resize(region, (nx, ny), interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(means, (w, h), interpolation=cv2.INTER_NEAREST)
    if keep is not None:
        spared = keep[y1:y2, x1:x2]
        if spared.any():
            mosaic[spared] = region[spared]
    region[...] = mosaic
