"""Queries over the index of recorded material."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import UserDefinedType

from kustosz.db.models import Recording, Source
from kustosz.states import RecordingState


def overlapping(source: Source, start: datetime, end: datetime) -> Select[Recording]:
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
    Recording): `session` is the recorder session copied out of meta (migration 0024)."""

    id: int
    start_at: datetime
    end_at: datetime
    session: str | None


_fromisoformat = datetime.fromisoformat


def _sqlite_utc(value: str | None) -> datetime | None:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC); parsing it with its zone in
    # one C call is a quarter of the cost of parsing and then replace(tzinfo=UTC).
    return None if value is None else _fromisoformat(value + "+00:00")


class _AwareUTCType(UserDefinedType[datetime]):
    """An index time read straight as an aware UTC datetime: on PostgreSQL the column is
    turned into timestamptz in SQL (`_AwareUTC`), which psycopg decodes in C, zone included;
    on SQLite the stored text is parsed once (`_sqlite_utc`). Not a DateTime: the dialects
    would put their own DATETIME, with its own parsing, in its place."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TIMESTAMP WITH TIME ZONE"  # never a column's type: only read

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return _sqlite_utc if dialect.name == "sqlite" else None


class _AwareUTC(FunctionElement[datetime]):
    type = _AwareUTCType()
    inherit_cache = True


@compiles(_AwareUTC)
def _aware_utc_plain(element: _AwareUTC, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_AwareUTC, "postgresql")
def _aware_utc_pg(element: _AwareUTC, compiler: SQLCompiler, **kw: Any) -> str:
    # The stored naive UTC read as timestamptz; its zone in Python is the connection's
    # TimeZone, which kustosz.db.engine sets to UTC.
    return f"timezone('UTC', {compiler.process(element.clauses, **kw)})"


def _aware(column: InstrumentedAttribute[datetime | None], name: str) -> ColumnElement[datetime]:
    return _AwareUTC(column).label(name)


def spans(source: Source, start: datetime, end: datetime) -> Select[Any]:
    """`overlapping` as plain columns: listing pages and playlists need only these.

    Every column read is in `ix_recordings_source_span` (migration 0024), so a camera-hour is
    a scan of a few index pages however the rows lie in the table. The rows are the driver's
    with only the SQLite times parsed: the ORM entities cost ten times the query (p99 40 ms vs
    0.75 ms at 10 M rows), and even plain ORM columns with `UTCDateTime` and meta rebuilt per
    row cost 3–6 ms of Python for a camera-hour (bench/retention.py, 2026-11-23).
    """
    return overlapping(source, start, end).with_only_columns(
        Recording.id, _aware(Recording.start_at, "start_at"),
        _aware(Recording.end_at, "end_at"), Recording.session)


def stored(session: Session, source: Source | None = None) -> list[Recording]:
    query = select(Recording).where(Recording.state == RecordingState.STORED)
    if source is not None:
        query = query.where(Recording.source_id == source.id)
    return list(session.execute(query.order_by(Recording.start_at, Recording.id)).scalars())
