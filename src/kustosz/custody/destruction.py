"""Destruction of a copy by the commission (R2.6): at least two persons appointed by the head
[002 zał.5 §8.2], each confirming separately; the act goes into the register of actions
[§8.3] and a destruction protocol [003 §5.7]. The request's own hold is released with it;
a copy that another active hold covers is not destroyed. Whoever made the copy does not give
the second, destroying confirmation (policy.duties.copier_not_destroyer).

A copy destroyed before its time — before its keep-until date, so possibly before it was ever
handed over — needs the commission's reason (issue 12 item 8): the first confirmation is refused
without one (`early_words`, the one rule for the pages, the API and the CLI). A due copy keeps
the automatic reason (the storage period is over and no authority asked for it).

Early as it may be, this is no early deletion of recorded material (issue 28 item 5): a copy
is a bundle in the data folder, never an object under the object store's lock, so it needs
no governance bypass. Recorded material itself leaves before its period only by the
two-person shortening of a period (kustosz.retention.shorten), the one step that re-dates
objects with the bypass.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.access.users import printed, require_role
from kustosz.audit import append as audit
from kustosz.custody import commission
from kustosz.custody.actions import record_action
from kustosz.custody.copies import ceiling, get_copy
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.copy_terms import fmt
from kustosz.custody.requests import HANDED_TO_PL, release_request_hold
from kustosz.db.custody import Copy, Destruction, Handover, Request
from kustosz.db.models import AuditEntry, Hold
from kustosz.errors import FieldError, InputError
from kustosz.fsutil import replace
from kustosz.holds.coverage import held_map
from kustosz.limits import check_texts
from kustosz.policy import Policy
from kustosz.states import CopyState, RequestKind, RequestStatus
from kustosz.vault import Vault
from kustosz.words import count_pl, period_pl


def own_requests(session: Session, copy: Copy) -> list[Request]:
    """The requests this copy answers: the one it was made on, those that extended it, and
    the authorities' requests it was handed over on. Their auto-holds end with the copy."""
    handed = select(Handover.request_id).where(Handover.copy_id == copy.id)
    return list(session.execute(select(Request).where(
        (Request.id == copy.request_id) | (Request.extends_copy == copy.number)
        | Request.id.in_(handed)).order_by(Request.id)).scalars())


def ended_requests(session: Session, copy: Copy) -> list[Request]:
    """Of `own_requests`, those whose holds end with the copy's destruction: the request it was
    made on and those it was handed over on. A request to extend its keeping (R2.5,
    ``extends_copy``) still waiting for its decision or its copy keeps its hold: the material
    stays secured for that request's own answer, whatever happens to this copy."""
    handed = set(session.execute(select(Handover.request_id).where(
        Handover.copy_id == copy.id)).scalars())
    return [r for r in own_requests(session, copy)
            if r.id == copy.request_id or r.id in handed
            or r.status not in (RequestStatus.REGISTERED, RequestStatus.APPROVED)]


def _own_holds(session: Session, copy: Copy) -> set[int]:
    return {r.hold_id for r in own_requests(session, copy) if r.hold_id is not None}


def _passing_holds(session: Session, ids: set[int]) -> set[int]:
    """Of the holds ``ids``, the automatic holds of requests that this copy neither answers
    nor is needed by: a request already answered with a copy of its own (status "copied"),
    whose hold ends with *that* copy — made, handed over or destroyed
    (policy.custody.hold_ends); and a request that only a copy of its own can answer — an
    interested person's, a data subject's (masked or narrowed to them, R6.2), an internal
    case's — whose hold keeps the originals that copy is made from. Only an authority is
    handed a copy made on another request [004 §7.1, 002 zał.5 §7.4]."""
    if not ids:
        return set()
    return set(session.execute(select(Request.hold_id).where(
        Request.hold_id.in_(ids),
        (Request.status == RequestStatus.COPIED) | (Request.kind != RequestKind.AUTHORITY)))
        .scalars())


def _waiting_requests(session: Session, holds: list[Hold]) -> list[Request]:
    """The requests whose automatic holds are among ``holds`` (other_holds: still waiting)."""
    ids = [h.id for h in holds]
    if not ids:
        return []
    return list(session.execute(select(Request).where(Request.hold_id.in_(ids))
                                .order_by(Request.id)).scalars())


def other_holds(session: Session, copy: Copy) -> list[Hold]:
    """Active holds on the copied material that keep this copy from destruction.

    Issue 30 item 1: in 004's office two persons asked to secure the same call; each request's
    hold lasts until its own copy is destroyed [004 §7.3], so counting the other's hold made
    each copy wait for the other — for ever. A request's hold keeps the originals for that
    request's own answer (`_passing_holds`); what keeps this copy is a hold placed as evidence
    (R2.3, until the proceedings end: released explicitly) and the hold of an authority's
    request still waiting for its answer (registered or approved), which this very copy may be
    handed over on [004 §7.1, 002 zał.5 §7.4: a copy is kept for the authorities who ask]:
    deciding it, copying it or handing this copy over on it ends the wait."""
    mine = _own_holds(session, copy)
    held = {h for hs in held_map(session, list(copy.items)).values() for h in hs} - mine
    ids = sorted(held - _passing_holds(session, held))
    return [h for h in (session.get(Hold, i) for i in ids) if h is not None]


def past_ceiling(policy: Policy, copy: Copy, now: datetime | None) -> bool:
    """Whether ``copy`` has reached the office's ceiling (policy.custody.copy_ceiling), past
    which nothing keeps it."""
    limit = ceiling(policy, copy)
    return limit is not None and limit <= (now or datetime.now(UTC))


def makers(session: Session, copy: Copy) -> set[str]:
    """Who made the copy: the maker it names and the account that recorded it (a custodian
    may record a copy 'by' a colleague; neither may then destroy it)."""
    recorded = session.execute(select(AuditEntry.actor).where(
        AuditEntry.action == "copy.make", AuditEntry.subject == f"copy {copy.number}")).scalars()
    return {copy.made_by, *recorded}


def early_words(session: Session, copy: Copy, policy: Policy, at: datetime) -> str | None:
    """Why destroying ``copy`` at ``at`` is early, in the words the protocol prints — or None
    when the copy is due (its keep-until date has passed). A copy not yet handed over says so:
    the authority may still ask for it."""
    if copy.expires_at <= at:
        return None
    handed = session.execute(select(func.count()).select_from(Handover).where(
        Handover.copy_id == copy.id, Handover.handed_at <= at)).scalar_one()
    words = (f"przed upływem okresu przechowywania (kopia miała być przechowywana do "
             f"{kept_until(copy.expires_at, policy)})")
    if not handed:
        req = session.get(Request, copy.request_id)
        words += (" i zanim została wydana "
                  + HANDED_TO_PL.get(req.kind if req else "", HANDED_TO_PL["authority"]))
    return words


def reason_needed(session: Session, copy: Copy, policy: Policy, now: datetime) -> str | None:
    """The early words when the next confirmation of ``copy`` must give a reason: the first
    one, before the copy's time. The second confirmation completes the first's reason."""
    if session.execute(select(Destruction.id).where(Destruction.copy_id == copy.id)).first():
        return None
    return early_words(session, copy, policy, now)


def _check(session: Session, copy: Copy, by: str, policy: Policy | None = None,
           now: datetime | None = None) -> None:
    if copy.state == CopyState.DESTROYED:
        when = copy.destroyed_at.isoformat() if copy.destroyed_at else "?"
        day = copy.destroyed_at.strftime("%d.%m.%Y") if copy.destroyed_at else "?"
        raise InputError(f"copy {copy.number} was already destroyed on {when}",
                         pl=f"Kopia nr {copy.number} została już zniszczona ({day}).")
    require_role(session, by, "commission", "confirm the destruction of a copy")
    if policy is not None and policy.access.commission_appointed:
        # 002 zał.5 §8.2: the commission is the persons the head appointed
        day = (now or datetime.now(UTC)).astimezone(policy.timezone).date()
        if commission.current(session, by, day) is None:
            # "Name, title" is an apposition: the sentence is built around it, not after it.
            raise FieldError("by", f"W dniu {day:%d.%m.%Y} do komisji niszczącej nie jest "
                                   f"wyznaczona osoba: {printed(session, by)}. Niszczenie "
                                   "nośników potwierdzają osoby wyznaczone zarządzeniem "
                                   f"{policy.names.approver_gen}. Wyznaczenie wpisuje "
                                   "zatwierdzający na stronie „Komisja niszcząca”.")
    others = other_holds(session, copy)
    waiting = _waiting_requests(session, others)
    if waiting and policy is not None and past_ceiling(policy, copy, now):
        # "nie dłuższy niż 3 miesiące od dnia nagrania" [002 zał.5 §7.4] is a ceiling
        # that no request extends, a waiting authority's least of all: the copy goes; the
        # request's own hold keeps the originals for its own copy.
        ended = {r.hold_id for r in waiting}
        others, waiting = [h for h in others if h.id not in ended], []
    if waiting:
        # Not evidence yet: a request on the same material waits for its answer, which may be
        # this copy. Say what ends the wait.
        nums = ", ".join(str(r.id) for r in waiting)
        one = len(waiting) == 1
        raise InputError(f"copy {copy.number} holds material that the authority's "
                         f"request(s) {nums} still wait for (not yet decided or copied); this "
                         "copy may be handed over on them. Decide them, make their copy or "
                         "hand this copy over on them first",
                         pl=f"Kopia nr {copy.number} obejmuje nagrania, na które "
                            + (f"czeka wniosek nr {nums}" if one else f"czekają wnioski nr {nums}")
                            + " uprawnionego organu (bez decyzji albo bez kopii); ta kopia może "
                            "zostać wydana na "
                            + ("ten wniosek. Najpierw rozpatrz wniosek, sporządź do niego kopię "
                               "albo wydaj na niego tę kopię." if one else
                               "te wnioski. Najpierw rozpatrz wnioski, sporządź do nich kopie "
                               "albo wydaj na nie tę kopię."))
    if others:
        names = ", ".join(f"{h.id} ({h.basis})" for h in others)
        raise InputError(f"copy {copy.number} holds material under another active hold "
                         f"[{names}]; it is evidence and cannot be destroyed until that hold "
                         "is released",
                         pl=f"Kopia nr {copy.number} obejmuje nagrania objęte innym aktywnym "
                            f"zabezpieczeniem (nr {names}); jest dowodem i nie może zostać "
                            "zniszczona, dopóki tego zabezpieczenia nie zwolniono.")


def _reason_for(session: Session, copy: Copy, policy: Policy, reason: str | None,
                now: datetime) -> str:
    """The reason the first confirmation records: the commission's own, required when the
    destruction is early; a due copy's automatic one otherwise."""
    given = (reason or "").strip()
    early = early_words(session, copy, policy, now)
    if early is not None and not given:
        raise FieldError("reason", f"copy {copy.number} is destroyed before its keep-until date "
                                   f"({kept_until(copy.expires_at, policy)}); give the "
                                   "commission's reason (--reason)",
                         pl=f"Kopia nr {copy.number} jest niszczona {early}. Podaj przyczynę "
                            "zniszczenia przed terminem — trafi do protokołu zniszczenia i do "
                            "rejestru działań.")
    return given or _default_reason(copy, policy, now)


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
            _check(s, copy, by, policy, now)
            d = s.execute(select(Destruction).where(Destruction.copy_id == copy.id)).scalar()
            if d is None:
                why = _reason_for(s, copy, policy, reason, now)
                early = early_words(s, copy, policy, now)
                d = Destruction(copy_id=copy.id, reason=why, first_by=by, first_at=now)
                s.add(d)
                s.flush()
                record_action(s, "copy.destroy.first", f"Członek komisji potwierdził zniszczenie "
                              f"kopii nr {copy.number} (pierwsze potwierdzenie)."
                              + (f" Zniszczenie {early}. Przyczyna: {why}" if early else ""),
                              printed(s, by), copy_id=copy.id, request_id=copy.request_id,
                              at=now)
                audit(s, actor, "copy.destroy.confirm", f"copy {copy.number}",
                      {"by": by, "reason": why, "step": 1})
                return d, False
            if d.first_by == by:
                # "Marta Kamińska, członek komisji, już…": a title is an apposition, in commas.
                who = printed(s, by) + ("," if "," in printed(s, by) else "")
                raise InputError(f"{by} already confirmed the destruction of copy {copy.number}; "
                                 "the second confirmation must come from another member of the "
                                 "commission",
                                 pl=f"{who} już potwierdził(a) zniszczenie kopii nr "
                                    f"{copy.number}; drugie potwierdzenie musi złożyć inny "
                                    "członek komisji.")
            if policy.duties.copier_not_destroyer and by in makers(s, copy):
                # The confirmation that destroys is the commission's check on the copy; its
                # maker may start the destruction but not complete it.
                raise FieldError("by", f"Kopię nr {copy.number} sporządził(a) lub zapisał(a) "
                                       f"w systemie {by}; "
                                       "potwierdzenie, które ją niszczy, musi złożyć inny "
                                       "członek komisji (policy.duties.copier_not_destroyer).")
            d.second_by, d.second_at = by, now
            copy.state, copy.destroyed_at = CopyState.DESTROYED, now
            folder = vault.root / copy.bundle
            # Moved aside inside the transaction, deleted after the commit: a failed commit puts
            # it back, a crash after the commit leaves only a trash folder to sweep. A copy
            # bundle, not stored media: the folder is renamed (durably), its files untouched.
            if folder.exists():
                trash = folder.with_name(f".destroyed-{folder.name}")
                replace(folder, trash, sync_source=False)
            for req in ended_requests(s, copy):
                release_request_hold(s, req, f"kopia nr {copy.number} zniszczona", actor, at=now)
            members = f"{printed(s, d.first_by)}; {printed(s, by)}"
            early = early_words(s, copy, policy, d.first_at)
            record_action(s, "copy.destroy", f"Komisyjnie zniszczono kopię nr {copy.number} "
                          f"(okres {' – '.join(fmt(t, policy) for t in held_period(copy))}); "
                          f"trwale usunięto "
                          f"{count_pl(len(copy.files), 'plik', 'pliki', 'plików')}. "
                          + (f"Zniszczenie {early}. " if early else "")
                          + f"Przyczyna: {d.reason}",
                          members, copy_id=copy.id, request_id=copy.request_id, at=now)
            audit(s, actor, "copy.destroy", f"copy {copy.number}", {
                "commission": [d.first_by, by], "reason": d.reason,
                "files": [f["sha256"] for f in copy.files]})
            s.flush()
    except BaseException:
        if trash is not None and folder is not None and trash.exists():
            replace(trash, folder, sync_source=False)  # not committed: the copy goes back
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return d, True


def record_medium(session: Session, number: str, handover_id: int, how: str, by: str,
                  actor: str, now: datetime | None = None) -> Handover:
    """How the commission destroyed the medium a copy was handed out on — or that it stays
    with its receiver (004 §7.9 "fizycznemu zniszczeniu"; 002 zał.5 §8.2) — recorded once,
    by a member of the commission, whenever it happens: a medium returned while the copy is
    still kept is destroyed when it comes back (issue 49 item 16: it could be recorded only
    once the copy's destruction had begun); the copy's protocol prints it in place of the
    column filled in by hand."""
    now = now or datetime.now(UTC)
    check_texts(medium=how)  # the limits of a medium's description (limits.TEXT_LIMITS)
    copy = get_copy(session, number)
    h = session.get(Handover, handover_id)
    if h is None or h.copy_id != copy.id:
        raise FieldError("handover", f"copy {copy.number} was not handed out by handover "
                         f"{handover_id}",
                         pl=f"Kopii nr {copy.number} nie wydano w przekazaniu nr "
                            f"{handover_id} — podaj przekazanie tej kopii.")
    text = (how or "").strip()
    if not text:
        raise FieldError("how", "say how the medium was destroyed (or that it stays with its "
                         "receiver)",
                         pl="Podaj sposób zniszczenia nośnika (np. „płytę pocięto w "
                            "niszczarce”) albo informację, że nośnik pozostaje u odbiorcy.")
    if h.medium_destroyed is not None:
        raise InputError(f"the medium of handover {h.id} is recorded already: "
                         f"{h.medium_destroyed}",
                         pl=f"Sposób zniszczenia nośnika z przekazania nr {h.id} jest już "
                            f"zapisany: {h.medium_destroyed}.")
    require_role(session, by, "commission", "record how a medium was destroyed")
    h.medium_destroyed = text
    record_action(session, "copy.medium.destroy",
                  f"Nośnik kopii nr {copy.number} ({h.medium or 'nośnik bez opisu'}; "
                  f"przekazanie nr {h.id}, odbiorca: {h.receiver}) — sposób zniszczenia: "
                  f"{text}.", printed(session, by),
                  copy_id=copy.id, request_id=h.request_id, at=now)
    audit(session, actor, "copy.medium.destroy", f"copy {copy.number}",
          {"handover": h.id, "how": text, "by": by})
    session.flush()
    return h


def _appointments(session: Session, policy: Policy, d: Destruction) -> str | None:
    """'zarządzenie nr … z dnia …' of the members' appointments in force when each confirmed."""
    found = []
    for who, at in ((d.first_by, d.first_at), (d.second_by, d.second_at or d.first_at)):
        row = commission.current(session, who or "", at.astimezone(policy.timezone).date())
        if row is not None and commission.words(row) not in found:
            found.append(commission.words(row))
    return "; ".join(found) or None


def _default_reason(copy: Copy, policy: Policy, now: datetime) -> str:
    if copy.expires_at <= now:
        return (f"upływ okresu przechowywania kopii ({period_pl(policy.copy_lifetime)}, do "
                f"{kept_until(copy.expires_at, policy)}) przy bezczynności "
                "uprawnionych organów")
    return "decyzja komisji"


def protocol_data(session: Session, policy: Policy, copy: Copy) -> dict[str, Any]:
    d = session.execute(select(Destruction).where(Destruction.copy_id == copy.id)).scalar()
    if d is None or d.second_by is None:
        raise InputError(f"copy {copy.number} has not been destroyed yet",
                         pl=f"Kopia nr {copy.number} nie została zniszczona — nie ma protokołu "
                            "jej zniszczenia.")
    early = early_words(session, copy, policy, d.first_at)
    return {
        **policy.doc_names(),
        "title": f"Protokół zniszczenia kopii nr {copy.number}",
        "date": (d.second_at or d.first_at).astimezone(policy.timezone).strftime("%d.%m.%Y"),
        "number": copy.number, "members": [printed(session, d.first_by),
                                           printed(session, d.second_by)],
        "period": " – ".join(fmt(t, policy) for t in held_period(copy)),
        "sources": [s.get("label", s.get("name", "")) for s in copy.sources],
        "made_on": copy.made_at.astimezone(policy.timezone).strftime("%d.%m.%Y"),
        "reason": d.reason, "manifest_sha256": copy.manifest_sha256,
        # the head's orders appointing the members [002 zał.5 §8.2]; None when none recorded
        "appointment": _appointments(session, policy, d),
        # printed apart from the reason: the commission destroyed it before its time
        "early": f"Kopię zniszczono {early}." if early else None,
        "files": [[f["path"], f"{f['size']:,}".replace(",", " "), f["sha256"]]
                  for f in copy.files],
    }
