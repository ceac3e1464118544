"""The event index: rows written when a chunk closes, and searches over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kustosz.db.events import MonitoringEvent
from kustosz.db.models import Source

EXCERPT = 500


def _time(value: Any, fallback: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(value)
        return at if at.tzinfo is not None else fallback
    except (TypeError, ValueError):
        return fallback


def index_events(session: Session, source_id: int, recording_id: int,
                 records: list[tuple[int, dict[str, Any]]], _emls: dict[str, int]) -> None:
    rows = []
    for line, r in records:
        received = datetime.fromisoformat(r["received"])
        severity = r.get("severity")
        rows.append({
            "recording_id": recording_id, "source_id": source_id, "line": line,
            "at": _time(r.get("at"), received), "received_at": received,
            # Host and user names are case-insensitive where they come from (DNS, AD).
            "host": str(r.get("host") or "")[:255].lower(),
            "user": str(r.get("user") or "")[:255].lower(),
            "app": str(r.get("app") or "")[:100],
            "category": str(r.get("category") or "")[:30],
            "severity": severity if isinstance(severity, int) and 0 <= severity <= 7 else None,
            "message": str(r.get("message") or "")[:EXCERPT]})
    for start in range(0, len(rows), 5000):
        session.execute(insert(MonitoringEvent), rows[start:start + 5000])


def search_events(session: Session, *, host: str | None = None, user: str | None = None,
                  category: str | None = None, source: str | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  text: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = (select(MonitoringEvent, Source.name).join(Source,
                                                        Source.id == MonitoringEvent.source_id)
             .order_by(MonitoringEvent.at, MonitoringEvent.id).limit(limit))
    if host:
        query = query.where(MonitoringEvent.host == host.lower())
    if user:
        query = query.where(MonitoringEvent.user == user.lower())
    if category:
        query = query.where(MonitoringEvent.category == category)
    if source:
        query = query.where(Source.name == source)
    if start is not None:
        query = query.where(MonitoringEvent.at >= start)
    if end is not None:
        query = query.where(MonitoringEvent.at <= end)
    if text:
        query = query.where(MonitoringEvent.message.contains(text, autoescape=True))
    return [{"id": e.id, "source": name, "at": e.at, "host": e.host, "user": e.user,
             "app": e.app, "category": e.category, "severity": e.severity,
             "message": e.message, "recording_id": e.recording_id, "line": e.line}
            for e, name in session.execute(query)]
