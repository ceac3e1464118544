"""The data subject's deadline (R6.2; art. 12 ust. 3 RODO): the office answers a data
subject's request without undue delay and in any event within one month of receiving it; the
period may be extended by a further two months because of the request's complexity or the
number of requests, and the data subject is told of the extension, with its reasons, within
one month of receipt.

Months are counted as `kustosz.policy.periods` counts them (the day corresponding by date in
the month, or the month's last day where there is none): received 31 January, due 28 or 29
February. The date is not moved off a weekend or a public holiday: the office answers by the
date shown, which is never later than the law allows.

A request counts as answered when the copy was handed over on it, when it was refused, or
when the person was told that no data of theirs are processed (custody.no_data);
(the refusal is the answer, with its reasons); until then it is open and its days are
counted on the dashboard and the request's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import printed
from kustosz.audit import append as audit
from kustosz.custody.actions import record_action
from kustosz.custody.answer_due import due_on
from kustosz.custody.decisions import decision_of
from kustosz.custody.requests import get_request
from kustosz.db.custody import Handover
from kustosz.db.custody import Request as CustodyRequest
from kustosz.errors import FieldError, InputError
from kustosz.limits import check_texts
from kustosz.states import RequestKind, RequestStatus

LAW_PL = "art. 12 ust. 3 RODO"


@dataclass(frozen=True)
class AnswerDeadline:
    due: date  # the last day to answer
    first_due: date  # one month from receipt: the last day to extend (and to tell the person)
    extended_on: date | None
    answered_on: date | None  # a handover on the request, or its refusal

    def days_left(self, today: date) -> int:
        return (self.due - today).days

    def overdue(self, today: date) -> bool:
        return self.answered_on is None and today > self.due

    def may_extend(self, today: date) -> bool:
        return self.answered_on is None and self.extended_on is None and today <= self.first_due


def _answered_on(session: Session, req: CustodyRequest, tz: tzinfo) -> date | None:
    if req.no_data_on is not None:
        return req.no_data_on  # "nie przetwarzamy Pana/Pani danych" (custody.no_data)
    if req.status == RequestStatus.REFUSED:
        # A refusal by decision is dated by it; a late request refused at registration
        # (policy "reject") was answered the day it was registered.
        decision = decision_of(session, req.id)
        return decision.decided_on if decision else req.registered_at.astimezone(tz).date()
    handed = session.execute(select(Handover.handed_at).where(Handover.request_id == req.id)
                             .order_by(Handover.handed_at)).scalars().first()
    return handed.astimezone(tz).date() if handed else None


def deadline_of(session: Session, req: CustodyRequest, tz: tzinfo) -> AnswerDeadline | None:
    """The art. 12(3) deadline of a data subject's request; None for any other kind."""
    if req.kind != RequestKind.DATA_SUBJECT:
        return None
    return AnswerDeadline(due=due_on(req.received_on, req.extended_on),
                          first_due=due_on(req.received_on, None), extended_on=req.extended_on,
                          answered_on=_answered_on(session, req, tz))


def open_deadlines(session: Session, tz: tzinfo) -> list[tuple[CustodyRequest, AnswerDeadline]]:
    """Every data subject's request not answered yet, the nearest deadline first."""
    found = []
    for req in session.execute(select(CustodyRequest).where(
            CustodyRequest.kind == RequestKind.DATA_SUBJECT,
            CustodyRequest.status != RequestStatus.REFUSED)).scalars():
        d = deadline_of(session, req, tz)
        if d is not None and d.answered_on is None:
            found.append((req, d))
    return sorted(found, key=lambda pair: (pair[1].due, pair[0].id))


def extend(session: Session, tz: tzinfo, request_id: int, *, reason: str, on: date, by: str,
           actor: str, today: date, now: datetime | None = None) -> AnswerDeadline:
    """Record the extension by two months (art. 12 ust. 3 zd. 2-3 RODO): its reason, the day
    the data subject was told, who decided. Refused, changing nothing, for another kind of
    request, a second extension, one after the first month or after the answer, or without a
    reason."""
    check_texts(reason=reason)
    req = get_request(session, request_id)
    if req.kind != RequestKind.DATA_SUBJECT:
        raise InputError(f"request {req.id} is not a data subject's request; only those have "
                         f"the deadline of {LAW_PL}",
                         pl=f"Wniosek nr {req.id} nie jest żądaniem osoby, której dane dotyczą; "
                            f"tylko takie mają termin z {LAW_PL}.")
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", "an extension needs its reason (the request's complexity or "
                         "the number of requests), which the data subject is told",
                         pl="Przedłużenie wymaga podania przyczyny (skomplikowany charakter "
                            "żądania lub liczba żądań) — osoba, której dane dotyczą, jest o niej "
                            "informowana.")
    if req.extended_on is not None:
        raise InputError(f"the deadline of request {req.id} was already extended on "
                         f"{req.extended_on.isoformat()}; {LAW_PL} allows one extension by "
                         "two months",
                         pl=f"Termin wniosku nr {req.id} przedłużono już "
                            f"{req.extended_on.strftime('%d.%m.%Y')}; {LAW_PL} pozwala "
                            "przedłużyć go raz, o dwa miesiące.")
    current = deadline_of(session, req, tz)
    assert current is not None
    if current.answered_on is not None:
        raise InputError(f"request {req.id} was answered on {current.answered_on.isoformat()}; "
                         "there is no deadline to extend",
                         pl=f"Na wniosek nr {req.id} odpowiedziano "
                            f"{current.answered_on.strftime('%d.%m.%Y')}; nie ma terminu do "
                            "przedłużenia.")
    if on < req.received_on or on > today:
        raise FieldError("on", f"the day the data subject was told ({on.isoformat()}) must be "
                         f"between the request's receipt ({req.received_on.isoformat()}) and "
                         "today",
                         pl=f"Dzień zawiadomienia ({on.strftime('%d.%m.%Y')}) musi przypadać "
                            f"między dniem otrzymania wniosku "
                            f"({req.received_on.strftime('%d.%m.%Y')}) a dniem dzisiejszym.")
    if on > current.first_due:
        raise FieldError("on", f"the extension must be told within one month of receipt, by "
                         f"{current.first_due.isoformat()} ({LAW_PL}); it is too late",
                         pl=f"O przedłużeniu trzeba zawiadomić w ciągu miesiąca od otrzymania "
                            f"żądania, do {current.first_due.strftime('%d.%m.%Y')} ({LAW_PL}); "
                            "na przedłużenie jest za późno.")
    req.extended_on = on
    req.extension_reason = reason
    req.extended_by = by  # who signs the notice (issue 30 item 9), not who keyed it
    new = deadline_of(session, req, tz)
    assert new is not None
    audit(session, actor, "request.extend", f"request {req.id}",
          {"extended_on": on.isoformat(), "due": new.due.isoformat(), "reason": reason,
           "by": by}, at=now)
    record_action(session, "request.extend",
                  f"Przedłużono termin odpowiedzi na wniosek nr {req.id} do "
                  f"{new.due.strftime('%d.%m.%Y')} ({LAW_PL}); przyczyna: {reason}; "
                  f"osobę zawiadomiono {on.strftime('%d.%m.%Y')}",
                  printed(session, by), request_id=req.id, at=now)
    return new
