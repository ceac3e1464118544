"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for 10M+ rows.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (sortable text on SQLite), returned as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return as_stored(value)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def as_stored(value: datetime | None) -> datetime | None:
    """A time as a `UTCDateTime` column keeps it: naive UTC. A naive time is refused: which
    zone it meant cannot be known."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime; times are UTC-aware inside")
    return value.astimezone(UTC).replace(tzinfo=None)
