"""The custody sections: holds (opened, ended, open with basis and age), requests (by kind;
decided within the office's time or late; refused with reasons; data subjects answered within
art. 12 ust. 3 RODO) and copies (made, handed over, returned, destroyed, due and not destroyed).

Each rule is the one the registers and the dashboard read: the decision's time is
policy.custody.decision_overdue_after counted as custody.requests.overdue_since counts it, a data
subject's deadline is custody.answer_deadline.deadline_of, a copy's lifetime its expires_at.
Facts are taken as they stood at the period's end (dated rows only), so a later report says
the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from kustosz.custody.answer_deadline import deadline_of
from kustosz.custody.decisions import decision_of
from kustosz.custody.subject_review import SENT_BACK
from kustosz.db.custody import Copy, Destruction, Handover, Request
from kustosz.db.models import Hold
from kustosz.report.common import counted, in_period, iso, utc
from kustosz.report.material import Facts
from kustosz.states import RequestStatus


def holds(f: Facts) -> dict[str, Any]:
    hi = f.period.hi
    rows = list(f.session.execute(select(Hold).where(Hold.placed_at < hi)
                                  .order_by(Hold.id)).scalars())
    opened = [h.id for h in rows if in_period(h.placed_at, f.period)]
    ended = [h.id for h in rows if in_period(h.released_at, f.period)]
    open_ = [{"hold": h.id, "basis": h.basis, "case_ref": h.case_ref,
              "placed": iso(h.placed_at), "age_days": (hi - utc(h.placed_at)).days,
              "no_basis": not (h.basis or "").strip()}
             for h in rows if h.released_at is None or utc(h.released_at) >= hi]
    return {"opened": opened, "ended": ended, "open_at_end": open_}


def _decision(f: Facts, req: Request) -> dict[str, Any]:
    """The decision as it stood at the period's end, against the office's time for it
    (overdue_since's rule: late once the day after its last day has come)."""
    last = f.period.last
    d = decision_of(f.session, req.id)
    if d is not None and d.decided_on > last:
        d = None  # decided after the period: undecided at its end
    day = d.decided_on if d is not None else None
    if d is None and req.status == RequestStatus.REFUSED and utc(req.registered_at) < f.period.hi:
        day = req.registered_at.astimezone(f.policy.timezone).date()  # refused at intake
    if req.no_data_on is not None and req.no_data_on <= last:
        day = day or req.no_data_on  # answered: no data of the person (custody.no_data)
    due = f.policy.custody.decision_overdue_after.last_day(req.received_on)
    return {"decided_on": day.isoformat() if day else None, "due": due.isoformat(),
            "agree": d.agree if d is not None else (
                False if day and req.status == RequestStatus.REFUSED else None),
            "reason": (d.reason if d is not None and not d.agree else None)
            or (req.status_reason if req.status == RequestStatus.REFUSED and day else None),
            "late": day > due if day else due < last}


def _subject(f: Facts, req: Request) -> dict[str, Any] | None:
    d = deadline_of(f.session, req, f.policy.timezone)
    if d is None:
        return None
    last = f.period.last
    answered = d.answered_on if d.answered_on and d.answered_on <= last else None
    extended = req.extended_on if req.extended_on and req.extended_on <= last else None
    due = d.due if extended else d.first_due
    return {"due": due.isoformat(), "extended_on": extended.isoformat() if extended else None,
            "answered_on": answered.isoformat() if answered else None,
            "late": answered > due if answered else due < last}


def requests(f: Facts) -> dict[str, Any]:
    """Requests received in the period (the disclosures register of the same days), and any
    received before that were still undecided, or unanswered, past their time at its end."""
    rows = list(f.session.execute(select(Request).where(Request.received_on <= f.period.last)
                                  .order_by(Request.received_on, Request.id)).scalars())
    listed: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    for req in rows:
        decision = _decision(f, req)
        subject = _subject(f, req)
        row: dict[str, Any] = {
            "request": req.id, "kind": req.kind, "material": req.material,
            "received_on": req.received_on.isoformat(), "decision": decision,
            "subject_deadline": subject}
        if req.received_on >= f.period.first:
            listed.append(row)
        elif (decision["late"] and decision["decided_on"] is None) or \
                (subject and subject["late"] and subject["answered_on"] is None):
            overdue.append(row)
    decided = [r for r in listed if r["decision"]["decided_on"]]
    subjects = [r for r in listed if r["subject_deadline"]]
    return {"received": len(listed), "by_kind": counted([r["kind"] for r in listed]),
            "decided_in_time": sum(not r["decision"]["late"] for r in decided),
            "decided_late": sum(r["decision"]["late"] for r in decided),
            "refused": [{"request": r["request"], "reason": r["decision"]["reason"]}
                        for r in listed if r["decision"]["agree"] is False],
            "data_subjects": len(subjects),
            "data_subjects_answered_in_time": sum(
                1 for r in subjects if r["subject_deadline"]["answered_on"]
                and not r["subject_deadline"]["late"]),
            "requests": listed, "open_from_before": overdue}


def copies(f: Facts) -> dict[str, Any]:
    lo, hi = f.period.lo, f.period.hi
    made = list(f.session.execute(select(Copy).where(Copy.made_at >= lo, Copy.made_at < hi)
                                  .order_by(Copy.year, Copy.seq)).scalars())
    handed = f.session.execute(select(Handover, Copy.number).join(
        Copy, Copy.id == Handover.copy_id).where(Handover.handed_at >= lo,
                                                 Handover.handed_at < hi)
        .order_by(Handover.id)).all()
    destroyed = f.session.execute(select(Destruction, Copy.number).join(
        Copy, Copy.id == Destruction.copy_id).where(
        Destruction.second_at >= lo, Destruction.second_at < hi).order_by(Destruction.id)).all()
    returned = f.session.execute(select(Copy.number, Copy.reviewed_at).where(
        Copy.review_state == SENT_BACK, Copy.reviewed_at >= lo, Copy.reviewed_at < hi)
        .order_by(Copy.year, Copy.seq)).all()
    due = []
    for c in f.session.execute(select(Copy).where(Copy.made_at < hi, Copy.expires_at < hi)
                               .order_by(Copy.year, Copy.seq)).scalars():
        gone = f.session.execute(select(Destruction.second_at).where(
            Destruction.copy_id == c.id)).scalar()
        if gone is None and c.review_state == SENT_BACK:
            gone = c.destroyed_at  # destroyed at review: no commission, no protocol
        if gone is None or utc(gone) >= hi:
            due.append({"copy": c.number, "copy_id": c.id, "expired": iso(c.expires_at),
                        "days_past": (hi - utc(c.expires_at)) // timedelta(days=1)})
    return {"made": [{"copy": c.number, "at": iso(c.made_at)} for c in made],
            "handed_over": [{"copy": n, "handover": h.id, "at": iso(h.handed_at)}
                            for h, n in handed],
            "returned_at_review": [{"copy": n, "at": iso(at)} for n, at in returned],
            "destroyed": [{"copy": n, "at": iso(d.second_at)} for d, n in destroyed],
            "due_not_destroyed": due}
