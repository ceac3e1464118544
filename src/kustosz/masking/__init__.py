"""Masking other people in video handed to a data subject (issue 17 item 2, R6.2): faces
found by CenterFace and the rectangles a person drew are pixelated irreversibly, the
requester's own boxes are spared, and the result is one H.264 file without sound plus a
description of what was done for the copy's manifest.

    mask_video(segments, out, masks=[...], keep=[...], options=Options(every=5))
    mask_period(vault, "kamera-1", start, end, out, ...)   # a camera's stored period

The names load the detector and the video libraries (OpenCV, PyAV, NumPy) when first asked
for, not when the package is imported: every page and command reaches the package through
what names a masking (a copy's check, the job's kind), and most never mask (issue 52 item 7).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kustosz.masking.period import mask_period
    from kustosz.masking.video import Options, Segment, mask_video

__all__ = ["Options", "Segment", "mask_period", "mask_video"]
_HOME = {"Options": "video", "Segment": "video", "mask_video": "video", "mask_period": "period"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
