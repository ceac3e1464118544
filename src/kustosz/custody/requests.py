"""Requests (wnioski, R2.4, R4.1, R4.2): registered with an automatic hold on what they point to.

The moment a request is registered its material is held (cameras of the place × the window, or
the calls found by the numbers), so nothing is lost while it waits for a decision. The 14-day
rule (its end moved off a Saturday or a day free from work, art. 115 k.c.: policy.holidays)
follows the office's policy: `reject` records a late request as refused and holds nothing
(002 zał.5 §6.4 "nie będą rozpatrywane"); `warn` accepts it and tells the requester the material
may already be gone (004 §7.4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.access.users import printed
from kustosz.audit import append as audit
from kustosz.custody.actions import record_action
from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.cameras import Camera, Site, Zone
from kustosz.db.custody import Copy, Decision, Request
from kustosz.db.models import Hold, Recording, Source
from kustosz.errors import FieldError, InputError, NotFound
from kustosz.index.calls import canonical, search_calls
from kustosz.index.recordings import overlapping
from kustosz.index.sources import get_source
from kustosz.kinds import CHUNKED, Material, SourceKind
from kustosz.kinds import KINDS as MATERIAL_KINDS
from kustosz.limits import check_texts
from kustosz.phones.settings import PhoneSettings
from kustosz.policy import Policy
from kustosz.policy.holidays import act_last_day, why_moved_pl
from kustosz.policy.periods import Period
from kustosz.states import RecordingState, RequestKind, RequestStatus
from kustosz.words import period_pl

KINDS: dict[str, str] = {
    "authority": "uprawniony organ",
    "interested": "osoba zainteresowana",
    "data_subject": "osoba, której dane dotyczą",
    "internal": "sprawa wewnętrzna",
}
MATERIALS: dict[str, str] = {k.material.value: k.material_pl for k in MATERIAL_KINDS.values()}
# A request's status as the office reads it.
STATUS_PL: dict[str, str] = {"registered": "czeka na decyzję", "approved": "zgoda — czeka na kopię",
                             "refused": "odmowa", "copied": "kopia sporządzona"}
# Which kind of source holds each material that is kept in chunks (R1.9, R1.10).
CHUNK_MATERIALS: dict[str, str] = {k.material.value: k.name.value for k in CHUNKED}
# The 14-day rule binds a request to *secure* material for a future proceeding [002 zał.5
# §6.3-6.4: "Podmiot ... zainteresowany zabezpieczeniem danych ... na potrzeby przyszłego
# postępowania"; 004 §7.4]. A data subject's access (art. 15 RODO) is not such a request: the
# regulations cannot shorten a right of the RODO, the answer is due within art. 12 ust. 3's month
# whenever it comes, and if the material is gone by then the answer says no data is held.
# An authority's or an internal case is governed by its own procedure.
DEADLINE_KINDS = ("interested",)
# How a data subject chose to receive the copy (art. 15 ust. 3 RODO: "jeżeli osoba, której
# dane dotyczą, zwraca się o kopię drogą elektroniczną ... informacji udziela się
# powszechnie stosowaną drogą elektroniczną"), as the request form's boxes say it.
DELIVERY: dict[str, str] = {
    "in_person": "odbiór osobisty w siedzibie administratora",
    "post": "przesyłka pocztowa na adres podany we wniosku",
    "electronic": "w postaci elektronicznej",
}
# Either side of the approximate time: requesters remember "about half past two" (R4.2).
DEFAULT_MARGIN_MINUTES = 30
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\Z")


@dataclass
class RequestSpec:
    kind: str
    material: str
    requester: str
    received_on: date
    event_date: date
    purpose: str
    contact: str | None = None
    approx_time: str | None = None  # "HH:MM", local
    start: datetime | None = None  # an explicit window instead of approx_time
    end: datetime | None = None
    place: str | None = None  # "site" or "site/zone" (video)
    cameras: list[str] = field(default_factory=list)
    caller: str | None = None
    callee: str | None = None
    sources: list[str] = field(default_factory=list)  # mailbox/endpoint sources (mail, events)
    who: str | None = None  # person, address or host the copy is narrowed to (mail, events)
    description: str | None = None
    case_ref: str | None = None
    margin_minutes: int = DEFAULT_MARGIN_MINUTES
    extends_copy: str | None = None
    delivery: str | None = None  # a data subject's choice (DELIVERY)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _cite(policy: Policy, spec: RequestSpec) -> str:
    """Where the regulation lists a request's contents ([requests] contents_clause: 002 zał.5
    §6.6); not for a data subject, whose request it does not govern (art. 15 RODO)."""
    clause = str(policy.raw.get("requests", {}).get("contents_clause") or "").strip()
    return f" [{clause}]" if clause and spec.kind != RequestKind.DATA_SUBJECT else ""


def _window(spec: RequestSpec, policy: Policy) -> tuple[datetime, datetime]:
    tz = policy.timezone
    margin = timedelta(minutes=spec.margin_minutes)
    if (spec.start is None) != (spec.end is None):
        raise InputError("give both --from and --to for the window",
                         pl="Podaj zarówno początek, jak i koniec okresu.")
    if spec.start is not None and spec.end is not None:
        if spec.approx_time:
            raise InputError("give either the approximate time or a --from/--to window",
                             pl="Podaj albo przybliżoną godzinę, albo okres od–do, nie oba.")
        if spec.end < spec.start:
            raise InputError(f"the window ends ({spec.end.isoformat()}) before it starts "
                             f"({spec.start.isoformat()})",
                             pl="Koniec okresu jest wcześniejszy niż jego początek.")
        return spec.start - margin, spec.end + margin
    if spec.approx_time:
        m = _HHMM.match(spec.approx_time.strip())
        if not m:
            raise InputError(f"approximate time {spec.approx_time!r} is not HH:MM",
                             pl=f"Przybliżona godzina „{spec.approx_time}” nie ma postaci "
                                "GG:MM.")
        centre = datetime.combine(spec.event_date, time(int(m[1]), int(m[2])), tzinfo=tz)
        return centre - margin, centre + margin
    if spec.material == Material.VIDEO:
        # The time is what finds a person on hours of video, whoever asks; a regulation may
        # list it among a request's contents [002 zał.5 §6.6].
        cite = _cite(policy, spec)
        raise InputError("a video request needs the approximate time of the event (--time "
                         f"HH:MM) or a window (--from/--to){cite}",
                         pl="Wniosek o nagranie z monitoringu wizyjnego wymaga przybliżonej "
                            f"godziny zdarzenia lub okresu od–do{cite}.")
    begin = datetime.combine(spec.event_date, time(0), tzinfo=tz)
    return begin, datetime.combine(spec.event_date + timedelta(days=1), time(0), tzinfo=tz)


def check_spec(spec: RequestSpec, policy: Policy, now: datetime) -> tuple[datetime, datetime]:
    """Every check of a request that needs no database; returns its window (UTC-aware)."""
    check_texts(requester=spec.requester, purpose=spec.purpose, contact=spec.contact,
                place=spec.place, who=spec.who, description=spec.description,
                case_ref=spec.case_ref, approx_time=spec.approx_time)
    if spec.kind not in KINDS:
        raise InputError(f"unknown request kind {spec.kind!r}; use one of {', '.join(KINDS)}",
                         pl=f"Nieznany rodzaj wnioskodawcy „{spec.kind}”; dostępne: "
                            f"{', '.join(KINDS.values())}.")
    if spec.material not in MATERIALS:
        raise InputError(f"unknown material {spec.material!r}; use one of "
                         f"{', '.join(MATERIALS)}",
                         pl=f"Nieznany rodzaj materiału „{spec.material}”; dostępne: "
                            f"{', '.join(MATERIALS.values())}.")
    if not _text(spec.requester):
        raise InputError("the request needs the requester's data (dane wnioskodawcy)",
                         pl="Wniosek wymaga danych wnioskodawcy.")
    # A data subject need not say why (art. 15 RODO; EDPB Guidelines 01/2022 pt 12-13): the
    # purpose and the event's description bind a request to secure or disclose material only.
    subject = spec.kind == RequestKind.DATA_SUBJECT
    if not subject and not _text(spec.purpose):
        raise InputError("the request needs its purpose (cel uzyskania nagrania)",
                         pl="Wniosek wymaga podania celu uzyskania nagrania.")
    if spec.delivery is not None:
        if spec.delivery not in DELIVERY:
            raise FieldError("delivery", f"unknown way to receive the copy {spec.delivery!r}; "
                             f"use one of {', '.join(DELIVERY)}",
                             pl=f"Nieznany sposób otrzymania kopii „{spec.delivery}”; "
                                f"dostępne: {', '.join(DELIVERY.values())}.")
        if not subject:
            raise FieldError("delivery", "the way to receive the copy is a data subject's "
                             "choice (art. 15 ust. 3 RODO); others receive it on a medium "
                             "handed over with a protocol",
                             pl="Sposób otrzymania kopii wybiera osoba, której dane dotyczą "
                                "(art. 15 ust. 3 RODO); pozostałym wnioskodawcom kopię wydaje "
                                "się na nośniku, z protokołem przekazania.")
        if spec.delivery in ("post", "electronic") and not _text(spec.contact):
            raise FieldError("contact", "a copy sent by post or electronically needs the "
                             "address to send it to (contact)",
                             pl="Kopia wysyłana pocztą lub elektronicznie wymaga adresu, na "
                                "który ma zostać wysłana (kontakt).")
    if not 0 <= spec.margin_minutes <= 24 * 60:
        raise InputError("the margin must be between 0 and 1440 minutes",
                         pl="Margines musi wynosić od 0 do 1440 minut.")
    today = now.astimezone(policy.timezone).date()
    if spec.event_date > today:
        raise InputError(f"the event date {spec.event_date.isoformat()} is in the future",
                         pl=f"Data zdarzenia {spec.event_date.strftime('%d.%m.%Y')} jest w "
                            "przyszłości.")
    if spec.received_on > today:
        raise InputError(f"the request date {spec.received_on.isoformat()} is in the future",
                         pl=f"Data wniosku {spec.received_on.strftime('%d.%m.%Y')} jest w "
                            "przyszłości.")
    if spec.received_on < spec.event_date:
        raise InputError("the request is dated before the event it describes",
                         pl="Data wniosku jest wcześniejsza niż data opisanego zdarzenia.")
    if spec.material == Material.VIDEO:
        if not subject and not _text(spec.description):
            cite = _cite(policy, spec)
            raise InputError("a video request needs the description of the event "
                             f"(opis zdarzenia){cite}",
                             pl="Wniosek o nagranie z monitoringu wizyjnego wymaga opisu "
                                f"zdarzenia{cite}.")
        if not _text(spec.place) and not spec.cameras:
            raise InputError("a video request needs the place (--place SITE[/ZONE]) or "
                             "--camera",
                             pl="Wniosek o nagranie z monitoringu wizyjnego wymaga miejsca "
                                "(obiekt lub strefa) albo kamery.")
    elif spec.material in CHUNK_MATERIALS:
        if spec.place or spec.cameras or spec.caller or spec.callee:
            raise InputError("--place, --camera, --caller and --callee belong to video and "
                             "calls requests",
                             pl="Miejsce, kamera i numery telefonów dotyczą tylko wniosków o "
                                "nagrania wizyjne i rozmowy.")
        if spec.kind == RequestKind.DATA_SUBJECT and not _text(spec.who):
            # R6.2: they receive only the rows concerning them, everyone else pseudonymised.
            raise FieldError("who", "a data subject's request for mail or IT events names "
                             "whom it concerns: the person's address, name, computer or "
                             "account (--who)",
                             pl="Żądanie osoby, której dane dotyczą, dotyczące poczty lub "
                                "zdarzeń IT musi wskazywać, kogo dotyczy: jej adres, imię i "
                                "nazwisko, komputer lub konto.")
    else:
        if not _text(spec.caller) and not _text(spec.callee):
            raise InputError("a calls request needs the calling number and/or the called "
                             "number [004 §7.5]",
                             pl="Wniosek o nagranie rozmowy wymaga numeru dzwoniącego lub "
                                "numeru, na który dzwoniono [004 §7.5].")
        if spec.place or spec.cameras:
            raise InputError("--place and --camera belong to video requests",
                             pl="Miejsce i kamera dotyczą tylko wniosków o nagrania wizyjne.")
    if (spec.sources or _text(spec.who)) and spec.material not in CHUNK_MATERIALS:
        raise InputError("--source and --who belong to mail and events requests",
                         pl="Źródło i osoba/adres dotyczą tylko wniosków o monitoring poczty "
                            "i aktywności IT.")
    start, end = _window(spec, policy)
    if start > now:
        raise InputError("the window of the request starts in the future",
                         pl="Okres objęty wnioskiem zaczyna się w przyszłości.")
    return start, end


def _cameras(session: Session, spec: RequestSpec) -> list[Source]:
    if spec.cameras:
        found = []
        for name in spec.cameras:
            source = get_source(session, name)
            if source.kind != SourceKind.CAMERA:
                raise InputError(f"source {name!r} is not a camera",
                                 pl=f"Źródło „{name}” nie jest kamerą.")
            found.append(source)
        return found
    site_name, _, zone_name = (spec.place or "").partition("/")
    query = (select(Source).join(Camera, Camera.source_id == Source.id)
             .join(Zone, Zone.id == Camera.zone_id).join(Site, Site.id == Zone.site_id)
             .where(Site.name == site_name.strip()).order_by(Source.name))
    if zone_name.strip():
        query = query.where(Zone.name == zone_name.strip())
    sources = list(session.execute(query).scalars())
    if not sources:
        raise NotFound(f"no camera is registered at {spec.place!r} (give SITE or SITE/ZONE "
                       "as in: kustosz zones list)",
                       pl=f"W miejscu „{spec.place}” nie zarejestrowano żadnej kamery (podaj "
                          "obiekt lub obiekt/strefę tak, jak w wykazie stref).")
    return sources


def _chunk_sources(session: Session, spec: RequestSpec) -> list[Source]:
    """The named mailbox/endpoint sources, or all of the kind: like the phone lines of a calls
    request, the whole kind is held rather than lose material under another source."""
    kind = CHUNK_MATERIALS[spec.material]
    if spec.sources:
        found = [get_source(session, name) for name in spec.sources]
        for source in found:
            if source.kind != kind:
                raise InputError(f"source {source.name!r} is a {source.kind} source; a "
                                 f"{spec.material} request needs {kind} sources",
                                 pl=f"Źródło „{source.name}” jest innego rodzaju "
                                    f"({source.kind}); wniosek o materiał "
                                    f"„{MATERIALS[spec.material]}” wymaga źródeł rodzaju "
                                    f"{kind}.")
        return found
    found = list(session.execute(select(Source).where(Source.kind == kind)
                                 .order_by(Source.name)).scalars())
    if not found:
        raise NotFound(f"no {kind} source is registered: there is no {spec.material} material "
                       "to secure",
                       pl=f"Nie zarejestrowano żadnego źródła rodzaju {kind}: nie ma materiału "
                          f"„{MATERIALS[spec.material]}” do zabezpieczenia.")
    return found


def office_lines(session: Session) -> set[str]:
    """The office's own numbers (every phone line's DIDs and long extensions, canonical)."""

    return {n for source in session.execute(select(Source).where(
        Source.kind == SourceKind.PHONE)).scalars()
        for n in PhoneSettings.of(source.settings).office_numbers}


def subject_number(session: Session, caller: str | None, callee: str | None) -> str:
    """The data subject's own number among those the request names: a data subject receives
    only the calls in which their number took part (R6.2), so a request that names only the
    office's own lines, which took part in everyone's calls, is refused."""
    office = office_lines(session)
    theirs = [n for n in (caller, callee) if n and n not in office]
    if not theirs:
        raise FieldError("caller", "a data subject's calls request names the person's own "
                         "number (the office's lines took part in everyone's calls)",
                         pl="Żądanie osoby, której dane dotyczą, musi wskazywać jej własny "
                            "numer telefonu — numery urzędu występują w rozmowach wszystkich "
                            "osób.")
    return theirs[0]


def _material(session: Session, spec: RequestSpec, start: datetime, end: datetime
              ) -> tuple[list[Source], list[int], str | None, str | None]:
    """Sources and listed recordings the request points to, and the canonical numbers."""
    if spec.material == Material.VIDEO:
        return _cameras(session, spec), [], None, None
    if spec.material in CHUNK_MATERIALS:
        return _chunk_sources(session, spec), [], None, None
    caller, callee = (canonical(n, what, digits_only=True) if n else None for n, what in (
        (_text(spec.caller), "calling number"), (_text(spec.callee), "called number")))
    if spec.kind == RequestKind.DATA_SUBJECT:
        subject_number(session, caller, callee)
    number, other = (caller, callee) if caller else (callee, None)
    hits = search_calls(session, number=number, callee=other, begin=start, end=end)
    if hits:
        return [], [h.recording_id for h in hits], caller, callee
    # Nothing found (yet): hold every phone line over the window rather than lose a call that
    # the intake has not taken in or indexed under a differently written number.
    lines = list(session.execute(select(Source).where(Source.kind == SourceKind.PHONE)
                                 .order_by(Source.name)).scalars())
    if not lines:
        raise NotFound("no phone source is registered: there is no call material to secure",
                       pl="Nie zarejestrowano żadnej linii telefonicznej: nie ma nagrań rozmów "
                          "do zabezpieczenia.")
    return lines, [], caller, callee


def _found(session: Session, sources: list[Source], items: list[int], start: datetime,
           end: datetime) -> int:
    if items:
        return len(items)
    return sum(session.execute(select(func.count()).select_from(
        overlapping(s, start, end).with_only_columns(Recording.id).subquery())).scalar_one()
        for s in sources)


def register_request(session: Session, policy: Policy, spec: RequestSpec, actor: str,
                     now: datetime | None = None) -> Request:
    now = now or datetime.now(UTC)
    start, end = check_spec(spec, policy, now)
    sources, items, caller, callee = _material(session, spec, start, end)
    late = False
    warning = None
    status, reason = RequestStatus.REGISTERED, None
    # No deadline where the office's regulation sets none (000, 001, 003): never late.
    if spec.kind in DEADLINE_KINDS and policy.request_deadline is not None:
        # A period for the person's act: its end moves off a Saturday or a day free from
        # work to the next working day (art. 115 k.c.; issue 30 item 5, policy.holidays).
        last = act_last_day(policy.request_deadline, spec.event_date)
        late = spec.received_on > last
        shown = last_day_pl(policy.request_deadline, spec.event_date)
        if late and policy.after_deadline == "reject":
            status = RequestStatus.REFUSED
            reason = (f"Wniosek złożony po terminie {period_pl(policy.request_deadline)} od dnia "
                      f"zdarzenia (ostatni dzień: {shown}) — nie podlega rozpatrzeniu.")
        elif late:
            warning = (f"Wniosek złożony po terminie (ostatni dzień: {shown}): "
                       "zabezpieczenie nagrania nie jest gwarantowane — mogło ono zostać już "
                       "usunięte.")
    req = Request(
        kind=spec.kind, material=spec.material, requester=spec.requester.strip(),
        contact=_text(spec.contact), received_on=spec.received_on, event_date=spec.event_date,
        approx_time=_text(spec.approx_time),
        place=_text(spec.place), who=_text(spec.who),
        sources=[s.name for s in sources], caller=caller, callee=callee, start_at=start,
        end_at=end, asked_start_at=spec.start if spec.start is not None else start,
        asked_end_at=spec.end if spec.end is not None else end, items=items,
        description=_text(spec.description),
        purpose=(spec.purpose or "").strip(), case_ref=_text(spec.case_ref), status=status,
        status_reason=reason, late=late, warning=warning, extends_copy=_text(spec.extends_copy),
        delivery=spec.delivery,
        registered_by=actor, registered_at=now)
    session.add(req)
    session.flush()
    if status == RequestStatus.REGISTERED:
        if _found(session, sources, items, start, end) == 0:
            note = "W okresie objętym wnioskiem nie znaleziono nagrań."
            req.warning = f"{warning} {note}" if warning else note
        hold = place_hold(session, sources=sources if not items else [],
                          start=start if not items else None, end=end if not items else None,
                          items=items, actor=actor, case_ref=f"wniosek {req.id}", at=now,
                          basis=f"wniosek nr {req.id} ({KINDS[spec.kind]}, "
                                f"{spec.requester.strip()}): zabezpieczenie do rozpatrzenia")
        req.hold_id = hold.id
    audit(session, actor, "request.register", f"request {req.id}", {
        "kind": req.kind, "material": req.material, "status": req.status, "late": late,
        "sources": req.sources, "items": items, "from": start.isoformat(),
        "to": end.isoformat(), "asked_from": req.asked_start_at.isoformat(),
        "delivery": req.delivery,
        "asked_to": req.asked_end_at.isoformat(), "hold": req.hold_id})
    session.flush()
    return req


def last_day_pl(period: Period, start: date) -> str:
    """The last day of a request's deadline as the office reads it: "23.11.2026 — 21.11.2026
    to sobota; termin upływa następnego dnia roboczego (art. 115 k.c.)" when art. 115 moved
    it, the plain date otherwise."""
    plain, last = period.last_day(start), act_last_day(period, start)
    if plain == last:
        return last.strftime("%d.%m.%Y")
    return (f"{last.strftime('%d.%m.%Y')} — {why_moved_pl(plain)}; termin upływa następnego "
            "dnia roboczego (art. 115 k.c.)")


def copy_period(req: Request) -> tuple[datetime, datetime]:
    """The period a copy of the request holds: the one asked for, never the margin the hold
    adds on each side (issue 29 item 2; data minimisation, art. 5 ust. 1 lit. c RODO). An
    approximate hour, a whole day and a request registered before migration 0031 have no
    narrower period than the window held."""
    if req.asked_start_at is None or req.asked_end_at is None:
        return req.start_at, req.end_at
    return req.asked_start_at, req.asked_end_at


def get_request(session: Session, request_id: int) -> Request:
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound(f"no request with id {request_id} (see: kustosz requests list)",
                       pl=f"Nie ma wniosku nr {request_id}.")
    return req


def list_requests(session: Session, status: str | None = None) -> list[Request]:
    query = select(Request).order_by(Request.id)
    if status:
        query = query.where(Request.status == status)
    return list(session.execute(query).scalars())


def release_request_hold(session: Session, req: Request, reason: str, actor: str,
                         at: datetime | None = None) -> bool:
    """Release the request's own hold; holds placed on any other basis stay as they are. The
    release is audited (hold.release) and entered in the register of actions [002 zał.5 §8.3]."""
    if req.hold_id is None:
        return False
    hold = session.get(Hold, req.hold_id)
    if hold is None or hold.released_at is not None:
        return False
    release_hold(session, req.hold_id, reason, actor, at=at)
    record_action(session, "hold.release", f"Zwolniono zabezpieczenie nagrań nr {hold.id} "
                  f"założone z wniosku nr {req.id} — {reason}.", printed(session, actor),
                  request_id=req.id, at=hold.released_at)
    return True


# Why a request's hold ends, as the hold's release reason and the register of actions say it.
_ENDS_PL = {"copy_made": "sporządzono kopię nr {number}",
            "handover": "wydano kopię nr {number} {receiver}"}
# Who a copy is handed to, in the dative, by the request's kind (custody.handover's
# RECEIVING_KINDS): a data subject is no authority (issue 49 item 8).
HANDED_TO_PL = {"authority": "uprawnionemu organowi",
                "data_subject": "osobie, której dane dotyczą"}


def end_request_holds(session: Session, policy: Policy, reqs: list[Request], event: str,
                      number: str, actor: str, at: datetime | None = None) -> list[int]:
    """Release the holds of those of ``reqs`` whose office's rule ends them at ``event``
    ("copy_made", "handover"; policy.custody): once an interested person's copy is made the
    original may follow its own period [002 zał.5 §6.3, §7.1], or such a request keeps it
    until the copy is destroyed [004 §7.3]. Returns the released holds."""
    released = []
    for req in {r.id: r for r in reqs}.values():
        if policy.custody.hold_ends(req.kind) != event or req.hold_id is None:
            continue
        said = _ENDS_PL[event].format(number=number,
                                      receiver=HANDED_TO_PL.get(req.kind, "wnioskodawcy"))
        why = (f"wniosek nr {req.id}: {said}; nagrania "
               "źródłowe podlegają odtąd zwykłemu okresowi przechowywania")
        if release_request_hold(session, req, why, actor, at=at):
            released.append(req.hold_id)
    return released


def overdue_requests(session: Session, policy: Policy, now: datetime | None = None
                     ) -> list[Request]:
    """Requests still waiting for the decision after policy.custody.decision_overdue_after,
    counted from the day they were lodged. Their material stays held until they are decided."""
    today = (now or datetime.now(UTC)).astimezone(policy.timezone).date()
    waiting = list_requests(session, RequestStatus.REGISTERED)
    return [r for r in waiting
            if policy.custody.decision_overdue_after.last_day(r.received_on) < today]


@dataclass(frozen=True)
class Overdue:
    """A request past the office's time for its next step (issue 30 item 4): the decision
    (policy.custody.decision_overdue_after, from the day it was lodged) or, once approved, its
    copy (copy_overdue_after, from the day it could first be made: the decision, the end of the
    period asked for, or the day a copy of it was sent back at review). Its material stays held
    meanwhile — a hold ends only by its own event — so the office must see it."""

    step: str  # "decision" | "copy"
    since: date  # the first day it is overdue (the day after its last day)
    counted_from: date

    def pl(self) -> str:
        what = "bez decyzji" if self.step == "decision" else "zatwierdzony, bez kopii"
        return f"{what} — po terminie od {self.since.strftime('%d.%m.%Y')}"


def _copy_counted_from(session: Session, policy: Policy, req: Request) -> date:
    tz = policy.timezone
    decided = session.execute(select(Decision.decided_on).where(
        Decision.request_id == req.id)).scalar()
    sent_back = session.execute(select(func.max(Copy.reviewed_at)).where(
        Copy.request_id == req.id, Copy.review_state == "sent_back")).scalar()
    days = [decided or req.received_on, copy_period(req)[1].astimezone(tz).date()]
    if sent_back is not None:
        days.append((sent_back if sent_back.tzinfo else sent_back.replace(tzinfo=UTC))
                    .astimezone(tz).date())
    return max(days)


def overdue_since(session: Session, policy: Policy, req: Request,
                  now: datetime | None = None) -> Overdue | None:
    """Whether ``req`` is overdue on the office's day of ``now``, and since when — None when it
    is not (yet) or has nothing left to wait for (refused, copied). The one definition for the
    dashboard and the registers. Plain days (art. 111 k.c.), not moved by art. 115: the office's
    own reminder, never later than the day a person counts."""
    today = (now or datetime.now(UTC)).astimezone(policy.timezone).date()
    if req.no_data_on is not None:
        return None  # answered: no data of the person are processed (custody.no_data)
    if req.status == RequestStatus.REGISTERED:
        step, start, span = "decision", req.received_on, policy.custody.decision_overdue_after
    elif req.status == RequestStatus.APPROVED:
        step, span = "copy", policy.custody.copy_overdue_after
        start = _copy_counted_from(session, policy, req)
    else:
        return None
    since = span.last_day(start) + timedelta(days=1)
    return Overdue(step, since, start) if since <= today else None


def overdue_copies(session: Session, policy: Policy, now: datetime | None = None
                   ) -> list[tuple[Request, Overdue]]:
    """Approved requests still without a copy past policy.custody.copy_overdue_after, the
    longest waiting first: their material is held until the copy is made (issue 30 item 4)."""
    found = []
    for req in list_requests(session, RequestStatus.APPROVED):
        late = overdue_since(session, policy, req, now)
        if late is not None:
            found.append((req, late))
    return sorted(found, key=lambda pair: (pair[1].since, pair[0].id))


def material_count(session: Session, req: Request) -> int:
    """How many stored recordings the request points to now."""
    if req.items:
        return session.execute(select(func.count()).select_from(Recording).where(
            Recording.id.in_(req.items), Recording.state == RecordingState.STORED)).scalar_one()
    sources = [get_source(session, n) for n in req.sources]
    return _found(session, sources, [], req.start_at, req.end_at)


def refuse_if_answered(req: Request) -> None:
    """What a later copy, handover or decision is told once the request was answered that
    no data of the person are processed (custody.no_data)."""
    if req.no_data_on is not None:
        raise InputError(
            f"request {req.id} was answered on {req.no_data_on.isoformat()} that "
            "no data of the person are processed; nothing more is done on it",
            pl=f"Na żądanie nr {req.id} odpowiedziano "
            f"{req.no_data_on.strftime('%d.%m.%Y')}, że nie przetwarzamy "
            "danych tej osoby — w tej sprawie nie ma już nic do zrobienia.",
        )
