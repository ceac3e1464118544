"""The event index: rows written when a chunk closes, and searches over them and over the
open chunks (`pending`), which hold what arrived since."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kustosz.db.events import MonitoringEvent
from kustosz.db.functions import contains_folded, fold, folded
from kustosz.db.models import Source
from kustosz.ingest.chunks.pending import OpenChunk, OpenQuery, Row, search_with_open
from kustosz.ingest.chunks.spool import record_time
from kustosz.kinds import SourceKind

EXCERPT = 500


def event_row(line: int, r: dict[str, Any]) -> dict[str, Any]:
    """The indexed form of one chunk line; the search of open chunks uses it too, so that an
    event reads (and matches) the same before and after its chunk closes."""
    severity = r.get("severity")
    return {
        "line": line, "at": record_time(r, "at").astimezone(UTC),
        "received_at": datetime.fromisoformat(r["received"]).astimezone(UTC),
        # Host and user names are case-insensitive where they come from (DNS, AD).
        "host": str(r.get("host") or "")[:255].lower(),
        "user": str(r.get("user") or "")[:255].lower(),
        "app": str(r.get("app") or "")[:100],
        "category": str(r.get("category") or "")[:30],
        "severity": severity if isinstance(severity, int) and not isinstance(severity, bool)
        and 0 <= severity <= 7 else None,
        "message": str(r.get("message") or "")[:EXCERPT]}


def index_events(session: Session, source_id: int, recording_id: int,
                 records: list[tuple[int, dict[str, Any]]], _emls: dict[str, int]) -> None:
    rows = [{"recording_id": recording_id, "source_id": source_id, **event_row(line, r)}
            for line, r in records]
    for start in range(0, len(rows), 5000):
        session.execute(insert(MonitoringEvent), rows[start:start + 5000])


def search_events(session: Session, *, host: str | None = None, user: str | None = None,
                  category: str | None = None, source: str | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  text: str | None = None, limit: int = 200,
                  include_open: bool = True) -> list[dict[str, Any]]:
    """Events by their time. With ``include_open`` the open chunks are searched too: their
    rows carry ``pending: True`` and no ``id`` / ``recording_id`` yet."""

    def indexed(s: Session, recordings: Sequence[int] | None) -> list[Row]:
        query = (select(MonitoringEvent, Source.name)
                 .join(Source, Source.id == MonitoringEvent.source_id)
                 .order_by(MonitoringEvent.at, MonitoringEvent.id).limit(limit))
        if recordings is not None:
            query = query.where(MonitoringEvent.recording_id.in_(recordings))
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
            # Any letter case, Polish ones too, on both databases (db/functions.py).
            query = query.where(folded(MonitoringEvent.message).contains(fold(text),
                                                                          autoescape=True))
        return [{"id": e.id, "source": name, "at": e.at, "host": e.host, "user": e.user,
                 "app": e.app, "category": e.category, "severity": e.severity,
                 "message": e.message, "recording_id": e.recording_id, "line": e.line}
                for e, name in s.execute(query)]

    def match(raw: bytes, chunk: OpenChunk, line: int) -> Row | None:
        # Exactly the index query's filters (time aside), on the row the index would hold.
        try:
            r = json.loads(raw)
            e = event_row(line, r)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None  # not a record: closing the chunk skips it too
        if (host and e["host"] != host.lower()) or (user and e["user"] != user.lower()) or \
                (category and e["category"] != category) or \
                (text and not contains_folded(e["message"], text)):
            return None
        return {"id": None, "source": chunk.source, "at": e["at"], "host": e["host"],
                "user": e["user"], "app": e["app"], "category": e["category"],
                "severity": e["severity"], "message": e["message"], "recording_id": None,
                "line": line}

    needles = [v for v in (host and host.lower(), user and user.lower(), category, text) if v]
    q = OpenQuery(SourceKind.ENDPOINT, "at", source, start, end, needles, match)
    return search_with_open(session, q, limit, indexed, include_open)
