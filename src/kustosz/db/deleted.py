"""What retention deleted, read from both of its records (issue 68 item 3).

A per-item sweep leaves one `deletions` row per item; a whole local day swept as a partition
(PostgreSQL, `retention.day_sweep`) leaves one `deletion_days` row per source and day, whose
gzip list holds the items, one line each. Every reader of deletions — the accountability
report, the forecast, the daily digest, the backup's journal — reads them here, so a day
swept whole reads the same as the same day swept row by row. Day records take their ids from
the `deletions` sequence (migration 0062), so "deleted after id N" is one mark for both.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select
from sqlalchemy.orm import Session

from kustosz.db.models import Deletion, DeletionDay

# id:sha256:size:start:end:entries — times in UTC ISO form (so with colons: the pattern, not
# a split, takes them apart), entries empty for anything but a chunk.
LINE = re.compile(r"^(\d+):([0-9a-f]*):(\d+):(.+?[+-]\d\d:\d\d):(.+?[+-]\d\d:\d\d):(\d*)$")


def list_line(rid: int, sha: str | None, size: int, start: datetime, end: datetime,
              entries: int | None = None) -> str:
    """One deleted item of a day record's list."""
    return (f"{rid}:{sha or ''}:{size}:{start.isoformat()}:{end.isoformat()}:"
            f"{'' if entries is None else entries}\n")


@dataclass(frozen=True)
class DeletedItem:
    """One deleted item, from either record; ``id`` is its record's (a day's items share
    their day record's), ``day`` whether it went with a whole day."""

    id: int
    recording_id: int
    source_id: int
    sweep_id: int
    start_at: datetime
    end_at: datetime
    size: int
    sha256: str | None
    rule: str
    deleted_at: datetime
    entries: int | None
    day: bool = False


def _item(d: Deletion) -> DeletedItem:
    return DeletedItem(d.id, d.recording_id, d.source_id, d.sweep_id, d.start_at, d.end_at,
                       d.size, d.sha256, d.rule, d.deleted_at, d.entries)


def day_items(row: DeletionDay) -> Iterator[DeletedItem]:
    """The items of a day record, from its list (ValueError on a line not of the format)."""
    for line in gzip.decompress(row.listing).decode().splitlines():
        m = LINE.match(line)
        if m is None:
            raise ValueError(f"deletion record {row.id}: a line not of the list's format")
        rid, sha, size, start, end, entries = m.groups()
        yield DeletedItem(row.id, int(rid), row.source_id, row.sweep_id,
                          datetime.fromisoformat(start), datetime.fromisoformat(end),
                          int(size), sha or None, row.rule, row.deleted_at,
                          int(entries) if entries else None, True)


@dataclass(frozen=True)
class Which:
    """Which deletions: every bound optional; ``start_before`` / ``end_after``: the item
    overlaps that span; ``deleted_*``: recorded in it; ``after_id``: recorded after a mark."""

    source_id: int | None = None
    start_before: datetime | None = None
    end_after: datetime | None = None
    deleted_from: datetime | None = None
    deleted_before: datetime | None = None
    after_id: int | None = None


def _where(w: Which, model: Any, start: Any, end: Any) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    pairs: list[tuple[Any, Any, Any]] = [
        (w.source_id, model.source_id, "eq"), (w.start_before, start, "lt"),
        (w.end_after, end, "gt"),
        (w.deleted_from, model.deleted_at, "ge"), (w.deleted_before, model.deleted_at, "lt"),
        (w.after_id, model.id, "gt")]
    for value, column, op in pairs:
        if value is not None:
            out.append({"eq": column.__eq__, "lt": column.__lt__, "gt": column.__gt__,
                        "ge": column.__ge__}[op](value))
    return out


def _fits(w: Which, d: DeletedItem) -> bool:
    return ((w.start_before is None or d.start_at < w.start_before)
            and (w.end_after is None or d.end_at > w.end_after))


def deleted_items(session: Session, which: Which) -> list[DeletedItem]:
    """The deleted items ``which`` names, from both records, by record id then recording id.
    A day record is read (its list decompressed) only when its span can hold one."""
    items = [_item(d) for d in session.execute(select(Deletion).where(
        *_where(which, Deletion, Deletion.start_at, Deletion.end_at))).scalars()]
    for row in session.execute(select(DeletionDay).where(*_where(
            which, DeletionDay, DeletionDay.first_start, DeletionDay.last_end))).scalars():
        items += [d for d in day_items(row) if _fits(which, d)]
    items.sort(key=lambda d: (d.id, d.recording_id))
    return items


def deleted_totals(session: Session, which: Which) -> tuple[int, int, set[int]]:
    """How many items, their bytes and the sweeps that deleted them, for deletions chosen by
    when they were recorded and the mark only (a day record's totals are its row's)."""
    assert which.start_before is None and which.end_after is None
    count, size = 0, 0
    sweeps: set[int] = set()
    for model, items in ((Deletion, func.count()), (DeletionDay, func.sum(DeletionDay.count))):
        n, b = session.execute(select(func.coalesce(items, 0), func.coalesce(
            func.sum(model.size), 0)).where(*_where(which, model, None, None))).one()
        count, size = count + int(n), size + int(b)
        sweeps |= set(session.execute(select(model.sweep_id).distinct().where(
            *_where(which, model, None, None))).scalars())
    return count, size, sweeps


def bytes_recorded_since(session: Session, since: datetime) -> int:
    """The bytes of deleted items recorded (started) at or after ``since``: whole day records
    by their row, a day that straddles ``since`` by its list."""
    size = int(session.execute(select(func.coalesce(func.sum(Deletion.size), 0)).where(
        Deletion.start_at >= since)).scalar_one())
    size += int(session.execute(select(func.coalesce(func.sum(DeletionDay.size), 0)).where(
        DeletionDay.first_start >= since)).scalar_one())
    for row in session.execute(select(DeletionDay).where(and_(
            DeletionDay.first_start < since, DeletionDay.last_end > since))).scalars():
        size += sum(d.size for d in day_items(row) if d.start_at >= since)
    return size


def last_id(conn: Session | Connection) -> int:
    """The highest id of either record: the mark a backup's journal starts after."""
    return max(conn.execute(select(func.max(Deletion.id))).scalar() or 0,
               conn.execute(select(func.max(DeletionDay.id))).scalar() or 0)
