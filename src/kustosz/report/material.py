"""The material sections: recorded (hours per source, gaps with causes, clock offsets), kept
(the oldest material against its period, anything past it and why) and deleted (by rule, late,
early). Rows are read as they stood at the period's end: the index and the deletions record
together, so a report made later for the same period says the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.alerts.checks import LATE_FACTOR
from kustosz.db.cameras import ClockOffset, Gap
from kustosz.db.deleted import DeletedItem, Which, deleted_items
from kustosz.db.models import Recording, Source, Sweep
from kustosz.holds.coverage import HoldFacts, ItemFacts, active_holds, covering
from kustosz.index.expiry import expiry_of
from kustosz.kinds import SourceKind
from kustosz.policy import Period, Policy
from kustosz.policy.periods import local_day
from kustosz.report.common import clipped, counted, iso, seconds, utc
from kustosz.report.period import ReportPeriod
from kustosz.states import RecordingState, SweepMode

RETENTION_RULE = "retention "  # retention.sweep._rule: "retention 30 days (policy …)"


@dataclass(frozen=True)
class Facts:
    session: Session
    policy: Policy
    period: ReportPeriod
    sweep_every: timedelta  # the sweep's interval: a deletion later than LATE_FACTOR × it is late

    @property
    def slack(self) -> timedelta:
        return LATE_FACTOR * self.sweep_every


def sources(f: Facts) -> list[Source]:
    return list(f.session.execute(select(Source).where(Source.created_at < f.period.hi)
                                  .order_by(Source.kind, Source.name)).scalars())


def _gaps(f: Facts, source: Source) -> list[dict[str, Any]]:
    rows = f.session.execute(select(Gap).where(
        Gap.source_id == source.id, Gap.start_at < f.period.hi,
        (Gap.end_at.is_(None)) | (Gap.end_at > f.period.lo)).order_by(Gap.start_at, Gap.id))
    return [{"id": g.id, "from": iso(g.start_at), "to": iso(g.end_at) if g.end_at and
             utc(g.end_at) <= f.period.hi else None, "cause": g.cause,
             "seconds": seconds(clipped(g.start_at, g.end_at, f.period))}
            for g in rows.scalars()]


def _offsets(f: Facts, source: Source) -> dict[str, Any] | None:
    row = f.session.execute(select(func.count(), func.min(ClockOffset.offset_s),
                                   func.max(ClockOffset.offset_s)).where(
        ClockOffset.source_id == source.id, ClockOffset.measured_at >= f.period.lo,
        ClockOffset.measured_at < f.period.hi)).one()
    if not row[0]:
        return None
    return {"measurements": row[0], "min_s": round(row[1], 3), "max_s": round(row[2], 3)}


# Sources whose files are chunks of many entries: a journal's messages, a tool's events.
CHUNKED = (SourceKind.MAILBOX, SourceKind.ENDPOINT)


def _lines(meta: dict[str, Any] | None) -> int:
    """The entries a stored chunk holds, counted at intake (ingest.chunks.spool)."""
    value = (meta or {}).get("lines")
    return value if isinstance(value, int) else 0


def _spans(f: Facts, source: Source) -> list[tuple[datetime, datetime, int]]:
    """Every item of the source overlapping the period, in the index or deleted since, with
    the entries it held (0 for anything but a chunk)."""
    lo, hi = f.period.lo, f.period.hi
    kept = f.session.execute(select(Recording.start_at, Recording.end_at, Recording.meta).where(
        Recording.source_id == source.id, Recording.start_at < hi, Recording.end_at > lo,
        Recording.state != RecordingState.PENDING)).all()
    gone = deleted_items(f.session, Which(source_id=source.id, start_before=hi, end_after=lo))
    return [(a, b, _lines(m)) for a, b, m in kept] + [
        (d.start_at, d.end_at, d.entries or 0) for d in gone]


def recorded(f: Facts) -> list[dict[str, Any]]:
    """Per source: its files (items), and for mail and events the messages or events those
    files held (entries; None for a camera or a phone line, whose files are the items)."""
    out = []
    for source in sources(f):
        spans = _spans(f, source)
        total = sum((clipped(a, b, f.period) for a, b, _n in spans), timedelta(0))
        gaps = _gaps(f, source)
        out.append({"source": source.name, "kind": source.kind, "items": len(spans),
                    "entries": sum(n for _a, _b, n in spans)
                    if source.kind in CHUNKED else None,
                    "hours": round(total.total_seconds() / 3600, 3),
                    "gaps": gaps, "gaps_seconds": sum(g["seconds"] for g in gaps),
                    "gap_causes": counted([g["cause"] for g in gaps]),
                    "clock_offsets": _offsets(f, source)})
    return out


def holds_at(session: Session, at: datetime) -> list[HoldFacts]:
    """The holds in force at ``at``, as coverage facts (the rule's one home)."""
    return active_holds(session, at)


def deletion_expiry(row: DeletedItem, source: Source, policy: Policy) -> datetime:
    """When a deleted item's period ended, by the rule the sweep recorded with it (the rule in
    force then); a rule the record does not name (disk pressure) falls back to today's."""
    if row.rule.startswith(RETENTION_RULE):
        try:
            period = Period.parse(row.rule[len(RETENTION_RULE):].split(" (")[0])
            return period.end(local_day(utc(row.start_at), policy.timezone), policy.timezone)
        except ValueError:
            pass
    return expiry_of(source, utc(row.start_at), policy)


def _present_at_end(f: Facts, source: Source) -> list[tuple[int, datetime, datetime,
                                                             datetime | None, bool]]:
    """(id, start, end, expiry, clock-corrected) of every item the vault held at the period's
    end: stored then, whether still in the index or deleted after it."""
    hi = f.period.hi
    rows: list[tuple[int, datetime, datetime, datetime | None, bool]] = [
        (r.id, utc(r.start_at), utc(r.end_at), r.expires_at and utc(r.expires_at),
         r.retain_from is not None)
        for r in f.session.execute(select(Recording).where(
            Recording.source_id == source.id, Recording.ingested_at < hi,
            Recording.state != RecordingState.PENDING)).scalars()]
    for d in deleted_items(f.session, Which(source_id=source.id, start_before=hi,
                                            deleted_from=hi)):
        rows.append((d.recording_id, utc(d.start_at), utc(d.end_at),
                     deletion_expiry(d, source, f.policy), False))
    return rows


def kept(f: Facts) -> list[dict[str, Any]]:
    """Per source, at the period's end: its oldest item against its period, and every item
    past its period (beyond the sweep's slack) with why — a hold, or a clock correction."""
    holds = holds_at(f.session, f.period.hi)
    out = []
    for source in sources(f):
        rows = _present_at_end(f, source)
        oldest = min(rows, key=lambda r: (r[1], r[0])) if rows else None
        past = []
        for rid, start, end, expiry, clock in sorted(rows, key=lambda r: (r[1], r[0])):
            if expiry is None or expiry + f.slack > f.period.hi:
                continue
            held = covering(holds, ItemFacts(rid, source.id, start, end))
            why = "hold" if held else "clock_correction" if clock else "none"
            past.append({"recording": rid, "start": iso(start), "expired": iso(expiry),
                         "why": why, "holds": held})
        out.append({"source": source.name, "kind": source.kind, "items": len(rows),
                    "oldest": iso(oldest[1]) if oldest else None,
                    "oldest_expires": iso(oldest[3]) if oldest else None,
                    "past_period": past})
    return out


def deleted(f: Facts) -> dict[str, Any]:
    """Deletions recorded in the period: by rule; late ones (past the period by more than the
    sweep's slack) and by how much; early ones (before the period ended: disk pressure)."""
    by_id = {s.id: s for s in f.session.execute(select(Source)).scalars()}
    items = deleted_items(f.session, Which(deleted_from=f.period.lo,
                                           deleted_before=f.period.hi))
    sweeps = {w.id: (w.mode, w.as_of) for w in f.session.execute(select(Sweep).where(
        Sweep.id.in_(sorted({d.sweep_id for d in items})))).scalars()} if items else {}
    rows = [(d, *sweeps[d.sweep_id]) for d in items if d.sweep_id in sweeps]
    late, early, rules, per_source = [], [], [], []
    for d, mode, as_of in rows:
        source = by_id[d.source_id]
        expiry = deletion_expiry(d, source, f.policy)
        # The sweep's own moment is when it judged the item expired (its as_of).
        when = utc(as_of)
        rules.append(d.rule)
        per_source.append(source.name)
        item = {"deletion": d.id, "recording": d.recording_id, "source": source.name,
                "start": iso(d.start_at), "expired": iso(expiry), "deleted": iso(when),
                "rule": d.rule, "size": d.size}
        if when - expiry > f.slack:
            late.append({**item, "late_seconds": seconds(when - expiry)})
        elif when < expiry or mode == SweepMode.DISK_PRESSURE:
            early.append({**item, "early_seconds": seconds(max(expiry - when, timedelta(0)))})
    return {"count": len(rows), "by_rule": counted(rules), "by_source": counted(per_source),
            "late": late, "early": early, "late_allowance_seconds": seconds(f.slack)}
