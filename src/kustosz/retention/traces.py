"""Traces of material that must not outlive it (R2.2).

The phone intake keeps a row per file it had to skip, with the file's spool path: for a PBX
that path holds the numbers of the call (e.g. ``in-600100200-…wav``). Such a row is as personal
as the call's own index entry, so it goes when the line's retention period would have ended
for a recording of that day. Holds do not keep it: it is not material, only a note about a file
that could not be taken in.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.calls import PhoneProblem
from kustosz.db.models import Source
from kustosz.index.expiry import period_for
from kustosz.kinds import SourceKind
from kustosz.policy import Period, Policy


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
