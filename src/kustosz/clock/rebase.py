"""Moving the retention base of material stamped by a clock that was behind.

A forward jump of the server's clock by D means everything it stamped since its previous
jump (or since `serve` started watching) was stamped D too early: the material is D younger
than its index says. Its `start_at` stays as recorded (the clock's own word, and what the
audit chain saw); `retain_from` becomes `start_at + D` and its expiry is counted from there.
Where the jump also raised the watch's high-water mark by E, every row taken in before that
jump counts from E later than it did (`raise_older`).

Each move is kept (`clock_rebased`: the value before and the value set, under the jump's id):
a jump forward that a later correction shows to have been wrong is undone from there, by two
people (kustosz.clock.undo). It is one more row written beside each row the batch updates
already (and, on an object store, beside a lock call per object): jumps are rare.

`retain_from`, when set, is the retention base, whether later than `start_at` (a clock found
behind) or earlier (material stamped by a clock an approved undo found ahead).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from kustosz.db.clock import ClockRebased
from kustosz.db.models import Recording, Source
from kustosz.db.tables import table_of
from kustosz.errors import ConfigError
from kustosz.holds.object_lock import lengthen
from kustosz.index.expiry import expiry_of
from kustosz.kinds import SourceKind
from kustosz.states import RecordingState
from kustosz.vault import Vault


class Move(TypedDict):
    """One row's new retention base: the parameters of the batch's UPDATE, and what
    `kept` records."""

    rid: int
    base: datetime  # retain_from set
    exp: datetime | None  # expires_at counted from it (None: no period for the kind)
    was: datetime | None  # retain_from before


def kept(s: Session, jump_id: int | None, changes: list[Move]) -> None:
    """Each move of ``changes`` kept under ``jump_id``."""
    if jump_id is None or not changes:
        return
    s.execute(insert(table_of(ClockRebased)), [
        {"jump_id": jump_id, "recording_id": c["rid"], "retain_from_before": c["was"],
         "retain_from_after": c["base"]} for c in changes])


def rebase(vault: Vault, since: datetime, until: datetime, delta_s: float,
           jump_id: int | None = None, ended_by: datetime | None = None) -> int:
    """Rows taken since ``since`` and stamped no later than ``until`` (readings of the clock
    before the jump) count from ``start_at + delta_s`` unless they already count from later;
    returns how many. A segment the old clock stamped but taken in after the jump is among
    them; material of other kinds stamped with its own, earlier times is too (kept longer).
    ``ended_by``: the latest end the old clock can have given a camera segment (its reading
    now, and the threshold). A segment's start and end are stamped by one clock, and it
    closed before now; one that ends later was stamped by the new clock, recorded after a
    jump the watch read only once it was taken in (a watch that did not read for longer
    than the jump): moved by the jump, it would be kept the jump's size too long."""
    shift = timedelta(seconds=delta_s)
    table = table_of(Recording)
    old_clock = Recording.start_at <= until
    if ended_by is not None:
        old_clock = and_(old_clock, or_(
            Recording.kind != SourceKind.CAMERA, Recording.meta["segment"].as_string().is_(None),
            Recording.end_at.is_(None), Recording.end_at <= ended_by))
    with vault.transaction() as s:
        sources = {src.id: src for src in s.execute(select(Source)).scalars()}
        changes: list[Move] = []
        for rid, sid, start, base in s.execute(
                select(Recording.id, Recording.source_id, Recording.start_at,
                       Recording.retain_from)
                .where(Recording.ingested_at >= since, old_clock,
                       Recording.state.in_((RecordingState.STORED, RecordingState.PENDING)))):
            later = start + shift
            if base is not None and base >= later:
                continue
            try:
                expires = expiry_of(sources[sid], later, vault.policy)
            except ConfigError:  # no period for the kind: nothing expires it anyway
                expires = None
            changes.append({"rid": rid, "base": later, "exp": expires, "was": base})
        if changes:
            s.execute(update(table).where(table.c.id == bindparam("rid"))
                      .values(retain_from=bindparam("base"), expires_at=bindparam("exp")),
                      changes)
            kept(s, jump_id, changes)
            # Later ends only: the object store's retention is lengthened with the app's
            # credentials (holds/object_lock.py).
            lengthen(s, [(c["rid"], c["exp"]) for c in changes])
    return len(changes)


def later_start(start: datetime, *readings: datetime | None) -> datetime | None:
    """The latest of the other readings of a start if it is later than ``start``, else None."""
    later = max((r for r in readings if r is not None), default=None)
    return later if later is not None and later > start else None


RAISE_BATCH = 2000


def raise_older(vault: Vault, mark: datetime, delta_s: float,
                jump_id: int | None = None, new_from: datetime | None = None) -> int:
    """The rows the old clocks stamped count from ``delta_s`` later than they did: the
    high-water mark rose by as much, so every earlier frame's clock was that much further
    behind. They are the rows taken in, or counted from, no later than ``mark`` (the mark
    before the jump, carried on to the watch's reading: no reading of an old clock, and no
    retention base the watch gave, exceeds it, but for a stamp given the larger of two
    frames' lags: its start is below it); a row the new clock stamped and took in
    before the watch noticed the jump is later than it on both (unless taken in within
    ``delta_s`` of the reading, then kept longer). ``new_from``: the earliest reading the
    new clock can have given; a row an old clock stamped (its start no later than the mark)
    whose base lies above the mark but below that — `lag_for` gave its stamp the larger of
    two frames' lags — moves too. Returns how many moved."""
    if delta_s <= 0:
        return 0
    shift = timedelta(seconds=delta_s)
    table = table_of(Recording)
    moved, after = 0, 0
    while True:
        with vault.transaction() as s:
            sources = {src.id: src for src in s.execute(select(Source)).scalars()}
            rows = s.execute(
                select(Recording.id, Recording.source_id, Recording.start_at,
                       Recording.retain_from)
                # A stamp two frames could have read gets the larger lag, which may put its
                # base above the mark though an old clock stamped it (a segment stamped
                # before a jump back, taken in after a jump forward the watch had not read
                # yet: tests/test_clock_jump_property.py); a base the new clock gave is no
                # earlier than ``new_from``.
                .where(Recording.id > after,
                       or_(Recording.ingested_at <= mark, Recording.retain_from <= mark,
                           and_(Recording.start_at <= mark,
                                Recording.retain_from.is_(None) if new_from is None else
                                or_(Recording.retain_from.is_(None),
                                    Recording.retain_from < new_from))),
                       Recording.state.in_((RecordingState.STORED, RecordingState.PENDING)))
                .order_by(Recording.id).limit(RAISE_BATCH)).all()
            if not rows:
                return moved
            changes: list[Move] = []
            for rid, sid, start, base in rows:
                later = (base if base is not None else start) + shift
                try:
                    expires = expiry_of(sources[sid], later, vault.policy)
                except ConfigError:
                    expires = None
                changes.append({"rid": rid, "base": later, "exp": expires, "was": base})
            s.execute(update(table).where(table.c.id == bindparam("rid"))
                      .values(retain_from=bindparam("base"), expires_at=bindparam("exp")),
                      changes)
            kept(s, jump_id, changes)
            lengthen(s, [(c["rid"], c["exp"]) for c in changes])
            moved += len(changes)
            after = rows[-1][0]
