"""The alerts of the period with who was told of each (alert_deliveries), the audit log's
integrity (the chain verified end to end, the last checkpoint the outside witness holds, the
head the report covers) and the policy changes the period spans, each rule named before and
after."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.alerts.deliveries import SENT
from kustosz.audit import verifier, witness
from kustosz.db.models import Alert, AlertDelivery, AuditEntry
from kustosz.report.common import counted, iso, seconds, utc
from kustosz.report.material import Facts

ALERT_OPEN_TOO_LONG = timedelta(days=7)  # issue 53: an alert open past a week is a finding


def _told(f: Facts, ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """Per alert row, each message that reached a channel before the period's end
    (alert_deliveries, 0043): the channel, whom it addressed, when, and about what."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    for d in f.session.execute(select(AlertDelivery).where(
            AlertDelivery.outcome == SENT, AlertDelivery.sent_at < f.period.hi)
            .order_by(AlertDelivery.sent_at, AlertDelivery.id)).scalars():
        for alert_id in sorted(set(d.alert_ids or []) & ids):
            out.setdefault(alert_id, []).append({
                "channel": d.channel, "channel_kind": d.channel_kind,
                "recipients": d.recipients, "at": iso(d.sent_at), "event": d.event,
                "from_memory": d.from_memory})
    return out


def alerts(f: Facts) -> dict[str, Any]:
    """Each alert open at some time in the period: raised, how long open, who was told."""
    lo, hi = f.period.lo, f.period.hi
    rows = list(f.session.execute(select(Alert).where(
        Alert.raised_at < hi, (Alert.cleared_at.is_(None)) | (Alert.cleared_at >= lo))
        .order_by(Alert.raised_at, Alert.id)).scalars())
    told = _told(f, {a.id for a in rows})
    listed: list[dict[str, Any]] = []
    raised: list[str] = []
    for a in rows:
        cleared = utc(a.cleared_at) if a.cleared_at and utc(a.cleared_at) < hi else None
        open_for = (cleared or hi) - utc(a.raised_at)
        listed.append({"alert": a.id, "kind": a.kind, "raised": iso(a.raised_at),
                       "cleared": iso(cleared), "open_seconds": seconds(open_for),
                       "too_long": open_for > ALERT_OPEN_TOO_LONG,
                       "told": told.get(a.id, [])})
        if utc(a.raised_at) >= lo:
            raised.append(a.kind)
    return {"raised": len(raised), "by_kind": counted(raised),
            "alerts": listed,
            "told": sum(1 for a in listed if a["told"]),
            "not_told": sum(1 for a in listed if not a["told"])}


def _entry(e: AuditEntry | None) -> dict[str, Any] | None:
    return None if e is None else {"seq": e.seq, "at": iso(e.at), "hash": e.hash}


def covered_head(session: Session, f: Facts) -> AuditEntry | None:
    """The last entry of the audit log before the period's end: what the report covers."""
    return session.execute(select(AuditEntry).where(AuditEntry.at < f.period.hi)
                           .order_by(AuditEntry.seq.desc()).limit(1)).scalar()


def integrity(f: Facts) -> dict[str, Any]:
    """The chain as verified now, end to end (a vault whose chain fails still gets its report,
    which says so first); the head and the last checkpoint as of the period's end."""
    report = verifier.vault_report(f.session)
    checkpoint = f.session.execute(select(AuditEntry).where(
        AuditEntry.action == witness.ACTION, AuditEntry.at < f.period.hi)
        .order_by(AuditEntry.seq.desc()).limit(1)).scalar()
    point = _entry(checkpoint)
    if point is not None and checkpoint is not None:
        details = json.loads(checkpoint.details)
        point.update({"n": details.get("n"), "access_seq": details.get("access_seq"),
                      "key": details.get("key")})
    return {"verified": report.ok,
            "problems": [{"seq": p.seq, "problem": p.problem, "where": p.where}
                         for p in report.problems],
            "witness_pending": report.pending is not None,
            "covered_head": _entry(covered_head(f.session, f)),
            "last_checkpoint": point}


def _retention(canonical: str | None) -> dict[str, Any] | None:
    if not canonical:
        return None
    try:
        policy = json.loads(canonical)
    except ValueError:
        return None
    return {"preset": policy.get("preset"), "retention": policy.get("retention"),
            "requests": policy.get("requests"),
            "copies": policy.get("copies")}


def policy_changes(f: Facts) -> list[dict[str, Any]]:
    """Each change of the policy within the period: the rules before and after it."""
    out = []
    for e in f.session.execute(select(AuditEntry).where(
            AuditEntry.action == "policy.changed", AuditEntry.at >= f.period.lo,
            AuditEntry.at < f.period.hi).order_by(AuditEntry.seq)).scalars():
        details = json.loads(e.details)
        out.append({"audit_seq": e.seq, "at": iso(e.at),
                    "before": _retention(details.get("previous")),
                    "after": _retention(json.dumps(details.get("policy") or {}))})
    return out
