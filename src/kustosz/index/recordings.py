"""Queries over the index of recorded material."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source
from kustosz.states import RecordingState


def overlapping(source: Source, start: datetime, end: datetime) -> Select[tuple[Recording]]:
    """Stored items of one source that overlap [start, end].

    The lower bound on start_at (start minus the longest item the source ever had) keeps this
    an index range scan on (source_id, start_at) however long the history is.
    """
    earliest = start - timedelta(seconds=source.max_duration_s)
    return (select(Recording)
            .where(Recording.source_id == source.id, Recording.state == RecordingState.STORED,
                   Recording.start_at >= earliest, Recording.start_at <= end,
                   Recording.end_at >= start)
            .order_by(Recording.start_at))


class Span(Protocol):
    """What a timeline or a playlist needs of a stored item (a Row of `spans`, or a
    Recording)."""

    id: int
    start_at: datetime
    end_at: datetime
    meta: dict[str, Any] | None


def spans(source: Source, start: datetime, end: datetime) -> Select[Any]:
    """`overlapping` as plain columns: listing pages and playlists need only these, and
    building an ORM object per row cost ten times the query itself (bench/retention.py: p99
    40 ms as entities vs 0.75 ms for the SQL at 10 M rows)."""
    return overlapping(source, start, end).with_only_columns(
        Recording.id, Recording.start_at, Recording.end_at, Recording.meta)


def stored(session: Session, source: Source | None = None) -> list[Recording]:
    query = select(Recording).where(Recording.state == RecordingState.STORED)
    if source is not None:
        query = query.where(Recording.source_id == source.id)
    return list(session.execute(query.order_by(Recording.start_at, Recording.id)).scalars())
