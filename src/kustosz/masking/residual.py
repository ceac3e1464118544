"""What the output's check (`video._verify`) found, for the copy and its reviewer (issue 28
item 1): whether a masked copy may be offered for review at all, why not in Polish and
English, the rows the review page shows (the frames with the highest residual detection
scores) and each such frame as a small picture with the face found outlined.

The pictures are cut from the copy's own masked file when asked for, never stored beside it:
they are media, served only through the media gate (web/residual_pages.py), each an access
record."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kustosz.errors import InputError

STATE = "residual"  # the copy's review_state when the check found a face (custody.copies)
THUMB_WIDTH = 320  # px of a residual frame's picture on the review page


def verification(source: dict[str, Any]) -> dict[str, Any] | None:
    """The check's record of a copy's source (its manifest entry's "masking"), or None."""
    m = source.get("masking") or {}
    v = m.get("verification")
    return v if isinstance(v, dict) else None


def failed(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The masked files whose check found a face other than the requester's, or that were
    never checked (a masked file is checked, not assumed clean)."""
    out = []
    for m in media:
        if "masking" not in m:
            continue
        v = verification(m)
        if v is None or not v.get("passed"):
            out.append(m)
    return out


def reason(bad: list[dict[str, Any]], period_start: datetime, tz: Any) -> tuple[str, str]:
    """Why the copy is withheld from review: (English, Polish), naming each camera, how many
    frames still hold a face, and the worst moment (wall-clock time in the office's zone)."""
    en, pl = [], []
    for m in bad:
        v = verification(m)
        name = str((m.get("source") or {}).get("name") or m.get("name") or m.get("path"))
        if v is None:
            en.append(f"{name}: the masked file was not checked")
            pl.append(f"{name}: zamaskowanego nagrania nie sprawdzono")
            continue
        if v.get("frames_match_the_file") is False:
            en.append(f"{name}: the frames checked are not the masked file's frames")
            pl.append(f"{name}: sprawdzone klatki różnią się od klatek zamaskowanego nagrania")
            continue
        worst = max(v.get("worst_frames") or [{"t": 0.0, "score": 0.0}],
                    key=lambda w: w["score"])
        at = (period_start + timedelta(seconds=float(worst["t"]))).astimezone(tz)
        score = f"{worst['score']:.2f}"
        en.append(f"{name}: the check found a face other than the requester's on "
                  f"{v.get('frames_with_residual', 0)} of {v.get('frames_checked', 0)} frames "
                  f"(highest score {score} at {at:%H:%M:%S})")
        pl.append(f"{name}: sprawdzenie wykryło twarz innej osoby niż wnioskująca w "
                  f"{v.get('frames_with_residual', 0)} z {v.get('frames_checked', 0)} klatek "
                  f"(najwyższy wynik {score.replace('.', ',')} o {at:%H:%M:%S})")
    return (_EN_START + "; ".join(en)
            + ". Add manual masks over those faces (or correct the requester's box) and "
              "make the copy again.",
            "Zamaskowanej kopii nie przekazano do przeglądu: " + "; ".join(pl)
            + ". Dodaj maski ręczne na te twarze (albo popraw obszar osoby wnioskującej) i "
              "sporządź kopię ponownie.")


_EN_START = "the masked copy is not offered for review: "
_BETWEEN = " / "  # the copy row keeps both halves, Polish first (copy.review_reason)


def stored_reason(en: str, pl: str) -> str:
    """`reason`'s two halves as the copy row keeps them: one column, Polish first."""
    return f"{pl}{_BETWEEN}{en}"


def reason_in(stored: str, lang: str) -> str:
    """The half of a stored reason in ``lang`` ("pl" or "en"): a page speaks one language
    (issue 50 item 6). Split where the English half begins, not at the first " / ": a camera's
    name may hold one. Text of any other shape is returned as it is."""
    pl, found, en = stored.partition(_BETWEEN + _EN_START)
    if not found:
        return stored
    return _EN_START + en if lang == "en" else pl


def rows(copy: Any, video_paths: list[str], tz: Any) -> list[dict[str, Any]]:
    """For the review page: per masked file, the check's figures and its worst frames, each
    with the wall-clock time and the number of its picture (`thumbnail`)."""
    out = []
    start = copy.start_at
    for src in copy.sources or []:
        v = verification(src)
        if v is None or src.get("path") not in video_paths:
            continue
        frames = []
        for k, w in enumerate(v.get("worst_frames") or [], 1):
            at = (start + timedelta(seconds=float(w["t"]))).astimezone(tz)
            frames.append({"k": k, "frame": w["frame"], "clock": at.strftime("%H:%M:%S"),
                           "offset": f"{float(w['t']):.2f}".replace(".", ","),
                           "score": f"{float(w['score']):.2f}".replace(".", ","),
                           "residual": bool(w.get("residual"))})
        out.append({"file": video_paths.index(src["path"]) + 1, "path": src["path"],
                    "source": src.get("name") or src["path"], "passed": bool(v.get("passed")),
                    "checked": v.get("frames_checked", 0),
                    "with_residual": v.get("frames_with_residual", 0),
                    "threshold": f"{float(v.get('threshold', 0)):.2f}".replace(".", ","),
                    "floor": f"{float(v.get('floor', 0)):.2f}".replace(".", ","),
                    "frames": frames})
    return out


def worst_frame(source: dict[str, Any], k: Any) -> dict[str, Any]:
    """The ``k``-th (1-based) worst frame the check recorded for ``source``."""
    v = verification(source) or {}
    frames = v.get("worst_frames") or []
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(frames):
        raise InputError(f"the check recorded no frame number {k} for this file",
                         pl=f"Sprawdzenie nie zapisało klatki nr {k} dla tego nagrania.")
    return frames[k - 1]


def thumbnail(path: Path, frame: int, box: list[int]) -> bytes:
    """Frame number ``frame`` of the masked file (counted from 0, as the check counted), the
    face the check found outlined in red, at most `THUMB_WIDTH` wide, as JPEG."""
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise InputError(f"no frame {frame!r}",
                         pl=f"Nie ma klatki „{frame}”.")
    # The video libraries load when a thumbnail is drawn: the rest of this module is read by
    # every page that names a copy's check.
    import av  # noqa: PLC0415
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    picture: np.ndarray | None = None
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate or 25)
        # the masked file's frame n is at n / fps (video._Encoder): seek to the key frame
        # before it, then decode up to it
        if frame > 0 and stream.time_base:
            c.seek(int(frame / fps / stream.time_base), stream=stream, backward=True)
        for decoded in c.decode(stream):
            if decoded.time is None:
                continue
            at = round(decoded.time * fps)
            if at == frame:
                picture = decoded.to_ndarray(format="bgr24")
                break
            if at > frame:
                break
    if picture is None:
        raise InputError(f"the masked file has no frame {frame}",
                         pl=f"Zamaskowane nagranie nie ma klatki nr {frame}.")
    x1, y1, x2, y2 = (int(v) for v in box)
    height, width = picture.shape[:2]
    line = max(2, math.ceil(width / 320))
    cv2.rectangle(picture, (x1 - line, y1 - line), (x2 + line, y2 + line), (0, 0, 255), line)
    if width > THUMB_WIDTH:
        picture = cv2.resize(picture, (THUMB_WIDTH, round(height * THUMB_WIDTH / width)),
                             interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return jpeg.tobytes()
