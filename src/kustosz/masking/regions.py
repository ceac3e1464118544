"""Rectangles on the picture with a time range: the masks a person draws (bodies, plates,
screens, documents) and the boxes marking the requester, whose face stays visible.

Coordinates are pixels of the recorded picture (x, y of the top-left corner, width, height);
times are seconds from the start of the masked period, ``from_s`` included, ``to_s`` not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kustosz.errors import InputError

# What each kind of rectangle is called in messages (English, Polish in the genitive case
# where "nr N" follows it).
KIND_EN = {"mask": "manual mask", "keep": "requester's box"}
KIND_PL = {"mask": "Maska ręczna", "keep": "Obszar osoby wnioskującej"}


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    w: int
    h: int
    from_s: float
    to_s: float
    note: str = ""  # what it covers ("tablica rejestracyjna", "ekran"): goes to the manifest

    def active(self, t: float) -> bool:
        return self.from_s <= t < self.to_s

    def as_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h,
                "from_s": self.from_s, "to_s": self.to_s, "note": self.note}


def _number(value: Any, what: str, what_pl: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{what} is not a finite number ({value})",
                         pl=f"{what_pl}: wartość „{value}” nie jest liczbą.")
    return float(value)


def parse(items: list[Any] | None, kind: str) -> list[Region]:
    """Rectangles from JSON-able dicts (a job's arguments, a form), checked on their own:
    positive size, corner not negative, a time range that starts at 0 or later and ends
    after it starts. Whether they fit the frame is checked once its size is known
    (`check_in_frame`)."""
    out = []
    for number, item in enumerate(items or [], 1):
        what, what_pl = f"{KIND_EN[kind]} {number}", f"{KIND_PL[kind]} nr {number}"
        if isinstance(item, Region):
            item = item.as_dict()
        if not isinstance(item, dict):
            raise InputError(f"{what} is not a rectangle (x, y, w, h, from_s, to_s)",
                             pl=f"{what_pl} nie jest prostokątem (x, y, w, h, od, do).")
        missing = [k for k in ("x", "y", "w", "h", "from_s", "to_s") if k not in item]
        if missing:
            raise InputError(f"{what} lacks {', '.join(missing)}",
                             pl=f"{what_pl}: brak pól {', '.join(missing)}.")
        x, y, w, h = (_number(item[k], what, what_pl) for k in ("x", "y", "w", "h"))
        t0, t1 = _number(item["from_s"], what, what_pl), _number(item["to_s"], what, what_pl)
        if w < 1 or h < 1:
            raise InputError(f"{what} has no area ({w:g}×{h:g} px); nothing was masked",
                             pl=f"{what_pl} ma zerowy lub ujemny rozmiar ({w:g}×{h:g} px); "
                                "niczego nie zamaskowano.")
        if x < 0 or y < 0:
            raise InputError(f"{what} starts outside the frame (x={x:g}, y={y:g}); nothing "
                             "was masked",
                             pl=f"{what_pl} zaczyna się poza kadrem (x={x:g}, y={y:g}); "
                                "niczego nie zamaskowano.")
        if t0 < 0 or t1 <= t0:
            raise InputError(f"{what}: the time range {t0:g}–{t1:g} s is empty or negative "
                             "(from_s must be 0 or later and to_s after it); nothing was "
                             "masked",
                             pl=f"{what_pl}: przedział czasu {t0:g}–{t1:g} s jest pusty lub "
                                "ujemny (początek od 0 s, koniec po początku); niczego nie "
                                "zamaskowano.")
        note = str(item.get("note") or "")[:200]
        out.append(Region(int(x), int(y), math.ceil(w), math.ceil(h), t0, t1, note))
    return out


def check_in_frame(regions: list[Region], kind: str, width: int, height: int,
                   duration_s: float | None) -> None:
    """A rectangle must lie within the picture, and start within the period when its length
    is known: one that does not was drawn against another camera or period."""
    for number, r in enumerate(regions, 1):
        what, what_pl = f"{KIND_EN[kind]} {number}", f"{KIND_PL[kind]} nr {number}"
        if r.x + r.w > width or r.y + r.h > height:
            raise InputError(
                f"{what} (x={r.x}, y={r.y}, {r.w}×{r.h} px) lies outside the frame "
                f"{width}×{height}; nothing was masked",
                pl=f"{what_pl} (x={r.x}, y={r.y}, {r.w}×{r.h} px) wychodzi poza kadr "
                   f"{width}×{height}; niczego nie zamaskowano.")
        if duration_s is not None and r.from_s >= duration_s:
            raise InputError(
                f"{what} starts at {r.from_s:g} s, after the period's end ({duration_s:g} s); "
                "nothing was masked",
                pl=f"{what_pl} zaczyna się w {r.from_s:g} s, po końcu okresu "
                   f"({duration_s:g} s); niczego nie zamaskowano.")


Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels, x2/y2 exclusive
HEAD_TOP = 0.25
# The chin and neck below a masked face, beside the mosaic's bottom row, are what the output's
# check most often scored as a face (a light block row over a dark collar, 0.2–0.37 on the
# bench's panning clip, so that every copy needed a second masking pass and a second check):
# grown down by this share of the face's height, the first check of that clip finds nothing
# above 0.16. A neck is not how a person is known; masking it costs nothing.
NECK_BELOW = 0.5


def dilate(x1: float, y1: float, x2: float, y2: float, scale: float, width: int,
           height: int) -> Box:
    """The box grown by ``scale`` about its centre (ears, a turned head), and upwards by
    another ``HEAD_TOP`` of its height (CenterFace's box ends at the brow; the hair and the
    head's outline above it are part of how a person is known) and downwards by
    ``NECK_BELOW`` of it (`NECK_BELOW`), clipped to the frame."""
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    hw, hh = (x2 - x1) * scale / 2, (y2 - y1) * scale / 2
    top = cy - hh - (y2 - y1) * HEAD_TOP
    bottom = cy + hh + (y2 - y1) * NECK_BELOW
    return (max(0, math.floor(cx - hw)), max(0, math.floor(top)),
            min(width, math.ceil(cx + hw)), min(height, math.ceil(bottom)))


def as_box(r: Region) -> Box:
    return (r.x, r.y, r.x + r.w, r.y + r.h)
