"""The access section: viewings, listenings, live views and exports by purpose and person with
the witness (the access record, kustosz.access.records); refused attempts and their reasons
(the same audit entries the access register reads); authorisations issued, expired, revoked;
accounts created and disabled; employees without an acknowledgment of the monitoring notice;
cameras added with their notice and signage dates."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from kustosz.access.records import REFUSAL_ACTIONS, reason_of
from kustosz.db.access import Authorisation, Employee, NoticeAcknowledgment, ViewingSession
from kustosz.db.cameras import Camera
from kustosz.db.models import AuditEntry, Source
from kustosz.report.common import counted, in_period, iso, utc
from kustosz.report.material import Facts


def _entries(f: Facts, *actions: str) -> list[AuditEntry]:
    return list(f.session.execute(select(AuditEntry).where(
        AuditEntry.action.in_(actions), AuditEntry.at >= f.period.lo,
        AuditEntry.at < f.period.hi).order_by(AuditEntry.seq)).scalars())


def _viewings(f: Facts) -> list[dict[str, Any]]:
    rows = f.session.execute(select(ViewingSession).where(
        ViewingSession.started_at >= f.period.lo, ViewingSession.started_at < f.period.hi)
        .order_by(ViewingSession.id)).scalars()
    return [{"viewing": v.id, "action": v.action, "user": v.user_name,
             "purpose": (v.purpose or "").strip(), "case_ref": v.case_ref,
             "request": v.request_id, "witness": v.witness, "at": iso(v.started_at)}
            for v in rows]


def _refusals(f: Facts) -> list[dict[str, Any]]:
    out = []
    for e in _entries(f, *REFUSAL_ACTIONS):
        try:
            details = json.loads(e.details)
        except ValueError:
            details = {}
        reason = reason_of(details if isinstance(details, dict) else {}, e.action)
        out.append({"audit_seq": e.seq, "user": e.actor,
                    "reason": reason.value if reason else "unknown"})
    return out


def _authorisations(f: Facts) -> dict[str, list[int]]:
    rows = list(f.session.execute(select(Authorisation).where(
        Authorisation.issued_at < f.period.hi).order_by(Authorisation.id)).scalars())
    return {"issued": [a.id for a in rows if in_period(a.issued_at, f.period)],
            "expired": [a.id for a in rows if in_period(a.valid_to, f.period)
                        and (a.revoked_at is None or utc(a.revoked_at) >= utc(a.valid_to))],
            "revoked": [a.id for a in rows if in_period(a.revoked_at, f.period)]}


def access(f: Facts) -> dict[str, Any]:
    views = _viewings(f)
    refused = _refusals(f)
    return {"sessions": len(views), "by_action": counted([v["action"] for v in views]),
            "by_purpose": counted([v["purpose"] or "—" for v in views]),
            "by_person": counted([v["user"] for v in views]),
            "with_witness": sum(1 for v in views if v["witness"]),
            "viewings": views,
            "refused": len(refused), "refusals_by_reason": counted([r["reason"] for r in refused]),
            "refusals": refused,
            "authorisations": _authorisations(f),
            "accounts": {"created": [e.subject for e in _entries(f, "user.add")],
                         "disabled": [e.subject for e in _entries(f, "user.disable")]}}


def acknowledgments(f: Facts) -> dict[str, Any]:
    """Employees in employment at the period's end who had acknowledged no notice by then."""
    last = f.period.last
    staff = list(f.session.execute(select(Employee).where(
        Employee.starts_on <= last, (Employee.ends_on.is_(None)) | (Employee.ends_on > last))
        .order_by(Employee.full_name, Employee.id)).scalars())
    done = set(f.session.execute(select(NoticeAcknowledgment.employee_id).where(
        NoticeAcknowledgment.acknowledged_on <= last)).scalars())
    return {"employees": len(staff), "acknowledged": sum(1 for e in staff if e.id in done),
            "missing": [{"employee": e.id, "name": e.full_name, "since": e.starts_on.isoformat()}
                        for e in staff if e.id not in done]}


def cameras_added(f: Facts) -> list[dict[str, Any]]:
    rows = f.session.execute(select(Camera, Source.name).join(
        Source, Source.id == Camera.source_id).where(
        Camera.created_at >= f.period.lo, Camera.created_at < f.period.hi)
        .order_by(Source.name)).all()
    return [{"source": name, "added": iso(c.created_at),
             "notice_date": c.notice_date.isoformat() if c.notice_date else None,
             "signage_date": c.signage_date.isoformat() if c.signage_date else None}
            for c, name in rows]
