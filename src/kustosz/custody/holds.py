"""Holds (zabezpieczenie nagrania, R2.3): material that must outlive its period.

A hold covers sources x a closed time range, or listed items, and lasts until an explicit
release with a reason. Coverage uses closed intervals on purpose: an item touching the edge
of a hold is kept, since keeping one segment too many is harmless and losing one is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Hold, HoldItem, HoldSource, Recording, Source
from kustosz.errors import InputError, NotFound

# The coverage rule lives in coverage.py; callers have always found it here.
from kustosz.holds.coverage import (  # noqa: F401
    covered_by_active_hold,
    held_map,
    holds_of,
)
from kustosz.holds.object_lock import hold_placed, hold_released
from kustosz.limits import check_texts
from kustosz.states import RecordingState


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
            Recording.id.in_(items),
            Recording.state.in_((RecordingState.STORED, RecordingState.PENDING)))).scalars())
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
    # The object store's legal hold (no-op on the local folder): what a running sweep may have
    # chosen now, the rest by a job queued once this commits (holds/object_lock.py).
    hold_placed(session, hold.id, actor)
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
    hold_released(session, hold_id, actor)  # a job, once this commits: where no other covers
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
