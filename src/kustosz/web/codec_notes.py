"""Why the browser cannot show a camera's picture (issue 64): the cameras' page and the player
name the codec a camera sends (or sent, for the period played back) when no browser plays it
(cameras.codecs), so that the office learns it there, not from a player that stays black.
The words are the template macro `codec_note` (_macros.html)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.cameras.codecs import browser_plays, codec_name
from kustosz.db.cameras import RecorderStatus
from kustosz.db.models import Recording
from kustosz.index.recordings import Span

SESSIONS_LOOKED_AT = 50  # a period's recorder sessions whose codec is read (one row each)


def camera_codec(s: Session, source_id: int) -> str | None:
    """The name of the codec the camera sends now, when no browser plays it; else None."""
    status = s.get(RecorderStatus, source_id)
    codec = status.codec if status is not None else None
    return codec_name(codec) if codec and not browser_plays(codec) else None


def period_codec(s: Session, recs: Iterable[Span]) -> str | None:
    """The name of a codec no browser plays among the recordings of a period (read off one
    recording of each recorder session: a session keeps its codec), else None."""
    first: dict[str | None, int] = {}
    for r in recs:
        first.setdefault(r.session, r.id)
    ids = list(first.values())[:SESSIONS_LOOKED_AT]
    if not ids:
        return None
    for meta in s.execute(select(Recording.meta).where(Recording.id.in_(ids))).scalars():
        codec = (meta or {}).get("codec")
        if codec and not browser_plays(codec):
            return codec_name(codec)
    return None
