"""The hold-coverage rule (R2.3, DESIGN invariant 1), written once.

A hold covers a recording when the hold is active (not released) and either
  * the recording's source is one of the hold's sources and the recording's [start, end]
    touches the hold's closed range [start, end] (touching the edge counts: keeping one
    segment too many is harmless, losing one is not), or
  * the recording is one of the hold's listed items.

`range_covers` and `item_covers` state this once over abstract operations; `SQL` turns them
into SQLAlchemy conditions (the sweep, disk pressure, crash recovery, the copies' destruction
and the material list all select through them) and `PY` into plain Python truth values
(`covering`, used where the holds are already in memory and by the property test, which
checks that both readings agree on random holds and recordings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select, true
from sqlalchemy.orm import Session

from kustosz.db.models import Hold, HoldItem, HoldSource, Recording


@dataclass(frozen=True)
class Ops:
    """How one reading of the rule spells "all of", "equal", "not after" and "not set"."""
    all: Callable[..., Any]
    eq: Callable[[Any, Any], Any]
    le: Callable[[Any, Any], Any]
    unset: Callable[[Any], Any]


# SQL: NULL compares as unknown, so a range hold without times covers nothing by range.
SQL = Ops(all=and_, eq=lambda a, b: a == b, le=lambda a, b: a <= b,
          unset=lambda col: col.is_(None))
# Python: the same, with None comparing as false rather than raising.
PY = Ops(all=lambda *terms: all(terms), eq=lambda a, b: a is not None and a == b,
         le=lambda a, b: a is not None and b is not None and a <= b,
         unset=lambda value: value is None)


def range_covers(ops: Ops, *, hold_source: Any, hold_start: Any, hold_end: Any,
                 released_at: Any, rec_source: Any, rec_start: Any, rec_end: Any) -> Any:
    """One (hold, source) pair covers a recording by its time range."""
    return ops.all(ops.eq(hold_source, rec_source), ops.unset(released_at),
                   ops.le(hold_start, rec_end), ops.le(rec_start, hold_end))


def item_covers(ops: Ops, *, hold_item: Any, released_at: Any, rec_id: Any) -> Any:
    """One (hold, listed item) pair covers a recording by naming it."""
    return ops.all(ops.eq(hold_item, rec_id), ops.unset(released_at))


# --- SQL -------------------------------------------------------------------------------------

def _by_range(rec: Any) -> ColumnElement[bool]:
    """``rec`` is the Recording class, an alias of it, or one loaded row (values are bound)."""
    return and_(Hold.id == HoldSource.hold_id, range_covers(
        SQL, hold_source=HoldSource.source_id, hold_start=Hold.start_at, hold_end=Hold.end_at,
        released_at=Hold.released_at, rec_source=rec.source_id, rec_start=rec.start_at,
        rec_end=rec.end_at))


def _by_item(rec: Any) -> ColumnElement[bool]:
    return and_(Hold.id == HoldItem.hold_id, item_covers(
        SQL, hold_item=HoldItem.recording_id, released_at=Hold.released_at, rec_id=rec.id))


def any_hold_active() -> ColumnElement[bool]:
    """SQL condition: some hold is active (not released). With none, `covered_by_active_hold`
    is false for every row, so callers ask this one look first and skip the per-row joins;
    one spelling, so the shortcut's "active" is always the rule's "not released"."""
    return exists().where(Hold.released_at.is_(None))


def hold_active(session: Session) -> bool:
    """`any_hold_active` asked on its own, in the session's transaction."""
    return bool(session.execute(select(any_hold_active())).scalar_one())


def covered_by_active_hold(rec: type[Recording] = Recording) -> ColumnElement[bool]:
    """SQL condition: some unreleased hold covers the recording row."""
    return exists().where(_by_range(rec)) | exists().where(_by_item(rec))


def covered_by_hold(hold_id: int, rec: type[Recording] = Recording) -> ColumnElement[bool]:
    """SQL condition: the one hold ``hold_id``, if still active, covers the recording row
    (the material whose objects it puts under legal hold)."""
    return exists().where(_by_range(rec), Hold.id == hold_id) | \
        exists().where(_by_item(rec), Hold.id == hold_id)


def holds_of(session: Session, rec: Recording) -> list[int]:
    """Ids of the active holds that cover one recording."""
    found = set(session.execute(select(Hold.id).where(_by_range(rec))).scalars())
    found |= set(session.execute(select(Hold.id).where(_by_item(rec))).scalars())
    return sorted(found)


def held_map(session: Session, ids: list[int]) -> dict[int, list[int]]:
    """For many recordings at once: recording id -> ids of the active holds covering it."""
    # Most vaults have no active hold most of the time, and every intake asks twice (issue 68
    # item 4: the two joins were ~1.4 ms of CPU a file, this look ~0.2): none, none covers.
    if not hold_active(session):
        return {}
    out: dict[int, set[int]] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        pairs = [*session.execute(select(Recording.id, Hold.id).where(
                     Recording.id.in_(chunk), _by_range(Recording))).all(),
                 *session.execute(select(Recording.id, Hold.id).where(
                     Recording.id.in_(chunk), _by_item(Recording))).all()]
        for rid, hid in pairs:
            out.setdefault(rid, set()).add(hid)
    return {k: sorted(v) for k, v in out.items()}


# --- Python ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldFacts:
    """What the rule needs to know of one hold."""
    id: int
    sources: frozenset[int]
    items: frozenset[int]
    start_at: datetime | None
    end_at: datetime | None
    released_at: datetime | None = None


@dataclass(frozen=True)
class ItemFacts:
    """What the rule needs to know of one recording."""
    id: int
    source_id: int
    start_at: datetime
    end_at: datetime


def covers(hold: HoldFacts, rec: ItemFacts) -> bool:
    """Python reading of the rule for one hold and one recording. Of the hold's sources and
    items only the recording's own can be equal to it, so the rule is asked of that one, found
    by the sets' look-up: asked of every listed item, a sweep of 135 000 recordings past holds
    listing 15 000 items made 13.5 M calls (bench/README.md, retention, 2026-12-02)."""
    return (rec.source_id in hold.sources and range_covers(
                PY, hold_source=rec.source_id, hold_start=hold.start_at, hold_end=hold.end_at,
                released_at=hold.released_at, rec_source=rec.source_id,
                rec_start=rec.start_at, rec_end=rec.end_at)) or \
        (rec.id in hold.items and item_covers(PY, hold_item=rec.id,
                                              released_at=hold.released_at, rec_id=rec.id))


def covering(holds: Iterable[HoldFacts], rec: ItemFacts) -> list[int]:
    """Ids of the holds (in memory) that cover one recording."""
    return sorted(h.id for h in holds if covers(h, rec))


def active_holds(session: Session, at: datetime | None = None) -> list[HoldFacts]:
    """Every unreleased hold, as facts for `covering`; with ``at``, the holds in force then
    (placed before it, not released by it), as unreleased facts (the accountability report)."""
    sources: dict[int, set[int]] = {}
    items: dict[int, set[int]] = {}
    for hid, sid in session.execute(select(HoldSource.hold_id, HoldSource.source_id)):
        sources.setdefault(hid, set()).add(sid)
    for hid, rid in session.execute(select(HoldItem.hold_id, HoldItem.recording_id)):
        items.setdefault(hid, set()).add(rid)
    which = Hold.released_at.is_(None) if at is None else and_(
        Hold.placed_at < at, Hold.released_at.is_(None) | (Hold.released_at >= at))
    return [HoldFacts(h.id, frozenset(sources.get(h.id, ())), frozenset(items.get(h.id, ())),
                      h.start_at, h.end_at, h.released_at if at is None else None)
            for h in session.execute(select(Hold).where(which).order_by(Hold.id)).scalars()]


# The coverage rule without "the hold is not released": what a released hold covered.
_EVER = replace(SQL, unset=lambda _col: true())


def covered_ever_by(hold_id: int) -> ColumnElement[bool]:
    """SQL condition: the hold ``hold_id`` covers (or, released, covered) the recording."""
    by_range = and_(Hold.id == HoldSource.hold_id, range_covers(
        _EVER, hold_source=HoldSource.source_id, hold_start=Hold.start_at,
        hold_end=Hold.end_at, released_at=Hold.released_at, rec_source=Recording.source_id,
        rec_start=Recording.start_at, rec_end=Recording.end_at))
    by_item = and_(Hold.id == HoldItem.hold_id, item_covers(
        _EVER, hold_item=HoldItem.recording_id, released_at=Hold.released_at,
        rec_id=Recording.id))
    return exists().where(by_range, Hold.id == hold_id) | \
        exists().where(by_item, Hold.id == hold_id)
