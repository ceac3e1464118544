"""Moving the retention base of material stamped by a clock that was behind.

A forward jump of the server's clock by D means everything it stamped since its previous
jump (or since `serve` started watching) was stamped D too early: the material is D younger
than its index says. Its `start_at` stays as recorded (the clock's own word, and what the
audit chain saw); `retain_from` becomes `start_at + D` and its expiry is counted from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from kustosz.custody.object_lock import lengthen
from kustosz.db.models import Recording, Source
from kustosz.errors import ConfigError
from kustosz.index.expiry import expiry_of
from kustosz.states import RecordingState
from kustosz.vault import Vault


def rebase(vault: Vault, since: datetime, until: datetime, delta_s: float) -> int:
    """Rows taken since ``since`` and stamped no later than ``until`` (readings of the clock
    before the jump) count from ``start_at + delta_s`` unless they already count from later;
    returns how many. A segment the old clock stamped but taken in after the jump is among
    them; material of other kinds stamped with its own, earlier times is too (kept longer)."""
    shift = timedelta(seconds=delta_s)
    table = Recording.__table__
    with vault.transaction() as s:
        sources = {src.id: src for src in s.execute(select(Source)).scalars()}
        changes = []
        for rid, sid, start, base in s.execute(
                select(Recording.id, Recording.source_id, Recording.start_at,
                       Recording.retain_from)
                .where(Recording.ingested_at >= since, Recording.start_at <= until,
                       Recording.state.in_((RecordingState.STORED, RecordingState.PENDING)))):
            later = start + shift
            if base is not None and base >= later:
                continue
            try:
                expires = expiry_of(sources[sid], later, vault.policy)
            except ConfigError:  # no period for the kind: nothing expires it anyway
                expires = None
            changes.append({"rid": rid, "base": later, "exp": expires})
        if changes:
            s.execute(update(table).where(table.c.id == bindparam("rid"))
                      .values(retain_from=bindparam("base"), expires_at=bindparam("exp")),
                      changes)
            # Later ends only: the object store's retention is lengthened with the app's
            # credentials (custody/object_lock.py).
            lengthen(s, [(c["rid"], c["exp"]) for c in changes])
    return len(changes)


def later_start(start: datetime, *readings: datetime | None) -> datetime | None:
    """The latest of the other readings of a start if it is later than ``start``, else None."""
    later = max((r for r in readings if r is not None), default=None)
    return later if later is not None and later > start else None
