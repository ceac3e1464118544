"""Decisions on requests (R4.1): a position the office's policy lists as approver — the head
of the office, the deputy when the head is absent [001 zał. 3; 003 §5.5], or a position of the
office's own ([positions], policy.positions) — agrees or does not agree. With `[disclosure]
approval = "any"` the first decision settles the request; with "all" each listed position
decides once, the request is approved when every one has agreed and refused at the first
refusal. A refusal releases the request's hold.

Separation of duties (policy.duties.decision_by_own_account): the approver records his decision
from his own account. Anyone else — a custodian, or the server's command line, which has no
account — may enter it only as a decision taken on paper, naming the document; both the
approver and the person who keyed it are kept and printed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import printed, require_role
from kustosz.audit import append as audit
from kustosz.custody.copy_terms import fmt
from kustosz.custody.requests import (
    STATUS_PL,
    get_request,
    refuse_if_answered,
    release_request_hold,
)
from kustosz.db.custody import Decision, Request
from kustosz.documents.office import signs_as
from kustosz.errors import FieldError, InputError
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.policy.positions import Position
from kustosz.states import Capacity, RequestStatus


def decide(session: Session, policy: Policy, request_id: int, *, by: str, agree: bool,
           on: date, actor: str, keyed_by: str | None, paper_ref: str | None = None,
           capacity: str | None = None, deputy: bool = False, reason: str | None = None,
           now: datetime | None = None) -> Decision:
    """Record ``by``'s decision as the position ``capacity`` (``deputy=True``: "deputy"; neither:
    the head, or the one position the policy lists). ``keyed_by`` is the office account
    entering it (None from the command line); ``paper_ref`` (not None) marks a decision taken
    on paper."""
    now = now or datetime.now(UTC)
    check_texts(reason=reason, paper_ref=paper_ref)
    req = get_request(session, request_id)
    refuse_if_answered(req)
    _refuse_if_settled(session, req)
    require_role(session, by, "approver", "decide on requests")
    position = policy.position(_capacity(policy, capacity, deputy))
    taken = decisions_of(session, req.id)
    _refuse_twice(session, policy, req.id, position.key, by, taken)
    _check_date(policy, req.received_on, on, now)
    paper_ref = check_keying(policy, by, keyed_by, paper_ref)
    reason = (reason or "").strip() or None
    decision = Decision(request_id=req.id, agree=agree, decided_by=by, capacity=position.key,
                        decided_on=on, reason=reason, recorded_by=actor, recorded_at=now,
                        keyed_by=keyed_by, paper_ref=paper_ref)
    session.add(decision)
    agreed = {d.capacity for d in taken if d.agree} | {position.key}
    if not agree:
        req.status = RequestStatus.REFUSED
        req.status_reason = reason or "Decyzja: nie wyrażam zgody."
        release_request_hold(session, req, f"wniosek nr {req.id}: odmowa", actor, at=now)
    elif policy.approval == "any" or agreed >= set(policy.approvers):
        req.status = RequestStatus.APPROVED
    session.flush()
    audit(session, actor, "request.decide", f"request {req.id}", {
        "agree": agree, "by": by, "capacity": decision.capacity, "on": on.isoformat(),
        "reason": reason, "keyed_by": keyed_by, "paper_ref": paper_ref,
        "approval": policy.approval, "status": req.status})
    return decision


def _refuse_if_settled(session: Session, req: Request) -> None:
    existing = decision_of(session, req.id)
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


def _capacity(policy: Policy, capacity: str | None, deputy: bool) -> str:
    """The position deciding, one the office's rules list as approver."""
    key = (capacity or "").strip() or ("deputy" if deputy else None)
    if key is None:
        key = policy.approvers[0] if len(policy.approvers) == 1 else "head"
    if key in policy.approvers:
        return key
    listed_pl = ", ".join(f"{policy.position(k).title} ({k})" for k in policy.approvers)
    if key == "deputy":
        raise InputError(f"the office's rules let only {', '.join(policy.approvers)} decide; "
                         "no deputy is named [disclosure.approvers]",
                         pl=f"Według zasad urzędu decyzję podejmuje: {listed_pl}; zasady nie "
                            "przewidują zastępstwa [disclosure.approvers].")
    raise InputError(f"the office's rules do not let the position {key!r} decide; they list "
                     f"{', '.join(policy.approvers)} [disclosure.approvers]",
                     pl=f"Zasady urzędu nie powierzają decyzji stanowisku „{key}”; decyzję "
                        f"podejmuje: {listed_pl} [disclosure.approvers].")


def _refuse_twice(session: Session, policy: Policy, request_id: int, key: str, by: str,
                  taken: list[Decision]) -> None:
    """A position decides once; nor does one person decide as two positions, where the rules
    ask for every position's agreement so that more than one person agrees."""
    for d in taken:
        if d.capacity == key or d.decided_by == by:
            title = policy.position(d.capacity).title
            raise InputError(
                f"request {request_id} was already decided as {d.capacity} by {d.decided_by} "
                f"on {d.decided_on.isoformat()}; a position, and a person, decides once",
                pl=f"Wniosek nr {request_id} ma już decyzję: {title} — "
                   f"{printed(session, d.decided_by)}, {d.decided_on.strftime('%d.%m.%Y')}; "
                   "każde stanowisko i każda osoba decyduje raz.")


def _check_date(policy: Policy, received_on: date, on: date, now: datetime) -> None:
    if on > now.astimezone(policy.timezone).date():
        raise InputError(f"the decision date {on.isoformat()} is in the future",
                         pl=f"Data decyzji {on.strftime('%d.%m.%Y')} jest w przyszłości.")
    if on < received_on:
        raise InputError(f"the decision date {on.isoformat()} is before the request was "
                         f"received ({received_on.isoformat()})",
                         pl=f"Data decyzji {on.strftime('%d.%m.%Y')} jest wcześniejsza niż "
                            f"data wpływu wniosku ({received_on.strftime('%d.%m.%Y')}).")


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


def decisions_of(session: Session, request_id: int) -> list[Decision]:
    """Every position's decision on the request, in the order taken."""
    return list(session.execute(select(Decision).where(Decision.request_id == request_id)
                                .order_by(Decision.id)).scalars())


def decision_of(session: Session, request_id: int) -> Decision | None:
    """The decision that settled the request — its refusal, or the agreement that approved it;
    None while it awaits one (approval "all": some positions have agreed, not every one)."""
    taken = decisions_of(session, request_id)
    req = session.get(Request, request_id)
    if not taken or req is None or req.status == RequestStatus.REGISTERED:
        return None
    return next((d for d in taken if not d.agree), taken[-1])


def titled(policy: Policy, taken: list[Decision]) -> dict[str, Position]:
    """The positions the policy lists and those the decisions name, by key, with their titles
    (a position since dropped from the policy still names its decisions)."""
    return {k: policy.position(k) for k in (*policy.approvers, *(d.capacity for d in taken))}


def entry_pl(session: Session, policy: Policy, d: Decision) -> str:
    """How the decision reached the system, in words: on whose account, on which paper."""
    when = fmt(d.recorded_at, policy, seconds=False)
    keyer = printed(session, d.keyed_by) if d.keyed_by else \
        f"operator serwera z wiersza poleceń ({d.recorded_by})"
    if d.paper_ref:
        return (f"Decyzja podjęta na piśmie (znak dokumentu: {d.paper_ref}). Do systemu "
                f"wprowadził(a): {keyer}, {when}.")
    if d.keyed_by == d.decided_by:
        return f"Decyzję zapisał(a) w systemie decydujący, z własnego konta: {keyer}, {when}."
    return f"Decyzję wprowadził(a) do systemu: {keyer}, {when}."


def _heading(policy: Policy, key: str) -> str:
    """Whose decision a block is headed by, in the genitive ("Decyzja Sekretarza …"): the
    deputy decides in the head's name, and the block says so under it."""
    return policy.position(Capacity.HEAD if key == Capacity.DEPUTY else key).genitive


def on_paper(session: Session, policy: Policy, d: Decision) -> dict[str, Any]:
    """A decision as the documents print it, with its position's title."""
    title = policy.position(d.capacity).title
    return {"agree": d.agree, "on": d.decided_on.strftime("%d.%m.%Y"),
            "by": printed(session, d.decided_by), "by_title": title,
            "signs_as": signs_as(policy, title),
            "gen": _heading(policy, d.capacity), "capacity": d.capacity, "reason": d.reason,
            "paper_ref": d.paper_ref, "entry": entry_pl(session, policy, d)}


def paper_blocks(session: Session | None, policy: Policy, request_id: int | None
                 ) -> list[dict[str, Any]]:
    """The decision blocks a document prints: with approval "all" one per listed position, a
    blank one ({"blank": True}) for a position yet to decide; otherwise the decision that
    settled the request, or one blank block for the first position listed. No session: a
    blank form."""
    taken: dict[str, Decision] = {}
    if session is not None and request_id is not None:
        taken = {d.capacity: d for d in decisions_of(session, request_id)}
        settled = decision_of(session, request_id)
        if policy.approval != "all" and settled is not None:
            return [on_paper(session, policy, settled)]
    keys = [*policy.approvers, *(k for k in taken if k not in policy.approvers)] \
        if policy.approval == "all" else [policy.approvers[0]]
    return [on_paper(session, policy, taken[k]) if session is not None and k in taken
            else {"blank": True, "gen": _heading(policy, k)} for k in keys]
