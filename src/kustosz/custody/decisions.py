"""Decisions on requests (R4.1): the head of the office, or the deputy when the head is absent,
agrees or does not agree [001 zał. 3; 003 §5.5]. A refusal releases the request's hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.custody.requests import get_request, release_request_hold
from kustosz.db.custody import Decision
from kustosz.errors import InputError
from kustosz.policy import Policy


def decide(session: Session, policy: Policy, request_id: int, *, by: str, agree: bool,
           on: date, actor: str, deputy: bool = False, reason: str | None = None,
           now: datetime | None = None) -> Decision:
    now = now or datetime.now(UTC)
    req = get_request(session, request_id)
    existing = session.execute(select(Decision).where(Decision.request_id == req.id)) \
        .scalar_one_or_none()
    if existing is not None:
        word = "agreed" if existing.agree else "refused"
        raise InputError(f"request {req.id} was already decided: {word} on "
                         f"{existing.decided_on.isoformat()} by {existing.decided_by}")
    if req.status != "registered":
        raise InputError(f"request {req.id} is {req.status}"
                         + (f" ({req.status_reason})" if req.status_reason else "")
                         + "; there is nothing to decide")
    require_role(session, by, "approver", "decide on requests")
    if deputy and "deputy" not in policy.approvers:
        raise InputError(f"the office's rules let only the {policy.approver_title} decide; "
                         "no deputy is named [disclosure.approvers]")
    if not deputy and "head" not in policy.approvers:
        raise InputError("the office's rules name no head as approver")
    if on > now.astimezone(policy.timezone).date():
        raise InputError(f"the decision date {on.isoformat()} is in the future")
    if on < req.received_on:
        raise InputError(f"the decision date {on.isoformat()} is before the request was "
                         f"received ({req.received_on.isoformat()})")
    reason = (reason or "").strip() or None
    decision = Decision(request_id=req.id, agree=agree, decided_by=by,
                        capacity="deputy" if deputy else "head", decided_on=on, reason=reason,
                        recorded_by=actor, recorded_at=now)
    session.add(decision)
    req.status = "approved" if agree else "refused"
    if not agree:
        req.status_reason = reason or "Decyzja: nie wyrażam zgody."
        release_request_hold(session, req, f"wniosek nr {req.id}: odmowa", actor, at=now)
    session.flush()
    audit(session, actor, "request.decide", f"request {req.id}", {
        "agree": agree, "by": by, "capacity": decision.capacity, "on": on.isoformat(),
        "reason": reason})
    return decision


def decision_of(session: Session, request_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.request_id == request_id)) \
        .scalar_one_or_none()
