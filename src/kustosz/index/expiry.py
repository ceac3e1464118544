"""When each item must be gone: the source's period counted from the local day of recording."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import CursorResult, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kustosz.db.models import Recording, Source
from kustosz.errors import ConfigError
from kustosz.holds import object_lock
from kustosz.holds.object_lock import lockable_store
from kustosz.policy import Period, Policy
from kustosz.policy.periods import local_day, never_longer
from kustosz.policy.video_law import capped_end
from kustosz.words import period_pl


def period_for(source: Source, policy: Policy) -> Period:
    if source.retention:
        return Period.parse(source.retention)
    return policy.retention_for(source.kind)


def kept_until(kind: str, period: Period, day: date, policy: Policy) -> datetime:
    """When material of ``kind`` recorded on the local ``day`` must be gone (capped_end)."""
    return capped_end(kind, period, day, policy.timezone)


def expiry_of(source: Source, start_at: datetime, policy: Policy) -> datetime:
    return kept_until(source.kind, period_for(source, policy),
                      local_day(start_at, policy.timezone), policy)


def check_override(kind: str, override: Period, policy: Policy) -> None:
    """A source may keep material shorter than the office's rule, never longer, from any day
    of recording (k.c. art. 111-112: "31 days" is longer than "1 month" from 31 January)."""
    rule = policy.retention_for(kind)
    if not never_longer(override, rule):
        raise ConfigError(f"retention {override} for this source is longer than the office's "
                          f"rule for {kind} material ({rule})",
                          pl=f"Okres przechowywania {period_pl(override)} dla tego źródła jest "
                             f"dłuższy niż przewiduje regulamin urzędu dla tego rodzaju "
                             f"nagrań ({period_pl(rule)}).")


REDATE_BATCH = 1000  # rows read at once to lengthen their objects' retention (lockable store)


def redate_all(session: Session, policy: Policy, batch: int = REDATE_BATCH) -> int:
    """Recompute expiry of all stored material after a policy change; returns rows changed.
    On a store with a lock each object's retention is lengthened where its end moved later;
    where it moved earlier the object keeps the longer date until two people approve the
    shorter period (kustosz.retention.shorten, issue 28 item 5): the sweep has no governance
    bypass, and until then the audit log's record keeps the material too.

    The rows whose end moves are read a page of ``batch`` at a time (keyset on the id, within
    one source's day), never the whole index at once: a vault of years holds millions."""

    lockable = lockable_store(session) is not None
    changed = 0
    for source in session.execute(select(Source)).scalars():
        try:
            period = period_for(source, policy)
        except ConfigError:
            raise ConfigError(
                f"the policy sets no retention for {source.kind} material, but source "
                f"{source.name!r} is a {source.kind}; set retention.{source.kind}",
                pl=f"Regulamin nie określa okresu przechowywania dla rodzaju źródła "
                   f"„{source.kind}”, a źródło {source.name} jest tego rodzaju — uzupełnij "
                   f"ustawienie retention.{source.kind}.") from None
        lo, hi = session.execute(
            select(func.min(Recording.start_at), func.max(Recording.start_at))
            .where(Recording.source_id == source.id)).one()
        if lo is None:
            continue
        day, last = local_day(lo, policy.timezone), local_day(hi, policy.timezone)
        while day <= last:
            begin = datetime.combine(day, time(0), tzinfo=policy.timezone)
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.timezone)
            new_end = kept_until(source.kind, period, day, policy)
            in_day = (Recording.source_id == source.id, Recording.start_at >= begin,
                      Recording.start_at < end)
            if lockable:
                # Before the update, the rows whose end moves later (those re-dated by a
                # clock's later reading are the rebased pass's).
                _lengthen_day(session, batch, new_end, (
                    *in_day, Recording.retain_from.is_(None),
                    Recording.expires_at.is_(None) | (Recording.expires_at < new_end)))
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Recording).where(*in_day).values(expires_at=new_end))
            changed += result.rowcount or 0
            day = day + timedelta(days=1) if result.rowcount else \
                _next_day_with_material(session, source, end, policy)
        changed += _redate_rebased(session, source, policy, batch, lockable)
    return changed


def _next_day_with_material(session: Session, source: Source, after: datetime,
                            policy: Policy) -> date:
    """The next local day on which ``source`` recorded something from ``after`` on (the day
    after the last one when nothing is left): a day without material is skipped, not
    updated, so a source's months without recordings cost one query, not one a day."""
    found = session.execute(select(func.min(Recording.start_at)).where(
        Recording.source_id == source.id, Recording.start_at >= after)).scalar()
    if found is None:
        return date.max
    return local_day(found, policy.timezone)


def _lengthen_day(session: Session, batch: int, new_end: datetime,
                  where: tuple[ColumnElement[bool], ...]) -> None:
    """Lengthen to ``new_end`` the objects of the rows ``where`` selects, a page at a time."""
    after = 0
    while True:
        ids = list(session.execute(select(Recording.id).where(*where, Recording.id > after)
                                   .order_by(Recording.id).limit(batch)).scalars())
        if not ids:
            return
        object_lock.lengthen(session, [(rid, new_end) for rid in ids])
        after = ids[-1]
        if len(ids) < batch:
            return


def _redate_rebased(session: Session, source: Source, policy: Policy,
                    batch: int = REDATE_BATCH, lockable: bool = False) -> int:
    """Material recorded across a jump of the clock counts from its later reading
    (kustosz.clock), not from the day it was stamped with; a page of ``batch`` rows at a
    time."""
    after, n = 0, 0
    while True:
        found = session.execute(
            select(Recording.id, Recording.retain_from)
            .where(Recording.source_id == source.id, Recording.retain_from.is_not(None),
                   Recording.id > after)
            .order_by(Recording.id).limit(batch)).all()
        if not found:
            return n
        rows = [{"rid": rid, "exp": expiry_of(source, base, policy)} for rid, base in found]
        session.execute(update(Recording.__table__)
                        .where(Recording.__table__.c.id == bindparam("rid"))
                        .values(expires_at=bindparam("exp")), rows)
        if lockable:
            object_lock.lengthen(session, [(r["rid"], r["exp"]) for r in rows])
        n += len(rows)
        after = found[-1][0]
        if len(found) < batch:
            return n
