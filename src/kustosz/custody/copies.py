"""Copies (kopie nagrań, R4.3, R2.5) as kept: found by number, listed, due for destruction
once their lifetime is over, and that lifetime extended by a new request.

A copy is made in `copy_making` (its media set in `copy_material`, its files in `copy_media`
and `copy_remux`, its label and signature in `copy_seal`, its number in `copy_numbers`);
`make_copy` is handed on from here, where most callers look for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.custody.actions import record_action
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.copy_making import make_copy
from kustosz.custody.copy_remux import _remux_checked, remux
from kustosz.custody.copy_terms import expiry
from kustosz.custody.requests import STATUS_PL, get_request
from kustosz.db.custody import Copy
from kustosz.errors import InputError, NotFound
from kustosz.policy import Policy
from kustosz.policy.periods import local_day
from kustosz.states import CopyState, RequestStatus
from kustosz.words import period_pl

# make_copy: imported from here by most of the tests; remux and _remux_checked: reached as
# copies.remux and copies._remux_checked by tests/custody/test_export_hashing.py.
__all__ = ["_remux_checked", "ceiling", "extend_copy", "get_copy", "is_due", "list_copies",
           "make_copy", "remux"]


def ceiling(policy: Policy, copy: Copy) -> datetime | None:
    """The latest instant a copy may be kept where the office's lifetime is a ceiling that no
    request extends (policy.custody.copy_ceiling: "nie dłuższy niż 3 miesiące od dnia nagrania"
    [002 zał.5 §7.4]); None where a new request extends it [004 §7.9]. The one
    definition `copies extend` (CLI and any other path through extend_copy) is held to."""
    if policy.custody.copy_ceiling is None:
        return None
    return expiry(policy, held_period(copy)[0], copy.made_at)


def is_due(copy: Copy, now: datetime) -> bool:
    """Due for destruction: kept, and its lifetime is over (R2.5). A copy handed over is due
    all the same: the authority received its own medium, and the office's copy has no other
    end than its lifetime (issue 13 item 3). The one definition behind `copies list --due`,
    its `"due"` in --json, the copies page and the dashboard. A copy that another hold covers
    is still due; its destruction is refused, naming the hold, until that is released."""
    return copy.state == CopyState.KEPT and copy.expires_at <= now



def get_copy(session: Session, number: str) -> Copy:
    copy = session.execute(select(Copy).where(Copy.number == number.strip())) \
        .scalar_one_or_none()
    if copy is None:
        raise NotFound(f"no copy numbered {number!r} (see: kustosz copies list)",
                       pl=f"Nie ma kopii nr {number}.")
    return copy


def list_copies(session: Session, due_only: bool = False, now: datetime | None = None
                ) -> list[Copy]:
    """All copies; with ``due_only`` those due for destruction (`is_due`)."""
    copies = list(session.execute(select(Copy).order_by(Copy.year, Copy.seq)).scalars())
    if due_only:
        at = now or datetime.now(UTC)
        copies = [c for c in copies if is_due(c, at)]
    return copies


def extend_copy(session: Session, policy: Policy, number: str, request_id: int, actor: str,
                now: datetime | None = None) -> Copy:
    """A new, approved request extends the copy's lifetime, counted from that request [004 §7.9]."""
    now = now or datetime.now(UTC)
    copy = get_copy(session, number)
    if copy.state != CopyState.KEPT:
        raise InputError(f"copy {number} was destroyed; it cannot be extended",
                         pl=f"Kopia nr {number} została zniszczona; nie można przedłużyć jej "
                            "przechowywania.")
    req = get_request(session, request_id)
    if req.id == copy.request_id:
        raise InputError("extending a copy needs a new request, not the one it was made on",
                         pl="Przedłużenie przechowywania kopii wymaga nowego wniosku, a nie "
                            "tego, na podstawie którego ją sporządzono.")
    if req.status != RequestStatus.APPROVED:
        raise InputError(f"request {req.id} is {req.status}; only an approved request extends "
                         "a copy",
                         pl=f"Wniosek nr {req.id}: {STATUS_PL.get(req.status, req.status)}; "
                            "przechowywanie kopii przedłuża tylko wniosek, na który wyrażono "
                            "zgodę.")
    start = datetime.combine(req.received_on, datetime.min.time(), tzinfo=policy.timezone)
    new = policy.copy_lifetime.end(local_day(start, policy.timezone), policy.timezone)
    limit = ceiling(policy, copy)
    if limit is not None and new > limit:
        clause = policy.custody.copy_ceiling
        since = ("the day of recording" if policy.copy_counted_from == "recording_date"
                 else "the day the copy was made")
        since_pl = ("od dnia nagrania" if policy.copy_counted_from == "recording_date"
                    else "od dnia sporządzenia kopii")
        raise InputError(f"copy {number} cannot be extended: it is kept for at most "
                         f"{policy.copy_lifetime} from {since}, a ceiling no request extends "
                         f"(last day {kept_until(limit, policy)}) [{clause}]",
                         pl=f"Nie można przedłużyć przechowywania kopii nr {number}: kopia "
                            f"jest zabezpieczona na okres nie dłuższy niż "
                            f"{period_pl(policy.copy_lifetime)} {since_pl} i żaden wniosek "
                            f"tego okresu nie przedłuża (ostatni dzień: "
                            f"{kept_until(limit, policy)}) [{clause}].")
    if new <= copy.expires_at:
        raise InputError(f"request {req.id} would not extend copy {number} (kept until "
                         f"{kept_until(copy.expires_at, policy)} already)",
                         pl=f"Wniosek nr {req.id} nie przedłużyłby przechowywania kopii nr "
                            f"{number} (już jest przechowywana do "
                            f"{kept_until(copy.expires_at, policy)}).")
    old, copy.expires_at = copy.expires_at, new
    req.extends_copy = number
    req.status = RequestStatus.COPIED
    record_action(session, "copy.extend", f"Przedłużono okres przechowywania kopii nr {number} "
                  f"do {kept_until(new, policy)} na wniosek nr {req.id}.",
                  actor, request_id=req.id, copy_id=copy.id, at=now)
    audit(session, actor, "copy.extend", f"copy {number}", {
        "request": req.id, "from": old.isoformat(), "to": new.isoformat()})
    session.flush()
    return copy
