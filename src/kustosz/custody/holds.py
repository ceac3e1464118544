"""Holds (zabezpieczenie nagrania, R2.3): material that must outlive its period.

A hold covers sources x a closed time range, or listed items, and lasts until an explicit
release with a reason. Coverage uses closed intervals on purpose: an item touching the edge
of a hold is kept, since keeping one segment too many is harmless and losing one is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Hold, HoldItem, HoldSource, Recording, Source
from kustosz.errors import InputError, NotFound
from kustosz.limits import check_texts


def covered_by_active_hold(rec: type[Recording] = Recording) -> ColumnElement[bool]:
    """SQL condition: some unreleased hold covers the recording row."""
    by_range = exists().where(
        HoldSource.source_id == rec.source_id, Hold.id == HoldSource.hold_id,
        Hold.released_at.is_(None), Hold.start_at <= rec.end_at, Hold.end_at >= rec.start_at)
    by_item = exists().where(
        HoldItem.recording_id == rec.id, Hold.id == HoldItem.hold_id, Hold.released_at.is_(None))
    return by_range | by_item


def place_hold(session: Session, *, sources: list[Source], start: datetime | None,
               end: datetime | None, basis: str, actor: str, case_ref: str | None = None,
               items: list[int] | None = None, at: datetime | None = None) -> Hold:
    check_texts(basis=basis, case_ref=case_ref)
    if not basis or not basis.strip():
        raise InputError("a hold needs a basis (podstawa zabezpieczenia)",
                         pl="Zabezpieczenie wymaga podania podstawy.")
    if not sources and not items:
        raise InputError("a hold must cover at least one source or listed item",
                         pl="Zabezpieczenie musi obejmować co najmniej jedno źródło lub "
                            "nagranie.")
    if sources and (start is None or end is None):
        raise InputError("a hold on sources needs --from and --to",
                         pl="Zabezpieczenie źródeł wymaga podania początku i końca okresu.")
    if start is not None and end is not None and end < start:
        raise InputError(f"the hold ends ({end.isoformat()}) before it starts "
                         f"({start.isoformat()})",
                         pl="Koniec okresu zabezpieczenia jest wcześniejszy niż jego początek.")
    if items:
        found = set(session.execute(select(Recording.id).where(
            Recording.id.in_(items), Recording.state.in_(("stored", "pending")))).scalars())
        missing = sorted(set(items) - found)
        if missing:
            raise NotFound(f"no stored recording with id {', '.join(map(str, missing))}",
                           pl=f"Nie ma przechowywanego nagrania o numerze "
                              f"{', '.join(map(str, missing))}.")
    hold = Hold(basis=basis.strip(), case_ref=case_ref, placed_by=actor,
                placed_at=at or datetime.now(UTC), start_at=start, end_at=end)
    session.add(hold)
    session.flush()
    for source in sources:
        session.add(HoldSource(hold_id=hold.id, source_id=source.id))
    for item in sorted(set(items or [])):
        session.add(HoldItem(hold_id=hold.id, recording_id=item))
    session.flush()
    audit(session, actor, "hold.place", f"hold {hold.id}", {
        "basis": hold.basis, "case_ref": case_ref, "sources": [s.name for s in sources],
        "from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
        "items": sorted(set(items or []))})
    return hold


def release_hold(session: Session, hold_id: int, reason: str, actor: str,
                 at: datetime | None = None) -> Hold:
    check_texts(reason=reason)
    if not reason or not reason.strip():
        raise InputError("releasing a hold needs a reason",
                         pl="Zwolnienie zabezpieczenia wymaga podania przyczyny.")
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound(f"no hold with id {hold_id}",
                       pl=f"Nie ma zabezpieczenia nr {hold_id}.")
    if hold.released_at is not None:
        raise InputError(f"hold {hold_id} was already released on "
                         f"{hold.released_at.isoformat()}",
                         pl=f"Zabezpieczenie nr {hold_id} zostało już zwolnione "
                            f"({hold.released_at.strftime('%d.%m.%Y')}).")
    hold.released_at = at or datetime.now(UTC)
    hold.released_by = actor
    hold.release_reason = reason.strip()
    session.flush()
    audit(session, actor, "hold.release", f"hold {hold_id}", {"reason": hold.release_reason})
    return hold


@dataclass(frozen=True)
class HoldView:
    hold: Hold
    sources: list[str]
    items: list[int]


def list_holds(session: Session, include_released: bool = False) -> list[HoldView]:
    query = select(Hold).order_by(Hold.id)
    if not include_released:
        query = query.where(Hold.released_at.is_(None))
    views = []
    for hold in session.execute(query).scalars():
        names = list(session.execute(
            select(Source.name).join(HoldSource, HoldSource.source_id == Source.id)
            .where(HoldSource.hold_id == hold.id).order_by(Source.name)).scalars())
        items = list(session.execute(
            select(HoldItem.recording_id).where(HoldItem.hold_id == hold.id)).scalars())
        views.append(HoldView(hold, names, items))
    return views


def holds_of(session: Session, rec: Recording) -> list[int]:
    """Ids of the active holds that cover one recording."""
    by_range = select(Hold.id).join(HoldSource, HoldSource.hold_id == Hold.id).where(
        HoldSource.source_id == rec.source_id, Hold.released_at.is_(None),
        Hold.start_at <= rec.end_at, Hold.end_at >= rec.start_at)
    by_item = select(Hold.id).join(HoldItem, HoldItem.hold_id == Hold.id).where(
        HoldItem.recording_id == rec.id, Hold.released_at.is_(None))
    return sorted(set(session.execute(by_range).scalars()) |
                  set(session.execute(by_item).scalars()))




def held_map(session: Session, ids: list[int]) -> dict[int, list[int]]:
    """For many recordings at once: recording id -> ids of the active holds covering it."""
    out: dict[int, set[int]] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        by_range = select(Recording.id, Hold.id).join(
            HoldSource, HoldSource.source_id == Recording.source_id).join(
            Hold, Hold.id == HoldSource.hold_id).where(
            Recording.id.in_(chunk), Hold.released_at.is_(None),
            Hold.start_at <= Recording.end_at, Hold.end_at >= Recording.start_at)
        by_item = select(HoldItem.recording_id, Hold.id).join(
            Hold, Hold.id == HoldItem.hold_id).where(
            HoldItem.recording_id.in_(chunk), Hold.released_at.is_(None))
        for rid, hid in [*session.execute(by_range).all(), *session.execute(by_item).all()]:
            out.setdefault(rid, set()).add(hid)
    return {k: sorted(v) for k, v in out.items()}
