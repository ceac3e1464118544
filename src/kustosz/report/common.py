"""What the report's sections share: the JSON forms of times and lengths, and the rows of the
period the sections read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kustosz.report.period import ReportPeriod


def utc(value: datetime) -> datetime:
    """Times are kept in UTC; SQLite hands them back without a zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat()


def seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def clipped(start: datetime, end: datetime | None, period: ReportPeriod) -> timedelta:
    """How much of [start, end) lies in the period; an end not yet known runs to its end."""
    lo, hi = max(utc(start), period.lo), min(utc(end) if end else period.hi, period.hi)
    return max(hi - lo, timedelta(0))


def in_period(value: datetime | None, period: ReportPeriod) -> bool:
    return value is not None and period.lo <= utc(value) < period.hi


def counted(values: list[str]) -> dict[str, int]:
    """How many of each, in key order (the JSON must not depend on the order rows came)."""
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
