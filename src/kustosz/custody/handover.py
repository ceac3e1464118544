"""Handover of a copy to an authorised body (R4.1, R4.4): who received it, on what written
request, when; the handover protocol in two copies [001 zał. 4] and a receipt [003 §5.8]."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kustosz.access.users import get_user, printed
from kustosz.audit import append as audit
from kustosz.custody import bundles
from kustosz.custody.actions import record_action
from kustosz.custody.copies import get_copy
from kustosz.custody.copy_terms import COPY_ROLES, fmt
from kustosz.custody.requests import end_request_holds, get_request, refuse_if_answered
from kustosz.custody.subject_review import handover_refusal
from kustosz.db.custody import Copy, Handover, Request
from kustosz.errors import InputError
from kustosz.kinds import SourceKind
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.states import CopyState, RequestKind, RequestStatus
from kustosz.vault import Vault

# Disclosure only to authorised bodies [000 §1.12; 002 zał.5 §6.1; 004 §7.1], and to the data
# subject exercising the right of access (R6.2).
RECEIVING_KINDS = ("authority", "data_subject")
_STATUS_PL = {"registered": "czeka na decyzję", "refused": "został odrzucony (odmowa)"}


def _check_own_copy(session: Session, copy: Copy, req: Request) -> None:
    """R6.2: a data subject receives only the copy made on their own request — narrowed to
    them, masked or pseudonymised for them — never one made for another request (another
    person's calls, an authority's unmasked copy). A data subject's copy in turn is theirs:
    it goes to no one on another request. Only an authority is handed a copy made on
    another request [004 §7.1, 002 zał.5 §7.4]."""
    if req.id == copy.request_id:
        return
    if req.kind == RequestKind.DATA_SUBJECT:
        raise InputError(f"copy {copy.number} was made for request {copy.request_id}, not for "
                         f"the data subject's request {req.id}; a data subject receives only "
                         "the copy made on their own request (R6.2)",
                         pl=f"Kopia nr {copy.number} została sporządzona do wniosku nr "
                            f"{copy.request_id}, a nie do żądania nr {req.id}. Osobie, której "
                            "dane dotyczą, wydaje się wyłącznie kopię sporządzoną na jej "
                            "własne żądanie — kopia z innego wniosku może zawierać dane "
                            "innych osób.")
    own = session.get(Request, copy.request_id) if copy.request_id else None
    if own is not None and own.kind == RequestKind.DATA_SUBJECT:
        raise InputError(f"copy {copy.number} is the data subject's copy of request {own.id}; "
                         f"it is handed only on that request, not on request {req.id}",
                         pl=f"Kopia nr {copy.number} jest kopią sporządzoną na żądanie osoby, "
                            f"której dane dotyczą (wniosek nr {own.id}); wydaje się ją tylko tej "
                            f"osobie, a nie na wniosek nr {req.id}.")


def _check(session: Session, copy: Copy, req: Request, by: str, receiver: str) -> None:
    if copy.state != CopyState.KEPT:
        raise InputError(f"copy {copy.number} was destroyed; there is nothing to hand over",
                         pl=f"Kopia nr {copy.number} została zniszczona — nie ma czego "
                            "przekazać.")
    if not receiver.strip():
        raise InputError("name the receiver (imię, nazwisko, organ) with --receiver",
                         pl="Podaj osobę i organ przyjmujący kopię (imię, nazwisko, organ).")
    if req.kind not in RECEIVING_KINDS:
        raise InputError(f"request {req.id} is not an authority's request; copies are handed "
                         "only to authorised bodies on their written request (give --request "
                         "with the authority's request)",
                         pl=f"Wniosek nr {req.id} nie jest wnioskiem uprawnionego organu ani "
                            "osoby, której dane dotyczą; kopie wydaje się tylko uprawnionym "
                            "organom na ich pisemny wniosek.")
    if req.status not in (RequestStatus.APPROVED, RequestStatus.COPIED):
        raise InputError(f"request {req.id} is {req.status}; handing over needs the "
                         "approver's consent to that request",
                         pl=f"Wniosek nr {req.id} {_STATUS_PL.get(req.status, req.status)}; "
                            "przekazanie kopii wymaga zgody kierownika na ten wniosek.")
    _check_own_copy(session, copy, req)
    refuse_if_answered(req)

    refused = handover_refusal(copy, req.kind)
    if refused is not None:
        raise refused
    user = get_user(session, by)
    if not user.active or not set(user.roles) & {*COPY_ROLES, "approver"}:
        raise InputError(f"user {by!r} may not hand copies over",
                         pl=f"Użytkownik {by} nie może przekazywać kopii (potrzebna rola "
                            "kierownika, administratora lub opiekuna kopii).")


def hand_over(vault: Vault, number: str, *, receiver: str, by: str, actor: str,
              request_id: int | None = None, medium: str | None = None,
              zip_to: Path | None = None, password: str | None = None,
              now: datetime | None = None) -> tuple[Handover, str | None]:
    """Record the handover; optionally write the bundle as an (encrypted) ZIP for the medium.
    Returns the handover and the ZIP password (generated when none was given)."""
    now = now or datetime.now(UTC)
    check_texts(receiver=receiver, medium=medium)
    with vault.reading() as s:
        copy = get_copy(s, number)
        req = get_request(s, request_id if request_id is not None else copy.request_id)
        _check(s, copy, req, by, receiver)
        bundle = vault.root / copy.bundle
    if zip_to is not None:
        password = password or secrets.token_urlsafe(12)
        bundles.write_zip(bundle, zip_to, password)
    try:
        with vault.transaction() as s:
            copy = get_copy(s, number)
            req = get_request(s, req.id)
            _check(s, copy, req, by, receiver)
            h = Handover(copy_id=copy.id, request_id=req.id, receiver=receiver.strip(),
                         handed_by=by, handed_at=now,
                         medium=(medium or "").strip() or (
                             "plik ZIP szyfrowany (AES-256)" if zip_to else None),
                         recorded_by=actor)
            s.add(h)
            if req.id != copy.request_id or req.status == RequestStatus.APPROVED:
                req.status = RequestStatus.COPIED
            record_action(s, "copy.handover", f"Wydano kopię nr {copy.number} — "
                          f"{receiver.strip()}, na wniosek nr {req.id} z dnia "
                          f"{req.received_on.strftime('%d.%m.%Y')}.", printed(s, by),
                          request_id=req.id, copy_id=copy.id, at=now)
            # Where the office's rule ends a request's hold with the handover (policy.custody):
            # the request it is handed over on, and the copy's own.
            own = s.get(Request, copy.request_id)
            if own is not None and own.kind == RequestKind.DATA_SUBJECT and now < copy.expires_at:
                # Handed to the person, the office's copy has no purpose left (art. 5 ust. 1
                # lit. c, e RODO) and its label says only a record of it is kept (issue 49
                # item 4): due for destruction from now, not at the end of its period.
                copy.expires_at = now
            end_request_holds(s, vault.policy, [req, *([own] if own else [])], "handover",
                              copy.number, actor, at=now)
            s.flush()
            audit(s, actor, "copy.handover", f"copy {copy.number}", {
                "request": req.id, "receiver": h.receiver, "by": by, "zip": bool(zip_to),
                "expires_at": copy.expires_at.isoformat()})
    except BaseException:
        if zip_to is not None:
            zip_to.unlink(missing_ok=True)
        raise
    return h, (password if zip_to is not None else None)


def protocol_data(session: Session, policy: Policy, h: Handover) -> dict[str, Any]:
    """What the handover protocol and the receipt print."""
    copy = session.get(Copy, h.copy_id)
    req = session.get(Request, h.request_id)
    assert copy is not None and req is not None
    return {
        **policy.doc_names(),
        "title": f"Protokół przekazania kopii nr {copy.number}",
        "date": h.handed_at.astimezone(policy.timezone).strftime("%d.%m.%Y"),
        "number": copy.number, "receiver": h.receiver,
        "request_date": req.received_on.strftime("%d.%m.%Y"), "request_ref": req.case_ref,
        "purpose": req.purpose, "material": req.material, "rows": media_rows(copy, policy),
        "handed_by": printed(session, h.handed_by), "medium": h.medium,
        "manifest_sha256": copy.manifest_sha256,
    }


def media_rows(copy: Copy, policy: Policy) -> list[list[str]]:
    """Data | Nr telefonu (or the camera) | Czas nagrania — one row per recording file."""
    out = []
    for src in copy.sources:
        start = datetime.fromisoformat(src["from"])
        end = datetime.fromisoformat(src["to"])
        what = (f"{src.get('caller', '')} → {src.get('callee', '')}"
                if src.get("kind") == SourceKind.PHONE else src.get("label", src.get("name", "")))
        out.append([start.astimezone(policy.timezone).strftime("%d.%m.%Y"), what,
                    f"{fmt(start, policy)[11:]} – {fmt(end, policy)[11:]}"])
    return out
