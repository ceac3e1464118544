"""Traces of material that must not outlive it (R2.2): the phone intake's notes about files it
skipped, and the cameras' motion and input intervals (prune_marks).

The phone intake keeps a row per file it had to skip, with the file's spool path: for a PBX
that path holds the numbers of the call (e.g. ``in-600100200-…wav``). Such a row is as personal
as the call's own index entry, so it goes when the line's retention period would have ended
for a recording of that day. Holds do not keep it: it is not material, only a note about a file
that could not be taken in.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, exists, func, select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.calls import PhoneProblem
from kustosz.db.cameras import CameraMark
from kustosz.db.models import Recording, Source
from kustosz.index.expiry import period_for
from kustosz.kinds import SourceKind
from kustosz.policy import Period, Policy
from kustosz.states import RecordingState


def first_kept_day_start(period: Period, now: datetime, policy: Policy) -> datetime:
    """The start of the first local day whose items are still inside ``period`` at ``now``:
    anything before it is past its period."""
    tz = policy.timezone
    day = now.astimezone(tz).date() - timedelta(days=period.max_days() + 2)
    while period.end(day, tz) <= now:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz)


def prune_traces(session: Session, policy: Policy, now: datetime, actor: str) -> int:
    """Delete the phone intake's problem rows past their line's period; returns how many."""
    removed = 0
    for source in session.execute(select(Source).where(Source.kind == SourceKind.PHONE)).scalars():
        cutoff = first_kept_day_start(period_for(source, policy), now, policy)
        result = session.execute(delete(PhoneProblem).where(
            PhoneProblem.source_id == source.id, PhoneProblem.at < cutoff))
        removed += result.rowcount or 0
    if removed:
        audit(session, actor, "retention.traces", "phone_problems", {"removed": removed})
    return removed


def prune_marks(session: Session, policy: Policy, now: datetime, actor: str) -> int:
    """Delete the cameras' motion and input intervals (issue 34) that outlived their video:
    ended on a day whose recordings' period has passed, and overlapping no recording of their
    camera still kept — a hold that keeps the video keeps its marks. Returns how many."""
    removed = 0
    kept = exists().where(
        Recording.source_id == CameraMark.source_id,
        Recording.state.in_((RecordingState.STORED, RecordingState.PENDING,
                             RecordingState.DELETING)),
        Recording.start_at <= func.coalesce(CameraMark.end_at, CameraMark.start_at),
        Recording.end_at >= CameraMark.start_at)
    for source in session.execute(select(Source).where(Source.kind == SourceKind.CAMERA)
                                  ).scalars():
        cutoff = first_kept_day_start(period_for(source, policy), now, policy)
        # an interval never closed (its camera gone before it was) counts from its start
        result = cast("CursorResult[Any]", session.execute(delete(CameraMark).where(and_(
            CameraMark.source_id == source.id,
            func.coalesce(CameraMark.end_at, CameraMark.start_at) < cutoff, ~kept))
            .execution_options(synchronize_session=False)))
        removed += result.rowcount or 0
    if removed:
        audit(session, actor, "retention.traces", "camera_marks", {"removed": removed})
    return removed
