"""What refuses a copy of a request before any work is done (`planned`: the request's state,
the person making it, a period not yet over, nothing stored), and the request's state again
under the write lock (`check_request`); whether a copy gets playable files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kustosz.access.users import get_user
from kustosz.custody.copy_material import Group, check_ready, gather
from kustosz.custody.copy_terms import COPY_ROLES
from kustosz.custody.requests import get_request, refuse_if_answered
from kustosz.custody.subject_review import SENT_BACK, check_period
from kustosz.db.custody import Copy, Request
from kustosz.errors import InputError, NotFound
from kustosz.kinds import SourceKind
from kustosz.masking import residual
from kustosz.states import RequestKind, RequestStatus
from kustosz.vault import Vault


def check_request(session: Session, req: Request) -> None:
    refuse_if_answered(req)
    if req.status == RequestStatus.REFUSED:
        raise InputError(f"request {req.id} was refused"
                         + (f" ({req.status_reason})" if req.status_reason else "")
                         + "; no copy can be made of it",
                         pl=f"Wniosek nr {req.id} został odrzucony"
                            + (f" ({req.status_reason})" if req.status_reason else "")
                            + "; nie można sporządzić z niego kopii.")
    if req.status == RequestStatus.REGISTERED:
        raise InputError(f"request {req.id} has not been decided yet; the "
                         "approver's consent comes first (kustosz requests decide)",
                         pl=f"Wniosek nr {req.id} nie został jeszcze rozpatrzony; najpierw "
                            "potrzebna jest zgoda zatwierdzającego.")
    # A copy sent back at review (custody.subject_review) was destroyed unhanded, and one the
    # every-frame check withheld (masking.residual) can be neither reviewed nor handed over:
    # either way the request is copied again once its masks are corrected (issue 49 item 1:
    # a withheld copy was a dead end, the only way out a new request).
    made = session.execute(select(Copy.number).where(
        Copy.request_id == req.id,
        or_(Copy.review_state.is_(None),
            Copy.review_state.not_in((SENT_BACK, residual.STATE))))).scalar()
    if made is not None:
        raise InputError(f"request {req.id} already has copy {made}",
                         pl=f"Do wniosku nr {req.id} sporządzono już kopię nr {made}.")


def _custodian(session: Session, name: str) -> str:
    user = get_user(session, name)
    if not user.active or not set(user.roles) & set(COPY_ROLES):
        raise InputError(f"user {name!r} may not make copies (needs the custodian or "
                         "administrator role and an active account)",
                         pl=f"Użytkownik „{name}” nie może sporządzać kopii (wymaga roli "
                            "kustosza lub administratora i aktywnego konta).")
    return name


def planned(session: Session, request_id: int, by: str, vault: Vault,
            now: datetime) -> tuple[Request, list[Group]]:
    """What a copy of the request would hold; everything that refuses one before any work."""
    req = get_request(session, request_id)
    check_request(session, req)
    _custodian(session, by)
    check_ready(session, req, vault, now)
    groups = gather(session, req, vault.policy)
    if req.kind == RequestKind.DATA_SUBJECT and any(g.source.kind == SourceKind.CAMERA
                                                    for g in groups):
        check_period(req)  # masked in one job: refused before it is queued
    if not groups:
        raise NotFound(f"request {req.id}: no stored material in the period of the request "
                       "(it may have been deleted before the request was registered)",
                       pl=f"Wniosek nr {req.id}: w okresie objętym wnioskiem nie ma "
                          "przechowywanych nagrań (mogły zostać usunięte przed "
                          "zarejestrowaniem wniosku).")
    return req, groups


def wants_playable(kind: str, option: bool | None) -> bool:
    """Whether a copy gets playable files: by default for an authority's request (police,
    prosecutor, court: they ask for one file that plays with the time visible), on request
    for an interested person's or an internal case; never for a data subject's, whose video
    must show no other identifiable person (R6.2: the masked video is their copy)."""
    if kind == RequestKind.DATA_SUBJECT:
        if option:
            raise InputError("a data subject's copy gets no playable file: what they receive "
                             "must show no other identifiable person (R6.2)",
                             pl="Kopia dla osoby, której dane dotyczą, nie zawiera pliku "
                                "odtwarzalnego: przekazany materiał nie może pokazywać innych "
                                "możliwych do zidentyfikowania osób.")
        return False
    return (kind == RequestKind.AUTHORITY) if option is None else option

