"""When each item must be gone: the source's period counted from the local day of recording."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source
from kustosz.documents.words import period_pl
from kustosz.errors import ConfigError
from kustosz.policy import Period, Policy
from kustosz.policy.periods import local_day


def period_for(source: Source, policy: Policy) -> Period:
    if source.retention:
        return Period.parse(source.retention)
    return policy.retention_for(source.kind)


def expiry_of(source: Source, start_at: datetime, policy: Policy) -> datetime:
    return period_for(source, policy).end(local_day(start_at, policy.timezone), policy.timezone)


def check_override(kind: str, override: Period, policy: Policy) -> None:
    """A source may keep material shorter than the office's rule, never longer."""
    rule = policy.retention_for(kind)
    shorter = (override.count <= rule.count if override.unit == rule.unit
               else override.max_days() <= rule.min_days())
    if not shorter:
        raise ConfigError(f"retention {override} for this source is longer than the office's "
                          f"rule for {kind} material ({rule})",
                          pl=f"Okres przechowywania {period_pl(override)} dla tego źródła jest "
                             f"dłuższy niż przewiduje regulamin urzędu dla tego rodzaju "
                             f"nagrań ({period_pl(rule)}).")


def redate_all(session: Session, policy: Policy) -> int:
    """Recompute expiry of all stored material after a policy change; returns rows changed.
    On a store with a lock each object's retention is lengthened where its end moved later;
    where it moved earlier the object keeps the longer date, which the sweep's governance
    bypass overrides when it deletes (the app's credentials may not shorten it)."""
    from kustosz.custody.object_lock import lengthen, lockable_store

    before = dict(session.execute(select(Recording.id, Recording.expires_at)).all()) \
        if lockable_store(session) is not None else {}
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
            result = session.execute(
                update(Recording)
                .where(Recording.source_id == source.id, Recording.start_at >= begin,
                       Recording.start_at < end)
                .values(expires_at=period.end(day, policy.timezone)))
            changed += result.rowcount or 0
            day += timedelta(days=1)
        changed += _redate_rebased(session, source, policy)
    if before:
        lengthen(session, [(rid, end) for rid, end in session.execute(
            select(Recording.id, Recording.expires_at)) if rid in before and end is not None
            and (before[rid] is None or end > before[rid])])
    return changed


def _redate_rebased(session: Session, source: Source, policy: Policy) -> int:
    """Material recorded across a jump of the clock counts from its later reading
    (kustosz.clock), not from the day it was stamped with."""
    rows = [{"rid": rid, "exp": expiry_of(source, base, policy)}
            for rid, base in session.execute(
                select(Recording.id, Recording.retain_from)
                .where(Recording.source_id == source.id, Recording.retain_from.is_not(None)))]
    if rows:
        session.execute(update(Recording.__table__)
                        .where(Recording.__table__.c.id == bindparam("rid"))
                        .values(expires_at=bindparam("exp")), rows)
    return len(rows)
