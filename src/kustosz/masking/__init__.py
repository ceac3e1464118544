"""Masking other people in video handed to a data subject (issue 17 item 2, R6.2): faces
found by CenterFace and the rectangles a person drew are pixelated irreversibly, the
requester's own boxes are spared, and the result is one H.264 file without sound plus a
description of what was done for the copy's manifest.

    mask_video(segments, out, masks=[...], keep=[...], options=Options(every=5))
    mask_period(vault, "kamera-1", start, end, out, ...)   # a camera's stored period
"""

from kustosz.masking.period import mask_period
from kustosz.masking.video import Options, Segment, mask_video

__all__ = ["Options", "Segment", "mask_period", "mask_video"]
