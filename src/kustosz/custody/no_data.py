"""The answer "nie przetwarzamy Pana/Pani danych" to a data subject (art. 15 ust. 1 RODO).

A data subject's request approved while its material still existed, but whose material was
deleted (its period ran out before the copy, or before the request was registered) could be
neither copied (nothing stored) nor refused (already decided): it stayed open, holding what
was left, for ever. Art. 15 ust. 1 asks the controller to confirm whether data are processed;
when none are, that confirmation is the answer. It is not a refusal (art. 12 ust. 4): no
basis is given, because nothing is denied.

Recorded on the request (`no_data_on`, `no_data_by`, migration 0033): the request counts as
answered that day (custody.answer_deadline), its hold is released (nothing of the person's
remains to keep), no copy is made of it afterwards, and the answer letter says so
(custody.papers.answer_letter_doc). Refused, changing nothing, while any of the person's data
is still stored: then the copy is the answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import get_user, printed
from kustosz.audit import append as audit
from kustosz.custody.actions import record_action
from kustosz.custody.copy_material import gather as _gather
from kustosz.custody.requests import get_request, refuse_if_answered, release_request_hold
from kustosz.db.custody import Copy, Handover, Request
from kustosz.errors import FieldError, InputError, NotFound
from kustosz.policy import Policy
from kustosz.states import CopyState, RequestKind, RequestStatus

# Who may sign the answer: those who answer a data subject with a copy (custody.handover).
SIGNING_ROLES = ("custodian", "administrator", "approver")
WHY_PL = "nie przetwarzamy danych osobowych osoby, której dotyczy żądanie (art. 15 ust. 1 RODO)"


def _still_stored(session: Session, policy: Policy, req: Request) -> int:
    """How many of the person's stored recordings a copy of the request would hold now (the
    data subject's own calls only, R6.2)."""

    return sum(len(g.recordings) for g in _gather(session, req, policy))


def answer_no_data(
    session: Session,
    policy: Policy,
    request_id: int,
    *,
    by: str,
    on: date,
    actor: str,
    now: datetime | None = None,
) -> Request:
    """Record the answer that no data of the person are processed; release the request's
    hold. ``by`` signs the letter (an active custodian, administrator or approver); ``on`` is
    the day of the answer, between the request's receipt and today."""
    now = now or datetime.now(UTC)
    req = get_request(session, request_id)
    if req.kind != RequestKind.DATA_SUBJECT:
        raise InputError(
            f"request {req.id} is not a data subject's request; only those are "
            "answered under art. 15 RODO",
            pl=f"Wniosek nr {req.id} nie jest żądaniem osoby, której dane "
            "dotyczą — odpowiedź według art. 15 RODO go nie dotyczy.",
        )
    refuse_if_answered(req)
    if req.status == RequestStatus.REFUSED:
        raise InputError(
            f"request {req.id} was refused; the refusal is its answer",
            pl=f"Żądanie nr {req.id} zostało odrzucone — odmowa jest odpowiedzią na nie.",
        )
    handed = session.execute(select(Handover.id).where(Handover.request_id == req.id)).first()
    kept = (
        session.execute(
            select(Copy.number).where(Copy.request_id == req.id, Copy.state == CopyState.KEPT)
        )
        .scalars()
        .first()
    )
    if handed is not None or kept is not None:
        raise InputError(
            f"request {req.id} has copy {kept or '(handed over)'}: its data are "
            "processed, the copy is the answer",
            pl=f"Do żądania nr {req.id} sporządzono kopię"
            + (f" nr {kept}" if kept else "")
            + " — dane tej osoby są przetwarzane, odpowiedzią jest wydanie "
            "kopii.",
        )
    stored = _still_stored(session, policy, req)
    if stored:
        raise InputError(
            f"request {req.id}: {stored} recording(s) of the person are still "
            "stored; make the copy and hand it over instead",
            pl=f"Żądanie nr {req.id}: w systemie nadal są nagrania tej osoby "
            f"(liczba: {stored}) — dane są przetwarzane; sporządź i wydaj "
            "kopię zamiast tej odpowiedzi.",
        )
    try:
        signer = get_user(session, (by or "").strip())
    except NotFound:
        raise FieldError(
            "by",
            f"no user named {by!r} signs the answer",
            pl=f"Nie ma użytkownika {by}, który mógłby podpisać odpowiedź.",
        ) from None
    if not signer.active or not set(signer.roles) & set(SIGNING_ROLES):
        raise FieldError(
            "by",
            f"user {signer.name!r} may not sign the answer (an active "
            "custodian, administrator or approver signs it)",
            pl=f"Użytkownik {signer.name} nie może podpisać odpowiedzi (podpisuje "
            "ją aktywny opiekun kopii, administrator lub kierownik).",
        )
    today = now.astimezone(policy.timezone).date()
    if on < req.received_on or on > today:
        raise FieldError(
            "on",
            f"the day of the answer ({on.isoformat()}) must be between the "
            f"request's receipt ({req.received_on.isoformat()}) and today",
            pl=f"Dzień odpowiedzi ({on.strftime('%d.%m.%Y')}) musi przypadać "
            f"między dniem otrzymania żądania "
            f"({req.received_on.strftime('%d.%m.%Y')}) a dniem dzisiejszym.",
        )
    req.no_data_on, req.no_data_by = on, signer.name
    release_request_hold(
        session, req, f"wniosek nr {req.id}: odpowiedziano, że {WHY_PL}", actor, at=now
    )
    record_action(
        session,
        "request.no_data",
        f"Odpowiedziano na żądanie nr {req.id} z dnia "
        f"{req.received_on.strftime('%d.%m.%Y')}: {WHY_PL}; w systemie nie ma "
        "nagrań tej osoby z okresu objętego żądaniem.",
        printed(session, signer.name),
        request_id=req.id,
        at=now,
    )
    audit(
        session,
        actor,
        "request.no_data",
        f"request {req.id}",
        {"on": on.isoformat(), "by": signer.name, "hold": req.hold_id},
        at=now,
    )
    session.flush()
    return req
