"""The data each custody document prints, built from the tables (templates in documents/)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.agreements import is_contractor
from kustosz.access.authorisations import scope_pl
from kustosz.access.employees import declaration_purposes
from kustosz.access.users import printed
from kustosz.custody import destruction, handover
from kustosz.custody.answer_deadline import deadline_of
from kustosz.custody.copies import get_copy
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.copy_terms import fmt
from kustosz.custody.decisions import decision_of, on_paper, paper_blocks
from kustosz.custody.requests import DELIVERY, KINDS, MATERIALS, copy_period, get_request
from kustosz.db.access import Authorisation
from kustosz.db.custody import Copy, Handover, Request, User
from kustosz.documents.clauses import access_facts, clause_points
from kustosz.documents.office import (
    annex,
    controller_named,
    refuse_unless,
    signs_as,
    supervisor,
)
from kustosz.errors import InputError, NotFound
from kustosz.kinds import Material, SourceKind
from kustosz.policy import Policy
from kustosz.states import RequestKind, RequestStatus

# A document: its template's name and the data it prints (any values a template can show, as
# the templates in documents/ take them).
Doc = tuple[str, dict[str, Any]]


def _securing(policy: Policy) -> bool:
    """Whether an interested person's request asks to secure the recording, as the office's
    model words it ([requests] securing_for_interested: 004 §7.4)."""
    return bool(policy.raw.get("requests", {}).get("securing_for_interested"))


def _d(value: date | None) -> str | None:
    return value.strftime("%d.%m.%Y") if value is not None else None


def _decision(session: Session, policy: Policy, req: Request) -> dict[str, Any] | None:
    d = decision_of(session, req.id)
    return None if d is None else on_paper(session, policy, d)


def _asked_time(req: Request, policy: Policy) -> str:
    """The time the applicant gave (002 zał. 3 "zakres czasowy"): the hour they remember, or
    the period they asked for — not the margin the hold adds either side (R4.2)."""
    if req.approx_time:
        return f"ok. {req.approx_time}"
    start, end = copy_period(req)
    if (end - start).total_seconds() >= 86_400 and _clock(start, policy) == "00:00":
        return "cały dzień"  # a calls request without an hour holds the whole day
    return f"{_clock(start, policy)} – {_clock(end, policy)}"


def _clock(at: datetime, policy: Policy) -> str:
    """HH:MM, or HH:MM:SS where the time names its second (one format within a line)."""
    local = at.astimezone(policy.timezone)
    return local.strftime("%H:%M:%S" if local.second else "%H:%M")


def _what_identifies(req: Request) -> str:
    """The place, numbers or person that find the material, as one phrase; never empty."""
    if req.place:
        return req.place
    numbers = [n for n in (req.caller, req.callee) if n]
    if numbers:
        return " → ".join(numbers)
    if req.who:
        return req.who
    return ", ".join(req.sources) or "—"


HELPS_FIND = {Material.VIDEO: "np. ubiór, rodzaj sprawy",
              Material.CALLS: "np. z kim lub w jakiej sprawie rozmawiano",
              Material.MAIL: "np. temat wiadomości, nadawca lub adresat",
              Material.EVENTS: "np. stanowisko komputerowe, rodzaj czynności"}


def request_form(session: Session, policy: Policy, request_id: int) -> Doc:
    req = get_request(session, request_id)
    subject = req.kind == RequestKind.DATA_SUBJECT
    name = ("request-subject" if subject else
            "request-calls" if req.material == Material.CALLS else "request-video")
    notes = [f"Wniosek nr {req.id} ({KINDS[req.kind]}) zarejestrowano "
             f"{fmt(req.registered_at, policy, seconds=False)}."]
    if req.hold_id:
        notes.append(f"Nagrania z okresu {fmt(req.start_at, policy, seconds=False)[11:]} – "
                     f"{fmt(req.end_at, policy, seconds=False)[11:]} zabezpieczono z chwilą "
                     f"rejestracji (zabezpieczenie nr {req.hold_id}).")
    if req.warning:
        notes.append(req.warning)
    decision = _decision(session, policy, req)
    blocks = paper_blocks(session, policy, req.id)
    # A refusal by a decision prints its reason once, in the decision's block ("Uzasadnienie");
    # the annotations keep a refusal no decision printed here holds (a late request at
    # registration).
    refused_here = any(d is not None and d.get("agree") is False for d in (decision, *blocks))
    if req.status == RequestStatus.REFUSED and req.status_reason and not refused_here:
        notes.append(req.status_reason)
    place = req.place or ", ".join(req.sources) + (f" — dotyczy: {req.who}" if req.who else "")
    data = {**policy.doc_names(),
            "title": f"Wniosek nr {req.id}", "annex": annex(policy, name),
            "requester": req.requester, "contact": req.contact,
            "received_on": _d(req.received_on), "event_date": _d(req.event_date),
            "approx_time": req.approx_time, "window": _asked_time(req, policy), "place": place,
            "caller": req.caller, "callee": req.callee, "description": req.description,
            "purpose": req.purpose or None, "decision": decision, "decisions": blocks,
            "securing": _securing(policy) and req.kind == RequestKind.INTERESTED,
            "notes": notes, "footer": f"wniosek nr {req.id}"}
    if subject:
        data.update(title=f"Żądanie dostępu do danych — wniosek nr {req.id}",
                    controller=controller_named(policy),
                    signs_as=signs_as(policy, str(data.get("approver") or "")),
                    material=MATERIALS[req.material], who=req.who,
                    identifies=_what_identifies(req),
                    # what may help find them, by material: clothing shows on video only
                    # (issue 49 item 15: the calls' form asked for it)
                    helps=HELPS_FIND.get(Material(req.material), "np. rodzaj sprawy"),
                    # the box ticked (custody.requests.DELIVERY); None: left to tick by hand
                    delivery=req.delivery)
    return name, data


def decision_doc(session: Session, policy: Policy, request_id: int) -> Doc:
    req = get_request(session, request_id)
    d = _decision(session, policy, req)
    if d is None:
        raise InputError(f"request {req.id} has not been decided yet",
                         pl=f"Wniosek nr {req.id} nie został jeszcze rozpatrzony — nie ma "
                            "decyzji do wydrukowania.")
    subject = (f"{MATERIALS[req.material]}, {_d(req.event_date)}, "
               f"{_asked_time(req, policy)}, {_what_identifies(req)}")
    return "decision", {
        **policy.doc_names(),
        "title": f"Decyzja — wniosek nr {req.id}", "date": d["on"], "request_id": req.id,
        "received_on": _d(req.received_on), "requester": req.requester,
        "kind_pl": KINDS[req.kind], "subject": subject, "purpose": req.purpose or None,
        "data_subject": req.kind == RequestKind.DATA_SUBJECT, "decision": d,
        "decisions": paper_blocks(session, policy, req.id),
        # the office's model decides a request to disclose; a data subject's right is answered
        # on a paper of its own ("Rozstrzygnięcie"), as the protocol's rule is
        "annex": None if req.kind == RequestKind.DATA_SUBJECT else annex(policy, "decision")}


def extension_notice_doc(session: Session, policy: Policy, request_id: int
                         ) -> Doc:
    """The notice telling a data subject that the answer's deadline is extended by two months,
    with the reason (art. 12 ust. 3 RODO); dated the day the person was told."""

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


def _handed_items(policy: Policy, copy: Copy) -> list[str]:
    """What the data subject receives, source by source, and what was taken out of it."""
    out = []
    for src in copy.sources or []:
        span = f"{fmt(_at(src['from']), policy)} – {fmt(_at(src['to']), policy)}"
        if src.get("kind") == SourceKind.PHONE:
            line = (f"nagranie rozmowy z numeru {src.get('caller')} na numer "
                    f"{src.get('callee')} ({span})")
        elif src.get("pseudonymised"):
            n = src["pseudonymised"].get("people_and_hosts", 0)
            line = (f"{MATERIALS_BY_KIND.get(src.get('kind') or '', 'dane')} ({span}) — wyłącznie "
                    f"wpisy dotyczące Pana/Pani; adresy, nazwy, komputery i konta innych osób "
                    f"({n}) zastąpiono pseudonimami")
        elif src.get("masking"):
            # Plain words for the citizen (art. 12 ust. 1 RODO); how the masking was done
            # (detector, sampling, threshold, detections) stays in the copy's manifest.
            line = (f"nagranie z kamery {src.get('name')} ({span}) — twarze innych osób "
                    "zamazane w sposób nieodwracalny")
        else:
            line = f"{src.get('label') or src.get('name')} ({span})"
        out.append(line)
    return out


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# The clause's paragraphs that state the person's rights (access, rectification, erasure,
# restriction, objection, complaint), whichever way each office's clause words them.
_RIGHTS = re.compile(r"\bprawo (do |dostępu|wniesienia|sprzeciwu|żądania)", re.IGNORECASE)
# The right to object where the processing rests on art. 6 ust. 1 lit. e RODO (policy
# [documents] public_task) and the office's clause does not say it (issue 49 item 5).
OBJECTION = ("Przysługuje Panu/Pani prawo wniesienia sprzeciwu wobec przetwarzania Pana/Pani "
             "danych osobowych — z przyczyn związanych z Pana/Pani szczególną sytuacją "
             "(art. 21 ust. 1 RODO).")
MATERIALS_BY_KIND = {SourceKind.MAILBOX.value: "wpisy z monitoringu poczty elektronicznej",
                     SourceKind.ENDPOINT.value: "wpisy z monitoringu aktywności IT"}


# One form of address in a letter to one person: the clauses speak to everyone, some in the
# plural ("Posiadają Państwo prawo", 001 zał. 1), some "Pani/Pana" (002 zał. 2); the letter
# says "Pan/Pani" throughout.
_SINGULAR = (("Posiadają Państwo prawo", "Przysługuje Panu/Pani prawo"),
             ("Mają Państwo prawo", "Przysługuje Panu/Pani prawo"),
             ("gdy uznają Państwo", "gdy uzna Pan/Pani"), ("przez Państwa", "przez Pana/Panią"),
             ("Państwa danych", "Pana/Pani danych"), ("Państwa dane", "Pana/Pani dane"),
             ("Pani/Panu", "Panu/Pani"), ("Pani/Pana", "Pana/Pani"), ("Pani/Pan", "Pan/Pani"))


def to_one_person(text: str) -> str:
    for plural, singular in _SINGULAR:
        text = text.replace(plural, singular)
    return text


# What registration notes when it finds nothing in the period asked (custody.requests).
NOTHING_FOUND = "nie znaleziono nagrań"


def _sources_pl(policy: Policy, copy: Copy) -> list[str]:
    """Where the person's data came from (art. 15 ust. 1 lit. g RODO), one line a source."""
    office = policy.names.office_gen
    out = []
    for src in copy.sources or []:
        kind = src.get("kind")
        if kind == SourceKind.PHONE:
            line = (f"nagranie rozmowy z systemu rejestracji rozmów telefonicznych {office} "
                    f"(linia {src.get('name')}), zarejestrowane podczas rozmowy z udziałem "
                    "Pana/Pani numeru telefonu")
        elif kind == SourceKind.CAMERA:
            line = (f"obraz zarejestrowany przez kamerę {src.get('name')} monitoringu "
                    f"wizyjnego {office}")
        else:
            line = (f"{MATERIALS_BY_KIND.get(kind or '', 'dane')} {office} (źródło "
                    f"{src.get('name')})")
        if line not in out:
            out.append(line)
    return out


def answer_letter_doc(session: Session, policy: Policy, request_id: int) -> Doc:
    """The answer to a data subject's request (art. 15 and 12 ust. 3-4 RODO): the copy and
    what was taken out of it and why, with every art. 15 ust. 1 item built from the policy
    (the facts the office's clause prints) and per source the data came from; a confirmation
    that no data are processed where nothing was found; or the refusal with its basis. The
    rights the office's own clause names; the complaint to the Prezes UODO. Printed once the
    request is answered."""

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
        rights = [to_one_person(p) for p in clause_points(policy, kind.value)
                  if _RIGHTS.search(p)]
    except InputError:
        rights = []
    if policy.documents.get("public_task") and not any("sprzeciw" in r for r in rights):
        # art. 15 ust. 1 lit. e: where art. 21 applies it is told, before the complaint
        complaint = next((i for i, r in enumerate(rights) if "skarg" in r), len(rights))
        rights.insert(complaint, OBJECTION)
    notes = []
    if copy is not None and kind == SourceKind.PHONE:
        notes.append("Kopia obejmuje wyłącznie rozmowy, w których uczestniczył Pana/Pani numer "
                     "telefonu.")
    decision = _decision(session, policy, req)
    facts = access_facts(policy, kind.value) if policy.retention.get(kind.value) else None
    # Nothing found at registration, or found then and deleted before it could be copied
    # (custody.no_data): either way the answer confirms that no data are processed.
    none_found = copy is None and (NOTHING_FOUND in (req.warning or "")
                                   or req.no_data_on is not None)
    # Deleted since registration: the letter says why the data no longer exist, not that they
    # never did.
    deleted = none_found and NOTHING_FOUND not in (req.warning or "")
    art15 = None
    if copy is not None and facts is not None:
        art15 = [
            ("Cele i podstawa przetwarzania", facts["purposes"]),
            ("Kategorie danych", facts["categories"]),
            # Copies go only to authorities within their proceedings and to data subjects
            # (custody.handover.RECEIVING_KINDS): neither is a recipient to be named here
            # (issue 49 item 2) — an authority is none (art. 4 pkt 9 zd. 2 RODO; naming the
            # police can tip off a suspect), another data subject's name and request are
            # that person's data (art. 15 ust. 4). The sentence is true either way and does
            # not tell which.
            ("Odbiorcy danych", facts["recipients"]
             + "; kopii nagrań z okresu objętego żądaniem nie przekazano dotąd odbiorcom "
               "w rozumieniu art. 4 pkt 9 RODO"
             + f"; {facts['transfer']}"),
            ("Okres przechowywania", facts["period"]),
            ("Źródło danych", "; ".join(_sources_pl(policy, copy))),
            ("Zautomatyzowane podejmowanie decyzji", facts["automated"]),
        ]
    start, end = copy_period(req)
    return "answer-letter", {
        **policy.doc_names(), "title": f"Odpowiedź — wniosek nr {req.id}",
        "date": _d(d.answered_on), "requester": req.requester, "contact": req.contact,
        "received_on": _d(req.received_on), "request_id": req.id,
        "material": MATERIALS[req.material], "copy": copy.number if copy else None,
        "medium": handover.medium if handover else None,
        "delivery": DELIVERY.get(req.delivery or "") if copy else None,
        "items": _handed_items(policy, copy) if copy else [],
        "art15": [{"what": w, "text": t} for w, t in art15] if art15 else None,
        "none_found": {"asked": f"{_d(req.event_date)}, {_asked_time(req, policy)}, "
                                f"{_what_identifies(req)}",
                       "period": facts["period"] if facts else None,
                       "deleted": deleted} if none_found else None,
        "refusal": (decision or {}).get("reason") if copy is None and not none_found else None,
        "extended": _d(d.extended_on), "rights": rights, "notes": notes,
        "protected": copy is not None and any(src.get("pseudonymised") or src.get("masking")
                                        for src in copy.sources or []),
        # The clause's own words name the complaint already: not said twice.
        "complaint_said": any("skarg" in p for p in rights),
        "signed_by": printed(session, handover.handed_by) if handover else
        printed(session, req.no_data_by) if req.no_data_by else
        (decision or {}).get("by"), "footer": f"wniosek nr {req.id}",
        "period_asked": f"{fmt(start, policy, False)} – {fmt(end, policy, False)}"}


def label_doc(session: Session, policy: Policy, number: str, key_fingerprint: str
              ) -> Doc:
    copy = get_copy(session, number)
    req = session.get(Request, copy.request_id) if copy.request_id else None
    first, last = held_period(copy)
    return "label", {"office": policy.office_name, "number": copy.number,
                     "from": fmt(first, policy), "to": fmt(last, policy),
                     "sources": [s.get("label", s.get("name")) for s in copy.sources],
                     "made_on": fmt(copy.made_at, policy, seconds=False),
                     "made_by": printed(session, copy.made_by),
                     "expires_on": kept_until(copy.expires_at, policy),
                     "key_fingerprint": key_fingerprint,
                     # the data subject's own copy (art. 15 ust. 3 RODO): given to them, not
                     # kept by the office for authorities
                     "data_subject": req is not None and req.kind == RequestKind.DATA_SUBJECT}


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


def _protocol(session: Session, policy: Policy, number: str,
              handover_id: int | None) -> dict[str, Any]:
    """The handover's data; a data subject's copy is theirs (art. 15 ust. 3 RODO): no purpose
    binds them and they are no authority, so their papers say neither."""
    h = the_handover(session, number, handover_id)
    data = handover.protocol_data(session, policy, h)
    req = session.get(Request, h.request_id)
    data["data_subject"] = req is not None and req.kind == RequestKind.DATA_SUBJECT
    return data


def handover_doc(session: Session, policy: Policy, number: str,
                 handover_id: int | None = None) -> Doc:
    data = _protocol(session, policy, number, handover_id)
    data["annex"] = (None if data["data_subject"] else
                     annex(policy, "handover-protocol"))
    return "handover-protocol", data


def receipt_doc(session: Session, policy: Policy, number: str,
                handover_id: int | None = None) -> Doc:
    data = _protocol(session, policy, number, handover_id)
    data["title"] = f"Pokwitowanie — kopia nr {number}"
    # the office's model is a receipt of a receiver the request binds, as the protocol's is
    data["annex"] = None if data["data_subject"] else annex(policy, "receipt")
    return "receipt", data


def destruction_doc(session: Session, policy: Policy, number: str) -> Doc:
    """The protocol; besides the files, every medium the copy was handed out on, for the
    commission to record how it was physically destroyed or that it stays with its receiver
    (004 §7 ust. 9 "fizycznemu zniszczeniu"; 002 zał. 5 §8 ust. 2)."""
    copy = get_copy(session, number)
    data = destruction.protocol_data(session, policy, copy)
    data["media"] = [{"medium": h.medium or "nośnik bez opisu",
                      "handed": f"wydany {_d(h.handed_at.astimezone(policy.timezone))}: "
                                f"{h.receiver}",
                      # recorded by the commission (destruction.record_medium), else by hand
                      "destroyed": h.medium_destroyed}
                     for h in handovers_of(session, number)]
    data["annex"] = annex(policy, "destruction-protocol")
    return "destruction-protocol", data


# Blank forms about one kind of material: an office that keeps none gets no such form (a
# video request form in an office that records calls only would ask for what does not exist).
FORM_KIND = {"request-video": (SourceKind.CAMERA, "video request form",
                               "formularza wniosku o dane z monitoringu wizyjnego się nie drukuje"),
             "request-calls": (SourceKind.PHONE, "call recording request form",
                               "formularza wniosku o nagrania rozmów się nie drukuje"),
             # 001 zał. 2: a protocol of listening to a recorded call
             "listening-protocol": (SourceKind.PHONE, "call listening protocol",
                                    "protokołu z odsłuchania rozmowy się nie drukuje")}


def blank(name: str, policy: Policy) -> dict[str, Any]:
    """A form to fill in by hand (or a document that needs only the office's details);
    refused for a form about material the office does not keep."""
    if name in FORM_KIND:
        refuse_unless(policy, *FORM_KIND[name])
    data: dict[str, Any] = {**policy.doc_names(),
                            "annex": annex(policy, name), "decision": None, "notes": [],
                            "decisions": paper_blocks(None, policy, None),
                            "rows": [], "members": [], "sources": [], "files": []}
    if name == "request-calls":  # an interested person asks to secure [004 §7.4]
        data["securing"] = _securing(policy)
    if name == "declaration":  # the same wording as the web's, from its one definition
        data.update(purposes=declaration_purposes(policy))
    if name == "authorisation":
        data["signs_as"] = signs_as(policy, str(data.get("approver") or ""))
        data["supervisor"] = supervisor(policy)
    if name == "request-subject":  # addressed to the controller the clause names
        data["controller"] = controller_named(policy)
        data["signs_as"] = signs_as(policy, str(data.get("approver") or ""))
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
