"""Queries over the index of recorded material."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source


def overlapping(source: Source, start: datetime, end: datetime) -> Select[tuple[Recording]]:
    """Stored items of one source that overlap [start, end].

    The lower bound on start_at (start minus the longest item the source ever had) keeps this
    an index range scan on (source_id, start_at) however long the history is.
    """
    earliest = start - timedelta(seconds=source.max_duration_s)
    return (select(Recording)
            .where(Recording.source_id == source.id, Recording.state == "stored",
                   Recording.start_at >= earliest, Recording.start_at <= end,
                   Recording.end_at >= start)
            .order_by(Recording.start_at))


def stored(session: Session, source: Source | None = None) -> list[Recording]:
    query = select(Recording).where(Recording.state == "stored")
    if source is not None:
        query = query.where(Recording.source_id == source.id)
    return list(session.execute(query.order_by(Recording.start_at, Recording.id)).scalars())
