"""A camera the vault knows is silent, and what its live view will show (issue 65 item 1).

The finding: the dashboard offered "Podgląd na żywo" on the very alarm that said the camera was
dead, and the player then showed a spinner at 0:00 with no words. What the vault knows is the
recorder's: its open gap (since when, and the cause the camera_down alarm words too — the same
row /cameras draws as "— trwa"), or, where no gap row could be written, its status "down". A
gap for a full disk is not silence: the camera still sends, only the disk refuses.

Every way into the live view — the dashboard's alarm, /cameras, the live view's start form and
the player itself — says the same sentence next to its button (`silence_note`), and the player
says `silence_said` when its picture does not come (web/live_state.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.states import RecorderState
from kustosz.web.common import TEMPLATES, Ctx
from kustosz.web.i18n import translate
from kustosz.web.timeline_gaps import NOT_RECORDING

# Causes where the camera itself does not send: its live view cannot show a picture either.
# The others (the recorder's own trouble) leave the camera perhaps sending.
CAMERA_SIDE = frozenset({"auth_failed", "unreachable", "not_found", "no_video", "stream_ended"})
NOT_SILENCE = frozenset({"disk_full"})  # the camera sends; the disk refuses what it sent
SINCE_FORMAT = "%d.%m.%Y %H:%M"  # as the camera_down alarm words it (ingest/camera/health.py)

SILENT_PL = "Kamera nie przesyła obrazu od {since} (przyczyna: {why})."
NOT_RECORDING_PL = "Kamera nie nagrywa od {since} (przyczyna: {why})."
WILL_SHOW_PL = ("Podgląd pokaże ten komunikat zamiast obrazu i sam połączy się ponownie, gdy "
                "kamera wróci.")
MAY_SHOW_PL = ("Podgląd może mimo to pokazać obraz; jeśli kamera nie odpowie, odtwarzacz to "
               "powie.")


@dataclass(frozen=True)
class Silence:
    """Since when the camera has not recorded, and why (a gap cause of gap_causes)."""

    since: datetime
    why_pl: str
    camera_side: bool


def silence_of(s: Session, source_id: int) -> Silence | None:
    """The camera's silence as the recorder left it in the database, or None."""
    gap = s.execute(select(Gap).where(Gap.source_id == source_id, Gap.end_at.is_(None))
                    .order_by(Gap.start_at).limit(1)).scalars().first()
    if gap is not None:
        if gap.cause in NOT_SILENCE:
            return None
        return Silence(gap.start_at, CAUSES_PL.get(gap.cause, gap.cause), gap.cause in CAMERA_SIDE)
    status = s.get(RecorderStatus, source_id)
    if status is not None and status.state == RecorderState.DOWN:
        return Silence(status.since, NOT_RECORDING[RecorderState.DOWN], False)
    return None


def silence_said(silence: Silence, ctx: Ctx) -> str:
    """The camera's silence in the reader's language: since when (the office's time), why."""
    since = silence.since.astimezone(ctx.vault.policy.timezone).strftime(SINCE_FORMAT)
    return translate(SILENT_PL if silence.camera_side else NOT_RECORDING_PL, ctx.lang,
                     since=since, why=translate(silence.why_pl, ctx.lang))


def silence_note(silence: Silence, ctx: Ctx) -> str:
    """The note beside a live-view button: the silence, and what the live view will show."""
    return f"{silence_said(silence, ctx)} " + translate(
        WILL_SHOW_PL if silence.camera_side else MAY_SHOW_PL, ctx.lang)


TEMPLATES.env.globals["silence_note"] = silence_note
TEMPLATES.env.globals["silence_said"] = silence_said
