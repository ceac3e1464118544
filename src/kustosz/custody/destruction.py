"""Destruction of a copy by the commission (R2.6): at least two persons appointed by the head
[002 zał.5 §8.2], each confirming separately; the act goes into the register of actions
[§8.3] and a destruction protocol [003 §5.7]. The request's own hold is released with it;
a copy that another active hold covers is not destroyed. Whoever made the copy does not give
the second, destroying confirmation (policy.duties.copier_not_destroyer).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import printed, require_role
from kustosz.audit import append as audit
from kustosz.custody.copies import fmt, get_copy
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.holds import held_map
from kustosz.custody.registers import record_action
from kustosz.custody.requests import release_request_hold
from kustosz.db.custody import Copy, Destruction, Handover, Request
from kustosz.db.models import AuditEntry, Hold
from kustosz.documents.words import count_pl, period_pl
from kustosz.errors import FieldError, InputError
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.vault import Vault


def own_requests(session: Session, copy: Copy) -> list[Request]:
    """The requests this copy answers: the one it was made on, those that extended it, and
    the authorities' requests it was handed over on. Their auto-holds end with the copy."""
    handed = select(Handover.request_id).where(Handover.copy_id == copy.id)
    return list(session.execute(select(Request).where(
        (Request.id == copy.request_id) | (Request.extends_copy == copy.number)
        | Request.id.in_(handed)).order_by(Request.id)).scalars())


def _own_holds(session: Session, copy: Copy) -> set[int]:
    return {r.hold_id for r in own_requests(session, copy) if r.hold_id is not None}


def other_holds(session: Session, copy: Copy) -> list[Hold]:
    """Active holds on the copied material other than the copy's own requests' holds."""
    mine = _own_holds(session, copy)
    ids = sorted({h for hs in held_map(session, list(copy.items)).values() for h in hs} - mine)
    return [h for h in (session.get(Hold, i) for i in ids) if h is not None]


def makers(session: Session, copy: Copy) -> set[str]:
    """Who made the copy: the maker it names and the account that recorded it (a custodian
    may record a copy 'by' a colleague; neither may then destroy it)."""
    recorded = session.execute(select(AuditEntry.actor).where(
        AuditEntry.action == "copy.make", AuditEntry.subject == f"copy {copy.number}")).scalars()
    return {copy.made_by, *recorded}


def _check(session: Session, copy: Copy, by: str) -> None:
    if copy.state == "destroyed":
        raise InputError(f"copy {copy.number} was already destroyed on "
                         f"{copy.destroyed_at.isoformat() if copy.destroyed_at else '?'}")
    require_role(session, by, "commission", "confirm the destruction of a copy")
    others = other_holds(session, copy)
    if others:
        names = ", ".join(f"{h.id} ({h.basis})" for h in others)
        raise InputError(f"copy {copy.number} holds material under another active hold "
                         f"[{names}]; it is evidence and cannot be destroyed until that hold "
                         "is released")


def confirm(vault: Vault, number: str, by: str, actor: str, reason: str | None = None,
            now: datetime | None = None) -> tuple[Destruction, bool]:
    """One commission member's confirmation; the second different member's destroys the copy.
    Returns the destruction record and whether the copy is now destroyed."""
    now = now or datetime.now(UTC)
    check_texts(reason=reason)
    policy = vault.policy
    trash = folder = None
    try:
        with vault.transaction() as s:
            copy = get_copy(s, number)
            _check(s, copy, by)
            d = s.execute(select(Destruction).where(Destruction.copy_id == copy.id)).scalar()
            if d is None:
                why = (reason or "").strip() or _default_reason(copy, policy, now)
                d = Destruction(copy_id=copy.id, reason=why, first_by=by, first_at=now)
                s.add(d)
                s.flush()
                record_action(s, "copy.destroy.first", f"Członek komisji potwierdził zniszczenie "
                              f"kopii nr {copy.number} (pierwsze potwierdzenie).", printed(s, by),
                              copy_id=copy.id, request_id=copy.request_id, at=now)
                audit(s, actor, "copy.destroy.confirm", f"copy {copy.number}",
                      {"by": by, "reason": why, "step": 1})
                return d, False
            if d.first_by == by:
                raise InputError(f"{by} already confirmed the destruction of copy {copy.number}; "
                                 "the second confirmation must come from another member of the "
                                 "commission")
            if policy.duties.copier_not_destroyer and by in makers(s, copy):
                # The confirmation that destroys is the commission's check on the copy; its
                # maker may start the destruction but not complete it.
                raise FieldError("by", f"Kopię nr {copy.number} sporządził(a) lub zapisał(a) "
                                       f"w systemie {by}; "
                                       "potwierdzenie, które ją niszczy, musi złożyć inny "
                                       "członek komisji (policy.duties.copier_not_destroyer).")
            d.second_by, d.second_at = by, now
            copy.state, copy.destroyed_at = "destroyed", now
            folder = vault.root / copy.bundle
            # Moved aside inside the transaction, deleted after the commit: a failed commit puts
            # it back, a crash after the commit leaves only a trash folder to sweep.
            if folder.exists():
                trash = folder.with_name(f".destroyed-{folder.name}")
                os.replace(folder, trash)
            for req in own_requests(s, copy):
                release_request_hold(s, req, f"kopia nr {copy.number} zniszczona", actor, at=now)
            members = f"{printed(s, d.first_by)}; {printed(s, by)}"
            record_action(s, "copy.destroy", f"Komisyjnie zniszczono kopię nr {copy.number} "
                          f"(okres {' – '.join(fmt(t, policy) for t in held_period(copy))}); "
                          f"trwale usunięto "
                          f"{count_pl(len(copy.files), 'plik', 'pliki', 'plików')}. "
                          f"Przyczyna: {d.reason}",
                          members, copy_id=copy.id, request_id=copy.request_id, at=now)
            audit(s, actor, "copy.destroy", f"copy {copy.number}", {
                "commission": [d.first_by, by], "reason": d.reason,
                "files": [f["sha256"] for f in copy.files]})
            s.flush()
    except BaseException:
        if trash is not None and folder is not None and trash.exists():
            os.replace(trash, folder)  # the transaction did not commit: put the copy back
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return d, True


def _default_reason(copy: Copy, policy: Policy, now: datetime) -> str:
    if copy.expires_at <= now:
        return (f"upływ okresu przechowywania kopii ({period_pl(policy.copy_lifetime)}, do "
                f"{kept_until(copy.expires_at, policy)}) przy bezczynności "
                "uprawnionych organów")
    return "decyzja komisji"


def protocol_data(session: Session, policy: Policy, copy: Copy) -> dict[str, Any]:
    d = session.execute(select(Destruction).where(Destruction.copy_id == copy.id)).scalar()
    if d is None or d.second_by is None:
        raise InputError(f"copy {copy.number} has not been destroyed yet")
    return {
        "office": policy.office_name, "approver": policy.approver_title,
        "title": f"Protokół zniszczenia kopii nr {copy.number}",
        "date": (d.second_at or d.first_at).astimezone(policy.timezone).strftime("%d.%m.%Y"),
        "number": copy.number, "members": [printed(session, d.first_by),
                                           printed(session, d.second_by)],
        "period": " – ".join(fmt(t, policy) for t in held_period(copy)),
        "sources": [s.get("label", s.get("name", "")) for s in copy.sources],
        "made_on": copy.made_at.astimezone(policy.timezone).strftime("%d.%m.%Y"),
        "reason": d.reason, "manifest_sha256": copy.manifest_sha256,
        "files": [[f["path"], f"{f['size']:,}".replace(",", " "), f["sha256"]]
                  for f in copy.files],
    }
