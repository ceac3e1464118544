"""Decisions on requests (R4.1): the head of the office, or the deputy when the head is absent,
agrees or does not agree [001 zał. 3; 003 §5.5]. A refusal releases the request's hold.

Separation of duties (policy.duties.decision_by_own_account): the approver records his decision
from his own account. Anyone else — a custodian, or the server's command line, which has no
account — may enter it only as a decision taken on paper, naming the document; both the
approver and the person who keyed it are kept and printed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import printed, require_role
from kustosz.audit import append as audit
from kustosz.custody.requests import (
    STATUS_PL,
    get_request,
    refuse_if_answered,
    release_request_hold,
)
from kustosz.db.custody import Decision
from kustosz.errors import FieldError, InputError
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.states import Capacity, RequestStatus


def decide(session: Session, policy: Policy, request_id: int, *, by: str, agree: bool,
           on: date, actor: str, keyed_by: str | None, paper_ref: str | None = None,
           deputy: bool = False, reason: str | None = None,
           now: datetime | None = None) -> Decision:
    """Record ``by``'s decision. ``keyed_by`` is the office account entering it (None from the
    command line); ``paper_ref`` (not None) marks a decision taken on paper."""
    now = now or datetime.now(UTC)
    check_texts(reason=reason, paper_ref=paper_ref)
    req = get_request(session, request_id)
    refuse_if_answered(req)
    existing = session.execute(select(Decision).where(Decision.request_id == req.id)) \
        .scalar_one_or_none()
    if existing is not None:
        word = "agreed" if existing.agree else "refused"
        raise InputError(f"request {req.id} was already decided: {word} on "
                         f"{existing.decided_on.isoformat()} by {existing.decided_by}",
                         pl=f"Wniosek nr {req.id} został już rozpatrzony: "
                            f"{'zgoda' if existing.agree else 'odmowa'} z dnia "
                            f"{existing.decided_on.strftime('%d.%m.%Y')} "
                            f"({printed(session, existing.decided_by)}).")
    if req.status != RequestStatus.REGISTERED:
        raise InputError(f"request {req.id} is {req.status}"
                         + (f" ({req.status_reason})" if req.status_reason else "")
                         + "; there is nothing to decide",
                         pl=f"Wniosek nr {req.id}: "
                            f"{STATUS_PL.get(req.status, req.status)}"
                            + (f" ({req.status_reason})" if req.status_reason else "")
                            + "; nie ma czego rozstrzygać.")
    require_role(session, by, "approver", "decide on requests")
    if deputy and "deputy" not in policy.approvers:
        raise InputError(f"the office's rules let only the {policy.approver_title} decide; "
                         "no deputy is named [disclosure.approvers]",
                         pl=f"Według zasad urzędu decyzję podejmuje wyłącznie "
                            f"{policy.approver_title}; zasady nie przewidują zastępstwa "
                            "[disclosure.approvers].")
    if not deputy and "head" not in policy.approvers:
        raise InputError("the office's rules name no head as approver",
                         pl="Zasady urzędu nie powierzają decyzji kierownikowi jednostki.")
    if on > now.astimezone(policy.timezone).date():
        raise InputError(f"the decision date {on.isoformat()} is in the future",
                         pl=f"Data decyzji {on.strftime('%d.%m.%Y')} jest w przyszłości.")
    if on < req.received_on:
        raise InputError(f"the decision date {on.isoformat()} is before the request was "
                         f"received ({req.received_on.isoformat()})",
                         pl=f"Data decyzji {on.strftime('%d.%m.%Y')} jest wcześniejsza niż "
                            f"data wpływu wniosku ({req.received_on.strftime('%d.%m.%Y')}).")
    paper_ref = check_keying(policy, by, keyed_by, paper_ref)
    reason = (reason or "").strip() or None
    decision = Decision(request_id=req.id, agree=agree, decided_by=by,
                        capacity=Capacity.DEPUTY if deputy else Capacity.HEAD,
                        decided_on=on, reason=reason,
                        recorded_by=actor, recorded_at=now, keyed_by=keyed_by,
                        paper_ref=paper_ref)
    session.add(decision)
    req.status = RequestStatus.APPROVED if agree else RequestStatus.REFUSED
    if not agree:
        req.status_reason = reason or "Decyzja: nie wyrażam zgody."
        release_request_hold(session, req, f"wniosek nr {req.id}: odmowa", actor, at=now)
    session.flush()
    audit(session, actor, "request.decide", f"request {req.id}", {
        "agree": agree, "by": by, "capacity": decision.capacity, "on": on.isoformat(),
        "reason": reason, "keyed_by": keyed_by, "paper_ref": paper_ref})
    return decision


def check_keying(policy: Policy, by: str, keyed_by: str | None,
                 paper_ref: str | None) -> str | None:
    """The paper reference to store, or FieldError("paper_ref") when the decision may not be
    entered this way."""
    if paper_ref is not None:
        paper_ref = paper_ref.strip()
        if not paper_ref:
            raise FieldError("paper_ref", "Podaj znak (numer) dokumentu, na którym podjęto "
                                          "decyzję — pusty znak nie wskazuje dokumentu.")
        return paper_ref
    if keyed_by != by and policy.duties.decision_by_own_account:
        if keyed_by is None:
            raise FieldError("paper_ref", "Decyzję wprowadzaną z wiersza poleceń (bez konta "
                                          "zatwierdzającego) można zapisać tylko jako decyzję "
                                          "podjętą na papierze: podaj znak dokumentu.")
        raise FieldError("paper_ref", f"Decyzję użytkownika {by} zapisuje on sam ze swojego "
                                      "konta; inna osoba może ją wprowadzić tylko jako decyzję "
                                      "podjętą na papierze — podaj znak dokumentu.")
    return None


def decision_of(session: Session, request_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.request_id == request_id)) \
        .scalar_one_or_none()
