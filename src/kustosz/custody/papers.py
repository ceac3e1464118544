"""The data each custody document prints, built from the tables (templates in documents/)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.agreements import is_contractor
from kustosz.access.authorisations import scope_pl
from kustosz.access.employees import DECLARATION
from kustosz.access.users import printed
from kustosz.custody import destruction, handover
from kustosz.custody.copies import fmt, get_copy
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.decisions import decision_of
from kustosz.custody.requests import KINDS, MATERIALS, get_request
from kustosz.db.access import Authorisation
from kustosz.db.custody import Copy, Decision, Handover, Request, User
from kustosz.documents.office import refuse_unless
from kustosz.errors import InputError, NotFound
from kustosz.kinds import Material, SourceKind
from kustosz.policy import Policy
from kustosz.states import RequestStatus

# Where each office's own forms come from, printed in the corner as the seeds print them.
ANNEX = {
    ("boleslawiec", "request-calls"): "Załącznik Nr 3 do zarządzenia Nr 259/2019 "
                                      "Prezydenta Miasta Bolesławiec z dnia 29 sierpnia 2019 r.",
    ("boleslawiec", "handover-protocol"): "Załącznik Nr 4 do zarządzenia Nr 259/2019 "
                                          "Prezydenta Miasta Bolesławiec",
    ("boleslawiec", "listening-protocol"): "Załącznik Nr 2 do zarządzenia Nr 259/2019 "
                                           "Prezydenta Miasta Bolesławiec",
    ("pleszew", "request-video"): "Załącznik nr 3 do regulaminu funkcjonowania monitoringu "
                                  "wizyjnego w Urzędzie Miasta i Gminy Pleszew",
    ("walbrzych", "authorisation"): "Załącznik nr 1 do Regulaminu rejestrowania rozmów "
                                    "telefonicznych MOPS w Wałbrzychu",
}


def _d(value: Any) -> str | None:
    return value.strftime("%d.%m.%Y") if value is not None else None


def _decision(session: Session, policy: Policy, req: Request) -> dict[str, Any] | None:
    d = decision_of(session, req.id)
    if d is None:
        return None
    return {"agree": d.agree, "on": _d(d.decided_on), "by": printed(session, d.decided_by),
            "by_title": policy.deputy_title, "capacity": d.capacity, "reason": d.reason,
            "paper_ref": d.paper_ref, "entry": entry_pl(session, policy, d)}


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


def request_form(session: Session, policy: Policy, request_id: int) -> tuple[str, dict]:
    req = get_request(session, request_id)
    name = "request-calls" if req.material == Material.CALLS else "request-video"
    notes = [f"Wniosek nr {req.id} ({KINDS[req.kind]}) zarejestrowano "
             f"{fmt(req.registered_at, policy, seconds=False)}."]
    if req.hold_id:
        notes.append(f"Nagranie zabezpieczono z chwilą rejestracji (zabezpieczenie nr "
                     f"{req.hold_id}).")
    if req.warning:
        notes.append(req.warning)
    if req.status == RequestStatus.REFUSED and req.status_reason:
        notes.append(req.status_reason)
    window = (f"{fmt(req.start_at, policy, seconds=False)[11:]} – "
              f"{fmt(req.end_at, policy, seconds=False)[11:]}")
    place = req.place or ", ".join(req.sources) + (f" — dotyczy: {req.who}" if req.who else "")
    data = {**policy.doc_names(),
            "title": f"Wniosek nr {req.id}", "annex": ANNEX.get((policy.preset, name)),
            "requester": req.requester, "contact": req.contact,
            "received_on": _d(req.received_on), "event_date": _d(req.event_date),
            "approx_time": req.approx_time, "window": window, "place": place,
            "caller": req.caller, "callee": req.callee, "description": req.description,
            "purpose": req.purpose, "decision": _decision(session, policy, req),
            "notes": notes, "footer": f"wniosek nr {req.id}"}
    return name, data


def decision_doc(session: Session, policy: Policy, request_id: int) -> tuple[str, dict]:
    req = get_request(session, request_id)
    d = _decision(session, policy, req)
    if d is None:
        raise InputError(f"request {req.id} has not been decided yet",
                         pl=f"Wniosek nr {req.id} nie został jeszcze rozpatrzony — nie ma "
                            "decyzji do wydrukowania.")
    subject = (f"{MATERIALS[req.material]}, {_d(req.event_date)}, "
               f"{fmt(req.start_at, policy, False)[11:]}–{fmt(req.end_at, policy, False)[11:]}, "
               + (req.place or req.who or ", ".join(x for x in (req.caller, req.callee) if x)))
    return "decision", {
        **policy.doc_names(),
        "title": f"Decyzja — wniosek nr {req.id}", "date": d["on"], "request_id": req.id,
        "received_on": _d(req.received_on), "requester": req.requester,
        "kind_pl": KINDS[req.kind], "subject": subject, "purpose": req.purpose, "decision": d}


def extension_notice_doc(session: Session, policy: Policy, request_id: int
                         ) -> tuple[str, dict]:
    """The notice telling a data subject that the answer's deadline is extended by two months,
    with the reason (art. 12 ust. 3 RODO); dated the day the person was told."""
    from kustosz.custody.answer_deadline import deadline_of

    req = get_request(session, request_id)
    d = deadline_of(session, req, policy.timezone)
    if d is None or d.extended_on is None:
        raise InputError(f"request {req.id} has no extended deadline to notify",
                         pl=f"Termin odpowiedzi na wniosek nr {req.id} nie został przedłużony — "
                            "nie ma zawiadomienia do wydrukowania.")
    return "extension-notice", {
        **policy.doc_names(), "title": f"Zawiadomienie — wniosek nr {req.id}",
        "date": _d(d.extended_on), "requester": req.requester, "contact": req.contact,
        "received_on": _d(req.received_on), "request_id": req.id,
        "subject": f"dostępu do danych osobowych ({MATERIALS[req.material]})",
        "due": _d(d.due), "reason": req.extension_reason,
        "signed_by": printed(session, req.extended_by) if req.extended_by else None,
        "footer": f"wniosek nr {req.id}"}


def _handed_items(policy: Policy, copy: Any) -> list[str]:
    """What the data subject receives, source by source, and what was taken out of it."""
    out = []
    for src in copy.sources or []:
        span = f"{fmt(_at(src['from']), policy, False)} – {fmt(_at(src['to']), policy, False)}"
        if src.get("kind") == SourceKind.PHONE:
            line = (f"nagranie rozmowy z numeru {src.get('caller')} na numer "
                    f"{src.get('callee')} ({span})")
        elif src.get("pseudonymised"):
            n = src["pseudonymised"].get("people_and_hosts", 0)
            line = (f"{MATERIALS_BY_KIND.get(src.get('kind'), 'dane')} ({span}) — wyłącznie "
                    f"wpisy dotyczące Pana/Pani; adresy, nazwy, komputery i konta innych osób "
                    f"({n}) zastąpiono pseudonimami")
        elif src.get("masking"):
            m = src["masking"]
            line = (f"nagranie z kamery {src.get('name')} ({span}) — wizerunki innych osób "
                    f"zamaskowane ({m.get('summary_pl', 'rozmycie nieodwracalne')})")
        else:
            line = f"{src.get('label') or src.get('name')} ({span})"
        out.append(line)
    return out


def _at(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


# The clause's paragraphs that state the person's rights (access, rectification, erasure,
# restriction, objection, complaint), whichever way each office's clause words them.
_RIGHTS = re.compile(r"\bprawo (do |dostępu|wniesienia|sprzeciwu|żądania)", re.IGNORECASE)
MATERIALS_BY_KIND = {SourceKind.MAILBOX.value: "wpisy z monitoringu poczty elektronicznej",
                     SourceKind.ENDPOINT.value: "wpisy z monitoringu aktywności IT"}


def answer_letter_doc(session: Session, policy: Policy, request_id: int) -> tuple[str, dict]:
    """The answer to a data subject's request (art. 15 and 12 ust. 3-4 RODO): what is handed
    over and what was taken out of it and why, or why nothing is; the rights the office's own
    clause names; the complaint to the Prezes UODO. Printed once the request is answered."""
    from kustosz.custody.answer_deadline import deadline_of
    from kustosz.documents.clauses import clause_points

    req = get_request(session, request_id)
    d = deadline_of(session, req, policy.timezone)
    if d is None:
        raise InputError(f"request {req.id} is not a data subject's request",
                         pl=f"Wniosek nr {req.id} nie jest żądaniem osoby, której dane "
                            "dotyczą — nie ma do niego odpowiedzi według art. 15 RODO.")
    if d.answered_on is None:
        raise InputError(f"request {req.id} is not answered yet: hand the copy over or record "
                         "the refusal first",
                         pl=f"Na wniosek nr {req.id} jeszcze nie odpowiedziano — najpierw "
                            "wydaj kopię albo zapisz odmowę.")
    handover = session.execute(select(Handover).where(Handover.request_id == req.id)
                               .order_by(Handover.handed_at)).scalars().first()
    copy = session.get(Copy, handover.copy_id) if handover else None
    kind = {Material.VIDEO: SourceKind.CAMERA, Material.CALLS: SourceKind.PHONE,
            Material.MAIL: SourceKind.MAILBOX, Material.EVENTS: SourceKind.ENDPOINT}[
        Material(req.material)]
    try:
        rights = [p for p in clause_points(policy, kind.value) if _RIGHTS.search(p)]
    except InputError:
        rights = []
    notes = []
    if copy is not None and kind == SourceKind.PHONE:
        notes.append("Kopia obejmuje wyłącznie rozmowy, w których uczestniczył Pana/Pani numer "
                     "telefonu.")
    decision = _decision(session, policy, req)
    return "answer-letter", {
        **policy.doc_names(), "title": f"Odpowiedź — wniosek nr {req.id}",
        "date": _d(d.answered_on), "requester": req.requester, "contact": req.contact,
        "received_on": _d(req.received_on), "request_id": req.id,
        "material": MATERIALS[req.material], "copy": copy.number if copy else None,
        "medium": handover.medium if handover else None,
        "items": _handed_items(policy, copy) if copy else [],
        "refusal": (decision or {}).get("reason") if copy is None else None,
        "extended": _d(d.extended_on), "rights": rights, "notes": notes,
        "protected": bool(copy) and any(src.get("pseudonymised") or src.get("masking")
                                        for src in copy.sources or []),
        # The clause's own words name the complaint already: not said twice.
        "complaint_said": any("skarg" in p for p in rights),
        "signed_by": printed(session, handover.handed_by) if handover else
        (decision or {}).get("by"), "footer": f"wniosek nr {req.id}"}


def label_doc(session: Session, policy: Policy, number: str, key_fingerprint: str
              ) -> tuple[str, dict]:
    copy = get_copy(session, number)
    first, last = held_period(copy)
    return "label", {"office": policy.office_name, "number": copy.number,
                     "from": fmt(first, policy), "to": fmt(last, policy),
                     "sources": [s.get("label", s.get("name")) for s in copy.sources],
                     "made_on": fmt(copy.made_at, policy, seconds=False),
                     "made_by": printed(session, copy.made_by),
                     "expires_on": kept_until(copy.expires_at, policy),
                     "key_fingerprint": key_fingerprint}


def handovers_of(session: Session, number: str) -> list[Handover]:
    """Every handover of the copy, oldest first: a copy may be handed over more than once
    (to the police, later to the court), each with its own protocol and receipt."""
    copy = get_copy(session, number)
    return list(session.execute(select(Handover).where(Handover.copy_id == copy.id)
                                .order_by(Handover.id)).scalars())


def the_handover(session: Session, number: str, handover_id: int | None = None) -> Handover:
    """Handover ``handover_id`` of copy ``number`` — or its last one when no id is given."""
    found = handovers_of(session, number)
    if not found:
        raise InputError(f"copy {number} has not been handed over",
                         pl=f"Kopii nr {number} nie przekazano — nie ma protokołu przekazania "
                            "ani pokwitowania.")
    if handover_id is None:
        return found[-1]
    for h in found:
        if h.id == handover_id:
            return h
    raise NotFound(f"copy {number} has no handover {handover_id}",
                   pl=f"Kopia nr {number} nie ma przekazania nr {handover_id}.")


def handover_doc(session: Session, policy: Policy, number: str,
                 handover_id: int | None = None) -> tuple[str, dict]:
    data = handover.protocol_data(session, policy, the_handover(session, number, handover_id))
    data["annex"] = ANNEX.get((policy.preset, "handover-protocol"))
    return "handover-protocol", data


def receipt_doc(session: Session, policy: Policy, number: str,
                handover_id: int | None = None) -> tuple[str, dict]:
    data = handover.protocol_data(session, policy, the_handover(session, number, handover_id))
    data["title"] = f"Pokwitowanie — kopia nr {number}"
    return "receipt", data


def destruction_doc(session: Session, policy: Policy, number: str) -> tuple[str, dict]:
    return "destruction-protocol", destruction.protocol_data(
        session, policy, get_copy(session, number))


# Blank forms about one kind of material: an office that keeps none gets no such form (a
# video request form in an office that records calls only would ask for what does not exist).
FORM_KIND = {"request-video": (SourceKind.CAMERA, "video request form",
                               "formularza wniosku o dane z monitoringu wizyjnego się nie drukuje"),
             "request-calls": (SourceKind.PHONE, "call recording request form",
                               "formularza wniosku o nagrania rozmów się nie drukuje")}


def blank(name: str, policy: Policy) -> dict[str, Any]:
    """A form to fill in by hand (or a document that needs only the office's details);
    refused for a form about material the office does not keep."""
    if name in FORM_KIND:
        refuse_unless(policy, *FORM_KIND[name])
    data = {**policy.doc_names(),
            "annex": ANNEX.get((policy.preset, name)), "decision": None, "notes": [],
            "rows": [], "members": [], "sources": [], "files": []}
    if name == "declaration":  # the same wording as the web's, from its one definition
        wording = DECLARATION.get(policy.preset or "", {})
        data.update(annex=wording.get("annex"), purposes=wording.get("purposes"))
    return data


def authorisation_doc_data(session: Session, policy: Policy, a: Authorisation) -> dict[str, Any]:
    """Data for authorisation.typ (004 annex 1)."""
    holder = session.get(User, a.holder_id)
    tz = policy.timezone
    data = blank("authorisation", policy)
    data.update({"number": f"{a.id}/{a.issued_at.astimezone(tz).year}",
                 "date": a.issued_at.astimezone(tz).strftime("%d.%m.%Y"),
                 "holder": printed(session, holder.name) if holder else "",
                 "scope": scope_pl(a),
                 "valid_from": a.valid_from.astimezone(tz).strftime("%d.%m.%Y"),
                 "valid_to": a.valid_to.astimezone(tz).strftime("%d.%m.%Y")})
    if holder is not None and is_contractor(holder):
        # 004 §6.3 and annex 1: the contractor's variant names the processing agreement
        data["contractor"] = {"agreement": holder.contractor_agreement,
                              "until": holder.contractor_until.strftime("%d.%m.%Y")
                              if holder.contractor_until else None}
    return data


def save(pdf_dir: Path, stem: str) -> Path:
    return pdf_dir / f"{stem.replace('/', '-')}.pdf"
