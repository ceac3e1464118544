"""Viewing sessions and the access log (DESIGN invariant 2).

Before anything plays or is shown, the person states the purpose, the case or request it
serves, for video the authorised person present (R3.4), and for mail and events the period
looked into. That opens a viewing session: a random token the media URLs carry. Every media
request is checked again (the session's owner, the authorisation still active now, the item
inside the session's scope) and leaves an access entry; the session's from–to, count and bytes
grow with it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import contractors
from kustosz.access.authorisations import (
    ACTIONS,
    active_for,
    covers,
    eligible,
    position_changed,
)
from kustosz.access.employees import office_today
from kustosz.access.users import list_users, printed
from kustosz.audit import access_chain
from kustosz.audit import append as audit
from kustosz.collation import person_key
from kustosz.db.access import AccessEntry, Authorisation, Employee, ViewingSession
from kustosz.db.custody import Copy, Request, User
from kustosz.db.models import AuditEntry, Recording, Source
from kustosz.digests import token_digest as digest
from kustosz.errors import FieldError
from kustosz.kinds import ROW_REVIEWS
from kustosz.limits import check_texts
from kustosz.states import CopyState, RecordingState
from kustosz.words import count_pl

SESSION_HOURS = 4  # a viewing session's URLs stop working after this long
LIVE_SECONDS = 60  # live view reaches only segments this recent (R3.1: no recorded material)
# Actions that open recorded material and so must name the case they serve (R3.2, R3.3).
REVIEWS = ("playback", "listening", "mail", "events", "calls")


class Reason(StrEnum):
    """Why material was refused: the one list of refusal conditions. The code is what the
    API answers (``reason``) and what the audit entry of the refusal keeps."""

    NO_AUTHORISATION = "no_authorisation"  # none for this action at all
    OTHER_SOURCE = "other_source"  # one for this action, but not for this source
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WORKSTATION = "workstation"  # the client address is not on the allow-list (R3.5)
    ROLE = "role"  # the person's roles do not make them eligible for the action
    SESSION_OVER = "session_over"  # the viewing session expired or was ended
    SESSION_UNKNOWN = "session_unknown"  # no such viewing session, or someone else's
    OUTSIDE_SCOPE = "outside_scope"  # the item is outside the session's source or period
    MATERIAL_GONE = "material_gone"  # the copy or recording is no longer kept
    PASSWORD = "password"  # the one-time password must be changed first
    # issued for a position the preset lists [003 §3.4]; the holder now holds another
    POSITION_NOT_LISTED = "position_not_listed"
    AGREEMENT_ENDED = "agreement_ended"  # a contractor's processing agreement is over [004 §6.3]
    LOGIN = "login"
    # a data subject's masked copy plays only for its reviewer, before approval (issue 28)
    REVIEW_ONLY = "review_only"


@dataclass(frozen=True)
class ReasonWords:
    label: str  # Polish, short: the access register's column and filter
    en: str  # English (API ``detail``, audit ``why``); {placeholders} from the facts
    pl: str  # Polish: the condition, said to the person refused
    todo: str  # Polish: what they can do about it
    note: str = ""  # Polish, impersonal: the facts, for the DPO reading the register


_ASK = "kierownika jednostki lub jego zastępcę"
REASONS: dict[Reason, ReasonWords] = {
    Reason.NO_AUTHORISATION: ReasonWords(
        "brak upoważnienia",
        "no active authorisation: none for the action {action}",
        "Nie masz upoważnienia do czynności: {action_pl}.",
        f"Poproś {_ASK} o upoważnienie do tej czynności."),
    Reason.OTHER_SOURCE: ReasonWords(
        "upoważnienie nie obejmuje źródła",
        "no active authorisation: the authorisation for {action} does not cover {sources}",
        "Twoje upoważnienie do czynności: {action_pl} nie obejmuje źródła: {sources}.",
        f"Poproś {_ASK} o rozszerzenie upoważnienia o to źródło.",
        "nie obejmuje: {sources}"),
    Reason.NOT_YET_VALID: ReasonWords(
        "upoważnienie jeszcze nie obowiązuje",
        "no active authorisation: authorisation {id} is valid only from {valid_from}",
        "Twoje upoważnienie nr {id} obowiązuje dopiero od {valid_from_pl} "
        "(do {valid_to_pl}).",
        f"Wróć do materiału, gdy upoważnienie zacznie obowiązywać, albo poproś {_ASK} "
        "o zmianę jego dat.",
        "upoważnienie nr {id} obowiązuje od {valid_from_pl} do {valid_to_pl}"),
    Reason.EXPIRED: ReasonWords(
        "upoważnienie wygasło",
        "no active authorisation: authorisation {id} expired at {valid_to}",
        "Twoje upoważnienie nr {id} wygasło {valid_to_pl} (obowiązywało od "
        "{valid_from_pl}).",
        f"Poproś {_ASK} o nowe upoważnienie.",
        "upoważnienie nr {id} obowiązywało od {valid_from_pl} do {valid_to_pl}"),
    Reason.REVOKED: ReasonWords(
        "upoważnienie odwołane",
        "no active authorisation: authorisation {id} was revoked at {revoked_at}",
        "Twoje upoważnienie nr {id} zostało odwołane {revoked_at_pl}.",
        f"Jeśli nadal potrzebujesz dostępu, poproś {_ASK} o nowe upoważnienie.",
        "upoważnienie nr {id} odwołane {revoked_at_pl}"),
    Reason.WORKSTATION: ReasonWords(
        "stanowisko niedopuszczone",
        "address {client} is not on the workstation allow-list",
        "To stanowisko (adres {client}) nie jest na liście stanowisk dopuszczonych "
        "do materiału.",
        "Skorzystaj z dopuszczonego stanowiska albo poproś administratora systemu "
        "o dopisanie tego adresu do listy.",
        "adres {client} spoza listy dopuszczonych stanowisk"),
    Reason.ROLE: ReasonWords(
        "rola nie uprawnia do czynności",
        "role not eligible for the action {action}",
        "Twoja rola nie pozwala na czynność: {action_pl}.",
        "Jeśli ta czynność należy do Twoich obowiązków, poproś administratora systemu "
        f"o właściwą rolę, a {_ASK} o upoważnienie."),
    Reason.SESSION_OVER: ReasonWords(
        "sesja przeglądu wygasła lub zakończona",
        "viewing session over",
        "Sesja przeglądu wygasła (trwa najwyżej {hours_pl}) albo została zakończona.",
        "Otwórz nową sesję: podaj ponownie cel dostępu.",
        "sesja nr {viewing}"),
    Reason.SESSION_UNKNOWN: ReasonWords(
        "nieznana sesja przeglądu",
        "unknown viewing session",
        "Nie ma takiej sesji przeglądu albo nie została otwarta przez Ciebie.",
        "Otwórz własną sesję przeglądu, podając cel dostępu."),
    Reason.OUTSIDE_SCOPE: ReasonWords(
        "poza zakresem sesji przeglądu",
        "outside the viewing session's scope",
        "Żądany materiał jest poza zakresem tej sesji przeglądu (inna czynność, inne "
        "źródło albo inny okres).",
        "Otwórz nową sesję przeglądu dla tego materiału.",
        "sesja nr {viewing}"),
    Reason.MATERIAL_GONE: ReasonWords(
        "materiału już nie ma",
        "the material is no longer kept",
        "Tego materiału już nie ma (kopia zniszczona albo nagranie usunięte po upływie "
        "okresu przechowywania).",
        "Sprawdź rejestr kopii albo zapytaj administratora systemu."),
    Reason.PASSWORD: ReasonWords(
        "hasło jednorazowe niezmienione",
        "the one-time password must be changed first",
        "Najpierw musisz zmienić hasło jednorazowe.",
        "Ustaw własne hasło (ikona ⚙ u góry strony) i spróbuj ponownie."),
    Reason.LOGIN: ReasonWords(
        "niezalogowany", "not logged in", "Nie zalogowano się do systemu.",
        "Zaloguj się."),
    Reason.POSITION_NOT_LISTED: ReasonWords(
        "stanowisko spoza wykazu",
        "authorisation {id} was issued for the position {issued_for}; the holder's position "
        "is now {position}",
        "Twoje upoważnienie nr {id} wydano na stanowisku: {issued_for}, a zajmujesz teraz "
        "stanowisko: {position}. Z nagraniami zapoznają się tylko osoby na stanowiskach "
        "wymienionych w regulaminie.",
        f"Jeśli nowe stanowisko jest w wykazie, poproś {_ASK} o nowe upoważnienie.",
        "upoważnienie nr {id} wydane na stanowisku {issued_for}; obecne stanowisko: "
        "{position}"),
    Reason.AGREEMENT_ENDED: ReasonWords(
        "umowa powierzenia wygasła",
        "the contractor's processing agreement {agreement} ended on {until}",
        "Umowa powierzenia nr {agreement} obowiązywała do {until}; dostęp konserwatora "
        "zakończył się razem z nią.",
        "Jeśli umowę przedłużono, poproś administratora systemu o wpisanie nowego terminu.",
        "umowa powierzenia nr {agreement} do {until}"),
    Reason.REVIEW_ONLY: ReasonWords(
        "kopia tylko do przeglądu",
        "copy {copy} is a data subject's masked copy {state}: its video plays only for the "
        "second person reviewing it, before approval",
        "Kopia nr {copy} to zamaskowana kopia dla osoby, której dane dotyczą ({state_pl}): "
        "jej nagranie odtwarza przed zatwierdzeniem wyłącznie druga osoba, która ją "
        "przegląda — nie osoba, która ją sporządziła.",
        "Zatwierdzoną kopię wydaje się w całości (kopia ZIP, protokół wydania); przegląd "
        "przeprowadza inna osoba z rolą kustosza.",
        "kopia nr {copy}, {state_pl}"),
}
# Older audit entries kept only the English ``why``; the register names their reason too.
_LEGACY = {"address not allowed": Reason.WORKSTATION, "viewing session over":
           Reason.SESSION_OVER, "unknown viewing session": Reason.SESSION_UNKNOWN,
           "outside scope": Reason.OUTSIDE_SCOPE, "copy gone": Reason.MATERIAL_GONE,
           "recording gone": Reason.MATERIAL_GONE, "not logged in": Reason.LOGIN}
_WHEN_PL = "%d.%m.%Y %H:%M"


class Refused(Exception):
    """The request gets no material (403). ``code`` says which condition failed, ``facts``
    fill its sentence (only what the person refused may know: their own authorisation's
    number and dates, their address); ``reason`` is the English sentence for the audit log
    and the API."""

    def __init__(self, code: Reason | str, facts: dict[str, Any] | None = None) -> None:
        self.code = Reason(code)
        self.facts = {k: _plain(v) for k, v in (facts or {}).items()}
        self.reason = REASONS[self.code].en.format_map(_Facts(self.facts))
        super().__init__(self.reason)

    def said(self, tz: tzinfo, lang: str = "pl") -> str:
        """The condition in the reader's language (English: the audit sentence)."""
        return self.reason if lang == "en" else condition_pl(self.code, self.facts, tz)

    @property
    def todo(self) -> str:
        return REASONS[self.code].todo

    def details(self) -> dict[str, Any]:
        """What the refusal's audit entry keeps."""
        return {"reason": self.code.value, "why": self.reason, **self.facts}


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _plain(value: object) -> object:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def condition_pl(code: Reason, facts: dict[str, Any], tz: tzinfo, note: bool = False) -> str:
    """The Polish sentence of a refusal from its code and stored facts (dates in ``tz``):
    to the person refused, or with ``note`` the impersonal facts for the register."""
    said = _Facts(facts)
    for key in ("valid_from", "valid_to", "revoked_at"):
        if facts.get(key):
            said[f"{key}_pl"] = datetime.fromisoformat(str(facts[key])) \
                .astimezone(tz).strftime(_WHEN_PL)
    if facts.get("action"):
        said["action_pl"] = ACTIONS.get(str(facts["action"]), str(facts["action"]))
    said["hours_pl"] = count_pl(SESSION_HOURS, "godzinę", "godziny", "godzin")
    words = REASONS[code]
    return (words.note if note else words.pl).format_map(said)


def reason_of(details: dict[str, Any], audit_action: str = "") -> Reason | None:
    """The reason of a refusal's audit entry, older entries (English ``why`` only) too."""
    code = details.get("reason")
    if code in Reason.__members__.values():
        return Reason(code)
    if audit_action == "access.blocked_address":
        return Reason.WORKSTATION
    why = str(details.get("why") or "")
    if why.startswith("viewing session is for "):
        return Reason.OUTSIDE_SCOPE
    return _LEGACY.get(why)  # "no active authorisation" alone did not say which condition


def why_not(session: Session, user: User, action: str, sources: list[Source],
            now: datetime | None = None) -> Refused:
    """Which condition keeps ``user`` from ``action`` on ``sources`` now, judged from their
    own authorisations only (nobody else's are looked at or named)."""
    now = now or datetime.now(UTC)
    if not eligible(user, action):
        return Refused(Reason.ROLE, {"action": action})
    if contractors.ended(user, now):
        return Refused(Reason.AGREEMENT_ENDED, {
            "action": action, "agreement": user.contractor_agreement,
            "until": user.contractor_until.strftime("%d.%m.%Y")
            if user.contractor_until else "?"})
    mine = [a for a in session.execute(select(Authorisation).where(
        Authorisation.holder_id == user.id).order_by(Authorisation.id)).scalars()
        if action in a.actions]
    if not mine:
        return Refused(Reason.NO_AUTHORISATION, {"action": action})
    covering = [a for a in mine if sources and all(covers(a, action, s) for s in sources)]
    if not covering:
        missing = [s.name for s in sources if not any(covers(a, action, s) for a in mine)]
        return Refused(Reason.OTHER_SOURCE, {"action": action, "sources": ", ".join(
            missing or [s.name for s in sources])})
    moved = [a for a in covering if a.revoked_at is None and a.valid_from <= now < a.valid_to
             and position_changed(a, user)]
    if moved:
        return Refused(Reason.POSITION_NOT_LISTED, {
            "action": action, "id": moved[0].id, "issued_for": moved[0].position,
            "position": user.position or "brak"})
    future = [a for a in covering if a.revoked_at is None and now < a.valid_from]
    if future:
        a = min(future, key=lambda x: x.valid_from)
        return Refused(Reason.NOT_YET_VALID, {"action": action, "id": a.id,
                                              "valid_from": a.valid_from,
                                              "valid_to": a.valid_to})
    a = max(covering, key=lambda x: (x.valid_to, x.id))
    if a.revoked_at is not None:
        return Refused(Reason.REVOKED, {"action": action, "id": a.id,
                                        "revoked_at": a.revoked_at})
    return Refused(Reason.EXPIRED, {"action": action, "id": a.id, "valid_from": a.valid_from,
                                    "valid_to": a.valid_to})


def log_refusal(session: Session, actor: str, subject: str, refused: Refused,
                **context: Any) -> None:
    """Every refused attempt leaves an audit entry: the access register shows it to the DPO.
    A workstation off the allow-list keeps its own audit action (access.blocked_address)."""
    action = "access.blocked_address" if refused.code is Reason.WORKSTATION \
        else "access.refused"
    audit(session, actor, action, subject[:400],
          {**{k: v for k, v in context.items() if v is not None}, **refused.details()})


@dataclass
class Scope:
    sources: list[Source]
    recording: Recording | None = None
    copy: Copy | None = None


def _copy_sources(session: Session, copy: Copy) -> list[Source]:
    names = sorted({str(s.get("name")) for s in copy.sources if s.get("name")})
    return list(session.execute(select(Source).where(Source.name.in_(names))).scalars())


def scope_of(session: Session, vs: ViewingSession) -> Scope:
    if vs.copy_id is not None:
        copy = session.get(Copy, vs.copy_id)
        if copy is None or copy.state != CopyState.KEPT:
            raise Refused(Reason.MATERIAL_GONE)
        return Scope(_copy_sources(session, copy), copy=copy)
    if vs.recording_id is not None:
        rec = session.get(Recording, vs.recording_id)
        if rec is None or rec.state != RecordingState.STORED:
            raise Refused(Reason.MATERIAL_GONE)
        return Scope([session.get(Source, rec.source_id)], recording=rec)
    source = session.get(Source, vs.source_id) if vs.source_id else None
    if source is None:
        raise Refused(Reason.MATERIAL_GONE)
    return Scope([source])


def open_viewing(session: Session, **fields: Any) -> str | None:
    """The token of a new viewing session; None (with an audit entry) when no active
    authorisation opens the material for this person (``try_open`` says why)."""
    opened = try_open(session, **fields)
    return None if isinstance(opened, Refused) else opened


# Actions that look at recorded video: only with an authorised person present (R3.4; 002
# zał.5 §7 ust. 6), whatever the policy. A still frame for the mask
# form (web/subject_frame) is such a look too and asks the same question here. Any other
# action may name one (the start form offers it for listening, 001 zał. 2: "osoby …
# dokonały odsłuchania"); whoever is named is checked the same way.
WITNESSED = ("playback",)
WITNESS_MISSING = "Podaj osobę upoważnioną obecną przy przeglądzie (002 zał.5 §7.6)."
USER_REF, EMPLOYEE_REF = "user:", "employee:"


@dataclass(frozen=True)
class Witness:
    """The person present at a viewing (R3.4): who (an account or an employee of the
    register) and the name as the access log and the protocol print it."""

    name: str
    user_id: int | None = None
    employee_id: int | None = None
    ref: str = ""  # as a form or the API names them again: user:LOGIN or employee:ID


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _unknown(text: str) -> FieldError:
    shown = text[:60]
    return FieldError(
        "witness", f"no person {shown!r} in the office: choose an active account (user:LOGIN) "
                   "or an employee of the register (employee:ID)",
        pl=f"Nie ma w urzędzie osoby „{shown}”. Wybierz osobę obecną z listy: konto w "
           "systemie albo pracownika z ewidencji pracowników.")


def _self(viewer: User) -> FieldError:
    return FieldError(
        "witness", f"{viewer.name} cannot be the witness of their own viewing: another "
                   "authorised person must be present (002 zał.5 §7.6)",
        pl="Nie możesz wskazać siebie: przegląd odbywa się w obecności innej osoby "
           "upoważnionej (002 zał.5 §7 ust. 6).")


def person_of(session: Session, text: str, viewer: User | None,
              now: datetime | None = None) -> Witness:
    """The person ``text`` names — ``user:LOGIN`` (or the bare login) for an account,
    ``employee:ID`` for an employee of the register — checked: the account active (and a
    contractor's agreement in force), the employee employed today, and not ``viewer``
    themself. FieldError("witness") naming what is wrong otherwise."""

    now = now or datetime.now(UTC)
    text = text.strip()
    if text.startswith(EMPLOYEE_REF):
        number = text[len(EMPLOYEE_REF):].strip()
        emp = session.get(Employee, int(number)) if number.isascii() \
            and number.isdigit() and int(number) < 2**31 else None
        if emp is None:
            raise _unknown(text)
        today = office_today()
        if emp.ends_on is not None and emp.ends_on < today:
            raise FieldError(
                "witness", f"employee {emp.id} ({emp.full_name}) left on "
                           f"{emp.ends_on.isoformat()}",
                pl=f"{emp.full_name} nie jest już pracownikiem urzędu (ostatni dzień pracy "
                   f"{emp.ends_on.strftime('%d.%m.%Y')}) — wybierz osobę obecną z listy.")
        if emp.starts_on > today:
            raise FieldError(
                "witness", f"employee {emp.id} ({emp.full_name}) starts on "
                           f"{emp.starts_on.isoformat()}",
                pl=f"{emp.full_name} rozpoczyna pracę dopiero "
                   f"{emp.starts_on.strftime('%d.%m.%Y')} — wybierz osobę obecną z listy.")
        if viewer is not None and _same_person(emp.full_name, viewer.display_name):
            raise _self(viewer)
        name = f"{emp.full_name}, {emp.position}" if emp.position else emp.full_name
        return Witness(name[:200], employee_id=emp.id, ref=f"{EMPLOYEE_REF}{emp.id}")
    login = text[len(USER_REF):].strip() if text.startswith(USER_REF) else text
    user = session.execute(select(User).where(User.name == login)).scalar_one_or_none() \
        if login else None
    if user is None:
        raise _unknown(text)
    if viewer is not None and user.id == viewer.id:
        raise _self(viewer)
    if not user.active:
        raise FieldError(
            "witness", f"the account {user.name} is disabled",
            pl=f"Konto {user.display_name} ({user.name}) jest wyłączone — wybierz osobę z "
               "czynnym kontem albo pracownika z ewidencji.")
    if contractors.ended(user, now):
        raise FieldError(
            "witness", f"{user.name}'s processing agreement is over",
            pl=f"Umowa powierzenia {user.display_name} wygasła — wybierz osobę obecną z "
               "listy.")
    return Witness(printed(session, user.name)[:200], user_id=user.id,
                   ref=f"{USER_REF}{user.name}")


def witness_for(action: str, witness: str | None, session: Session | None = None,
                viewer: User | None = None, now: datetime | None = None
                ) -> Witness | None:
    """The authorised person present (None when none is named and the action needs none).
    FieldError("witness") when the text is over its limit, when none is named for a
    `WITNESSED` action (the one place this rule is written), and — given the ``session`` —
    when the person named is not one of the office's (`person_of`). Without a session only
    the form's own checks are made (the start form's list of every problem at once)."""
    check_texts(witness=witness)
    text = (witness or "").strip()
    if not text:
        if action in WITNESSED:
            raise FieldError("witness", WITNESS_MISSING)
        return None
    if session is None:
        return Witness(text)
    return person_of(session, text, viewer, now)


def witness_choices(session: Session, viewer: User | None) -> list[tuple[str, list[tuple[str,
                                                                                     str]]]]:
    """Who may be named as present, for the form's list: (group, [(ref, name)]) — the active
    accounts but the viewer's own, then the employees of the register employed today."""

    now = datetime.now(UTC)
    accounts = [(f"{USER_REF}{u.name}",
                 f"{u.display_name}, {u.title}" if u.title else u.display_name)
                for u in list_users(session)
                if u.active and (viewer is None or u.id != viewer.id)
                and not contractors.ended(u, now)]
    today = office_today()
    staff = sorted((e for e in session.execute(select(Employee)).scalars()
                    if e.starts_on <= today and (e.ends_on is None or e.ends_on >= today)
                    and not (viewer is not None
                             and _same_person(e.full_name, viewer.display_name))),
                   key=lambda e: (person_key(e.full_name), e.id))
    employees = [(f"{EMPLOYEE_REF}{e.id}",
                  f"{e.full_name}, {e.position}" if e.position else e.full_name)
                 for e in staff]
    return [(g, people) for g, people in (("Konta w systemie", accounts),
                                         ("Pracownicy (ewidencja)", employees)) if people]


def with_witness(listeners: str, vs: ViewingSession) -> str:
    """The listening protocol's persons (001 zał. 2: "osoby … dokonały odsłuchania") as
    typed, with the person present at the session added when the text does not name them."""
    if not vs.witness:
        return listeners
    surname_first = vs.witness.split(",")[0].strip()
    if not surname_first or surname_first.casefold() in listeners.casefold():
        return listeners
    return f"{listeners}\n{vs.witness}" if listeners else vs.witness


def witness_shown(vs: ViewingSession) -> str:
    """The person present as the access log shows it; a name typed before people were
    chosen from the list (before 0032) is marked as typed."""
    if not vs.witness:
        return ""
    if vs.witness_user_id is None and vs.witness_employee_id is None:
        return f"{vs.witness} (wpisano ręcznie)"
    return vs.witness


def try_open(session: Session, *, user: User, action: str, client: str,
             purpose: str | None, case_ref: str | None = None,
             request_id: int | None = None, witness: str | None = None,
             source: Source | None = None, recording: Recording | None = None,
             copy: Copy | None = None, window: tuple[datetime, datetime] | None = None,
             now: datetime | None = None) -> str | Refused:
    """The token of a new viewing session, or the refusal (already in the audit log; the
    caller commits it) naming the condition that failed. FieldError on bad input."""
    now = now or datetime.now(UTC)
    if action not in ACTIONS:
        raise FieldError("action", "Nieznana czynność.")
    check_texts(purpose=purpose, case_ref=case_ref, witness=witness)
    purpose = (purpose or "").strip()
    case_ref = (case_ref or "").strip() or None
    witness = (witness or "").strip() or None
    if action == "live":
        purpose = purpose or "podgląd bieżący — ochrona osób i mienia"
    elif not purpose:
        raise FieldError("purpose", "Podaj cel dostępu.")
    if action in REVIEWS and not case_ref and request_id is None:
        raise FieldError("case_ref", "Podaj sprawę lub numer wniosku, któremu służy dostęp.")
    if request_id is not None and session.get(Request, request_id) is None:
        raise FieldError("request_id", f"Nie ma wniosku nr {request_id}.")
    present = witness_for(action, witness, session, user, now)
    if action in ROW_REVIEWS and window is None:
        raise FieldError("from", "Podaj okres, którego dotyczy przegląd.")
    if window is not None and window[1] <= window[0]:
        raise FieldError("to", "Koniec okresu musi być po jego początku.")
    vs = ViewingSession(token_hash="", user_id=user.id, user_name=user.name, action=action,
                        source_id=source.id if source else None,
                        recording_id=recording.id if recording else None,
                        copy_id=copy.id if copy else None,
                        window_start=window[0] if window else None,
                        window_end=window[1] if window else None, purpose=purpose,
                        case_ref=case_ref, request_id=request_id,
                        witness=present.name if present else None,
                        witness_user_id=present.user_id if present else None,
                        witness_employee_id=present.employee_id if present else None,
                        client=client[:100], started_at=now, last_at=now, served=0,
                        bytes_served=0)
    scope = scope_of_new(session, vs)
    auth = active_for(session, user, action, scope.sources, now)
    if auth is None:
        refused = why_not(session, user, action, scope.sources, now)
        log_refusal(session, user.name, _what(vs, scope), refused, action=action,
                    client=client)
        return refused
    token = secrets.token_urlsafe(32)
    vs.token_hash = digest(token)
    vs.authorisation_id = auth.id
    session.add(vs)
    session.flush()
    audit(session, user.name, "access.open", _what(vs, scope), {
        "viewing": vs.id, "action": action, "authorisation": auth.id, "purpose": purpose,
        "case_ref": case_ref, "request": request_id,
        "witness": present.name if present else None,
        "witness_ref": present.ref if present else None, "client": client,
        "from": vs.window_start.isoformat() if vs.window_start else None,
        "to": vs.window_end.isoformat() if vs.window_end else None})
    return token


def scope_of_new(session: Session, vs: ViewingSession) -> Scope:
    try:
        return scope_of(session, vs)
    except Refused:
        raise FieldError("source", "Nie ma takiego materiału.") from None


def _what(vs: ViewingSession, scope: Scope) -> str:
    if scope.copy is not None:
        return f"copy {scope.copy.number}"
    if scope.recording is not None:
        return f"recording {scope.recording.id}"
    return f"source {scope.sources[0].name}" if scope.sources else "nothing"


def admit(session: Session, token: str, user: User | None, action: str | None = None,
          now: datetime | None = None) -> tuple[ViewingSession, Scope]:
    """The checks every media request passes, against the state of things now."""
    now = now or datetime.now(UTC)
    if user is None:
        raise Refused(Reason.LOGIN)
    vs = session.execute(select(ViewingSession).where(
        ViewingSession.token_hash == digest(token))).scalar_one_or_none()
    if vs is None or vs.user_id != user.id:
        raise Refused(Reason.SESSION_UNKNOWN)
    if vs.ended_at is not None or vs.started_at + timedelta(hours=SESSION_HOURS) <= now:
        raise Refused(Reason.SESSION_OVER, {"viewing": vs.id, "action": vs.action})
    if action is not None and vs.action != action:
        raise Refused(Reason.OUTSIDE_SCOPE, {"viewing": vs.id, "session_action": vs.action,
                                             "asked": action})
    scope = scope_of(session, vs)
    if active_for(session, user, vs.action, scope.sources, now) is None:
        refused = why_not(session, user, vs.action, scope.sources, now)
        refused.facts["viewing"] = vs.id
        raise refused
    return vs, scope


def viewing_of(session: Session, token: str) -> ViewingSession | None:
    return session.execute(select(ViewingSession).where(
        ViewingSession.token_hash == digest(token))).scalar_one_or_none()


def served(session: Session, vs: ViewingSession, what: str, client: str, nbytes: int,
           recording_id: int | None = None, now: datetime | None = None) -> AccessEntry:
    now = now or datetime.now(UTC)
    entry = AccessEntry(viewing_id=vs.id, at=now, what=what[:400], recording_id=recording_id,
                        client=client[:100], bytes=nbytes)
    access_chain.link(session, entry)
    session.add(entry)
    # Read the counters again under the chain's lock that link() took: concurrent requests
    # of one viewing (segments load in parallel) would otherwise overwrite each other's.
    session.refresh(vs)
    vs.last_at = max(vs.last_at, now)
    vs.served += 1
    vs.bytes_served += nbytes
    session.flush()
    return entry


def end_viewing(session: Session, vs: ViewingSession, now: datetime | None = None) -> None:
    if vs.ended_at is None:
        vs.ended_at = now or datetime.now(UTC)
        session.flush()


def recent(session: Session, limit: int = 200) -> list[ViewingSession]:
    return list(session.execute(select(ViewingSession).order_by(
        ViewingSession.id.desc()).limit(limit)).scalars())


# -- the access register (R6.3): accesses and refused attempts, for the DPO ------------------
REFUSAL_ACTIONS = ("access.refused", "access.blocked_address")
SHOWS = ("all", "access", "refused")  # the register's filter: everything, accesses, refusals
_TOKEN_IN_PATH = re.compile(r"/media/[^/]+/")
_SUBJECT_PL = (("source ", "źródło "), ("copy ", "kopia nr "), ("recording ", "nagranie nr "))


@dataclass
class RegisterRow:
    """One line of the access register: a viewing session, or a refused attempt."""

    at: datetime
    user_name: str
    action: str | None
    refused: bool
    viewing: ViewingSession | None = None
    what: str = ""
    client: str = ""
    reason: Reason | None = None
    reason_pl: str = ""  # the condition, as the person refused was told it
    seq: int | None = None  # the refusal's audit entry


_SESSION_IN_PATH = re.compile(r"^/(view|media)/<(viewing (\d+)|unknown)>(.*)$")


def _subject_pl(subject: str) -> str:
    for en, pl in _SUBJECT_PL:
        if subject.startswith(en):
            return pl + subject[len(en):]
    found = _SESSION_IN_PATH.match(subject)
    if found:  # /view/<viewing 7>/end, /media/<viewing 7>/segment/4.ts
        kind, _, number, rest = found.groups()
        session = f"sesja nr {number}" if number else "nieznana sesja"
        page = "strona przeglądu" if kind == "view" else "materiał"
        return f"{page} ({session}){': ' + rest.lstrip('/') if rest else ''}"
    if subject.startswith("/"):  # an older entry's address: never show a session's token
        return "żądanie " + _TOKEN_IN_PATH.sub("/media/…/", subject)
    return subject


def refusal_row(entry: AuditEntry, tz: tzinfo) -> RegisterRow:
    try:
        details = json.loads(entry.details)
    except ValueError:
        details = {}
    details = details if isinstance(details, dict) else {}
    reason = reason_of(details, entry.action)
    if reason is not None:
        said = condition_pl(reason, details, tz, note=True)
    else:
        said = ("brak ważnego upoważnienia (wpis sprzed rozróżniania powodów odmowy)"
                if details.get("why") == "no active authorisation"
                else "odmowa dostępu ({})".format(details.get("why") or "powód nieznany"))
    action = details.get("action") or details.get("session_action")
    return RegisterRow(at=entry.at, user_name=entry.actor, action=action, refused=True,
                       what=_subject_pl(entry.subject), client=str(details.get("client", "")),
                       reason=reason, reason_pl=said, seq=entry.seq)


def register(session: Session, tz: tzinfo, show: str = "all", reason: Reason | None = None,
             limit: int = 200) -> list[RegisterRow]:
    """The newest ``limit`` lines of the access register, newest first: viewing sessions
    (``show`` "access"), refused attempts (``show`` "refused", optionally of one reason), or
    both."""

    if show not in SHOWS:
        raise ValueError(f"unknown register filter {show!r}")
    rows: list[RegisterRow] = []
    if show in ("all", "access") and reason is None:
        rows += [RegisterRow(at=v.started_at, user_name=v.user_name, action=v.action,
                             refused=False, viewing=v, client=v.client)
                 for v in recent(session, limit)]
    if show in ("all", "refused") or reason is not None:
        query = select(AuditEntry).where(AuditEntry.action.in_(REFUSAL_ACTIONS))
        if reason is not None:
            query = query.where(AuditEntry.details.contains(f'"reason":"{reason.value}"',
                                                            autoescape=True))
        entries = session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit)).scalars()
        rows += [refusal_row(e, tz) for e in entries]
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]
