"""Making a rectangle of the picture unrecognisable, for good.

The EDPB (Guidelines 3/2019 on video devices, §6.2, the right to erasure) treats footage
"blurred with no retroactive ability to recover the personal data that the picture previously
contained" as erased. Light blurs and fine mosaics do not meet that: a Gaussian blur is a
linear filter that deconvolution partly undoes, and faces pixelated in 8–16 px blocks were
still re-identified by neural networks (McPherson, Shokri, Shmatikov 2016, "Defeating Image
Obfuscation with Deep Learning"). So Kustosz pixelates coarsely: each rectangle is cut into
square blocks of ``max(MIN_BLOCK, ceil(longer side / BLOCKS))`` px from its top-left corner
(at most ``BLOCKS`` × ``BLOCKS``), and every pixel of a block takes the block's mean colour.
What remains of a face is ~16–25 colours; the detail is not hidden but gone from the file, so
nothing in the copy brings it back. The exact rule goes
to the copy's manifest (`describe`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kustosz.masking.regions import Box

BLOCKS = 5  # at most this many blocks along a rectangle's longer side
MIN_BLOCK = 8  # px: a small rectangle is one to a few blocks, never a fine mosaic


def describe() -> dict[str, Any]:
    return {"method": "pixelation", "block_px": f"max({MIN_BLOCK}, ceil(longer side / {BLOCKS}))",
            "blocks_along_longer_side_max": BLOCKS,
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
    # blocks of `block` px from the box's top-left corner, the last row and column clipped
    ys, xs = np.arange(0, h, block), np.arange(0, w, block)
    heights, widths = np.diff(np.append(ys, h)), np.diff(np.append(xs, w))
    region = frame[y1:y2, x1:x2]
    sums = np.add.reduceat(np.add.reduceat(region, ys, axis=0, dtype=np.uint32), xs, axis=1)
    means = np.rint(sums / (heights[:, None, None] * widths[None, :, None])).astype(np.uint8)
    mosaic = np.repeat(np.repeat(means, heights, axis=0), widths, axis=1)
    if keep is not None:
        spared = keep[y1:y2, x1:x2]
        if spared.any():
            mosaic[spared] = region[spared]
    region[...] = mosaic
