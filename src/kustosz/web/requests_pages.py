"""The request pages (wnioski, R4): the register and its form, one request with its
decision, copy and handover (R2.4, R4.1–R4.4); mail and events requests name a mailbox or an
endpoint source and whom they concern."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kustosz import jobs
from kustosz.access.users import list_users
from kustosz.custody import papers, subject_review
from kustosz.custody.answer_deadline import deadline_of, extend
from kustosz.custody.decisions import decide, decisions_of, titled
from kustosz.custody.handover import RECEIVING_KINDS, hand_over
from kustosz.custody.no_data import answer_no_data
from kustosz.custody.requests import (
    CHUNK_MATERIALS,
    DELIVERY,
    KINDS,
    MATERIALS,
    RequestSpec,
    get_request,
    list_requests,
)
from kustosz.custody.requests import register_request as register_req
from kustosz.db.custody import Copy, Destruction, Handover
from kustosz.db.custody import Request as CustodyRequest
from kustosz.db.models import Source
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.jobs.catalogue import copy_make
from kustosz.kinds import Material, SourceKind
from kustosz.masking import residual
from kustosz.states import CopyState, RequestKind, RequestStatus
from kustosz.web import list_filters, locations
from kustosz.web.common import (
    Ctx,
    flash_of,
    flash_url,
    page,
    paper_answer,
    person_pl,
    redirect,
    span_pl,
)
from kustosz.web.gate import gate
from kustosz.web.jobs_pages import failure, next_page, settle, waiting
from kustosz.web.pages import _day, form_of, items_summary, too_long
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)


# -- the state a person expects ---------------------------------------------------------------
STATUS_PL = {"registered": "czeka na decyzję", "approved": "zgoda — czeka na kopię",
             "refused": "odmowa", "copied": "kopia sporządzona"}


def shown_state(req: CustodyRequest, copy: Copy | None, handovers: Iterable[Handover],
                destruction: Destruction | None, tz: Any) -> tuple[str, str]:
    """The request's state as the secretariat says it: (code for the page's colour, words).
    The status column stops at "copied"; what happened to the copy afterwards (handed over
    on this request, destroyed) is read from the handovers and the destruction, here only —
    the requests list and the request page both ask this function."""
    if req.no_data_on is not None:  # custody.no_data: answered, nothing of theirs is held
        return "answered", "odpowiedziano — nie przetwarzamy danych tej osoby"
    if req.status == RequestStatus.APPROVED and copy is not None \
            and copy.review_state == residual.STATE:  # a step of the request, not its end
        return "approved", (f"kopia nr {copy.number} wstrzymana (sprawdzenie wykryło twarz "
                            "innej osoby) — popraw maski i sporządź kopię ponownie")
    if req.status != RequestStatus.COPIED:
        return req.status, STATUS_PL.get(req.status, req.status)
    mine = sorted((h for h in handovers if h.request_id == req.id), key=lambda h: h.handed_at)

    def day(value: datetime) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y")

    if copy is not None and copy.state == CopyState.DESTROYED:
        when = f" {day(destruction.second_at)}" if destruction and destruction.second_at else ""
        if mine:
            return "destroyed", f"kopia wydana {day(mine[-1].handed_at)}, zniszczona{when}"
        return "destroyed", f"kopia zniszczona{when}"
    if mine:
        return "handed", f"kopia wydana {day(mine[-1].handed_at)}"
    if copy is not None and copy.review_state == "awaiting":  # custody.subject_review
        return "copied", "kopia sporządzona — czeka na przegląd przez drugą osobę"
    if req.kind in RECEIVING_KINDS:
        return "copied", "kopia sporządzona — czeka na wydanie"
    return "copied", "kopia sporządzona"


def states_of(s: Any, reqs: list[CustodyRequest], tz: Any) -> dict[int, tuple[str, str]]:
    """shown_state of many requests with three queries."""
    copies = {c.id: c for c in s.execute(select(Copy).order_by(Copy.id)).scalars()}
    own = {c.request_id: c for c in copies.values()}  # the newest (a withheld one is followed)
    handovers = list(s.execute(select(Handover)).scalars())
    destroyed = {d.copy_id: d for d in s.execute(select(Destruction)).scalars()}
    out = {}
    for r in reqs:
        mine = [h for h in handovers if h.request_id == r.id]
        copy = own.get(r.id) or (copies.get(mine[-1].copy_id) if mine else None)
        out[r.id] = shown_state(r, copy, mine, destroyed.get(copy.id) if copy else None, tz)
    return out


def asked_and_held(req: CustodyRequest, margin_minutes: int, tz: Any) -> dict[str, str]:
    """The period the requester asked for and the window held for it (the office's margin on
    each side), in words. An approximate hour gives the margin exactly; a period "od–do" is
    read back with the office's margin (custody.hold_margin_minutes, what the form uses)."""
    held = span_pl(req.start_at, req.end_at, tz)
    a, b = req.start_at.astimezone(tz), req.end_at.astimezone(tz)
    day = req.event_date.strftime("%d.%m.%Y")
    if req.approx_time:
        minutes = round((req.end_at - req.start_at).total_seconds() / 120)
        return {"asked": f"około godz. {req.approx_time}, {day}",
                "held": held + (f" (±{minutes} min)" if minutes else "")}
    if a.time() == time(0) and b - a == timedelta(days=1) and a.date() == req.event_date:
        return {"asked": f"cały dzień {day}", "held": ""}
    margin = timedelta(minutes=margin_minutes)
    # in UTC: a margin across the night the clocks change is real minutes, not wall-clock ones
    if not margin or req.start_at + margin > req.end_at - margin:
        return {"asked": "", "held": held}
    start, end = (req.start_at + margin).astimezone(tz), (req.end_at - margin).astimezone(tz)
    if start.date() != req.event_date:
        return {"asked": "", "held": held}
    return {"asked": span_pl(start, end, tz),
            "held": f"{held} (z zapasem {margin_minutes} min przed i po)"}


# -- requests ---------------------------------------------------------------------------------
# The requests list's filter by state: the states shown_state gives.
FILTER_STATES_PL = {"registered": "czeka na decyzję", "approved": "zgoda — czeka na kopię",
                    "refused": "odmowa", "copied": "kopia sporządzona, niewydana",
                    "handed": "kopia wydana", "destroyed": "kopia zniszczona",
                    "answered": "odpowiedziano — nie przetwarzamy danych tej osoby"}


def request_facts(req: CustodyRequest, state: str) -> list_filters.Facts:
    """A request is found by its number or case reference, the requester or the person it
    concerns, the day it came in, and the state the list shows."""
    return list_filters.Facts(numbers=[str(req.id), req.case_ref or ""],
                              people=[req.requester, req.who or ""], state=state,
                              day=req.received_on)


def _requests_page(ctx: Ctx, form: dict[str, str], errors: dict[str, str], status: int = 200,
                   error: str | None = None) -> Response:
    flt = list_filters.parse(ctx.request.query_params, FILTER_STATES_PL)
    with ctx.vault.reading() as s:
        every = list(reversed(list_requests(s)))
        states = states_of(s, every, ctx.vault.policy.timezone)
        found = list_filters.apply(flt, every, lambda r: request_facts(r, states[r.id][0]))
        paging = list_filters.paged(flt, found)
        reqs = paging.rows
        deadlines = {r.id: d for r in reqs
                     if (d := deadline_of(s, r, ctx.vault.policy.timezone)) is not None}
        cams = list(s.execute(select(Source.name).where(Source.kind == SourceKind.CAMERA)
                              .order_by(Source.name)).scalars())
        chunk_sources = [tuple(r) for r in s.execute(
            select(Source.name, Source.kind).where(Source.kind.in_(CHUNK_MATERIALS.values()))
            .order_by(Source.name))]
    today = datetime.now(ctx.vault.policy.timezone).date()
    if flt.errors and status == 200:
        status = 422
    return page(ctx, "requests.html", status, reqs=reqs, states=states, kinds=KINDS,
                deadlines=deadlines, today=today, flt=flt, paging=paging,
                filter_states=list(FILTER_STATES_PL.items()),
                materials=MATERIALS, deliveries=DELIVERY,
                cameras=cams, chunk_sources=chunk_sources, form=form, errors=errors, error=error,
                margin=ctx.vault.config.hold_margin_minutes, msg=flash_of(ctx))


@router.get("/requests")
def requests_list(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _requests_page(ctx, {}, {})


@router.post("/requests")
async def requests_register(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    errors: dict[str, str] = {}
    # A data subject's access needs no purpose nor an event's description (art. 15 RODO).
    subject = form.get("kind") == RequestKind.DATA_SUBJECT
    for name, message in (("requester", "Podaj dane wnioskodawcy."),
                          ("purpose", "Podaj cel uzyskania nagrania.")):
        if not form.get(name, "").strip() and not (subject and name == "purpose"):
            errors[name] = message
    if form.get("kind") not in KINDS:
        errors["kind"] = "Wybierz rodzaj wniosku."
    if form.get("material") not in MATERIALS:
        errors["material"] = "Wybierz rodzaj nagrań."
    received = _day(form.get("received_on"), "received_on", errors)
    event = _day(form.get("event_date"), "event_date", errors)
    if form.get("material") == Material.VIDEO:
        if not subject and not form.get("description", "").strip():
            errors["description"] = "Opisz zdarzenie."
        if not form.get("camera") and not form.get("place", "").strip():
            errors["camera"] = "Wskaż kamerę albo miejsce."
    _dates_and_hour(ctx, form, received, event, errors)
    period = _period(ctx, form, event, errors)
    if form.get("material") == Material.VIDEO and period is None and not form.get("approx_time") \
            and not {"approx_time", "period_from", "period_to"} & errors.keys():
        errors["approx_time"] = "Podaj przybliżoną godzinę zdarzenia albo okres od–do."
    _check_chunk_fields(ctx, form, errors)
    too_long(ctx, form, ("requester", "contact", "purpose", "description", "case_ref", "place",
                         "who", "approx_time"), errors)
    if errors:
        return _requests_page(ctx, form, errors, 422)
    assert received is not None and event is not None
    spec = RequestSpec(kind=form["kind"], material=form["material"],
                       requester=form["requester"], received_on=received, event_date=event,
                       purpose=form.get("purpose", ""), contact=form.get("contact") or None,
                       approx_time=form.get("approx_time") or None,
                       start=period[0] if period else None, end=period[1] if period else None,
                       margin_minutes=ctx.vault.config.hold_margin_minutes,
                       place=form.get("place") or None,
                       cameras=[form["camera"]] if form.get("camera") else [],
                       caller=form.get("caller") or None, callee=form.get("callee") or None,
                       description=form.get("description") or None,
                       case_ref=form.get("case_ref") or None,
                       sources=[form["monitoring_source"]] if form.get("monitoring_source")
                       else [], who=form.get("who") or None,
                       delivery=form.get("delivery") or None)
    try:
        with ctx.vault.transaction() as s:
            req = register_req(s, ctx.vault.policy, spec, user.name)
            req_id = req.id
    except FieldError as exc:
        return _requests_page(ctx, form, {exc.field: ctx.said(exc)}, 422)
    except KustoszError as exc:
        said = ctx.said(exc)
        where = field_of(exc.pl or said, form)  # placed by its Polish words in either language
        if where:
            return _requests_page(ctx, form, {where: said}, 422)
        return _requests_page(ctx, form, {}, 422, error=said)
    return redirect(flash_url(f"/requests/{req_id}",
                              ctx._("Wniosek nr {n} zarejestrowany.", n=req_id)))


def _dates_and_hour(ctx: Ctx, form: dict[str, str], received: date | None, event: date | None,
                    errors: dict[str, str]) -> None:
    """What custody.requests would refuse one at a time, said at its field with the rest."""
    today = datetime.now(ctx.vault.policy.timezone).date()
    if event is not None and event > today:
        errors["event_date"] = f"Data zdarzenia {event.strftime('%d.%m.%Y')} jest w przyszłości."
    if received is not None and received > today:
        errors["received_on"] = (f"Data wniosku {received.strftime('%d.%m.%Y')} jest w "
                                 "przyszłości.")
    elif received is not None and event is not None and received < event:
        errors["received_on"] = "Data wniosku jest wcześniejsza niż data opisanego zdarzenia."
    approx = form.get("approx_time", "").strip()
    if approx and not _HHMM.match(approx):
        errors["approx_time"] = (f"Przybliżona godzina „{approx}” nie ma postaci GG:MM "
                                 "(np. 14:30).")
    if form.get("material") == Material.CALLS and not form.get("caller", "").strip() \
            and not form.get("callee", "").strip():
        errors["caller"] = ("Podaj numer dzwoniącego lub numer, na który dzwoniono "
                            "(004 §7 ust. 5).")


# The domain's refusals (custody.requests speaks to the terminal too, so it names no form
# field): the field each belongs to on this form, by the start of its Polish words.
_FIELD_OF: tuple[tuple[str, str], ...] = (
    ("Data wniosku", "received_on"), ("Data zdarzenia", "event_date"),
    ("Przybliżona godzina", "approx_time"), ("Wniosek o nagranie rozmowy wymaga", "caller"),
    ("W miejscu", "place"), ("Wniosek wymaga danych wnioskodawcy", "requester"),
    ("Wniosek wymaga podania celu", "purpose"), ("Nieznany rodzaj wnioskodawcy", "kind"),
    ("Nieznany rodzaj materiału", "material"), ("Miejsce i kamera", "place"),
    ("Miejsce, kamera i numery", "place"), ("Źródło i osoba", "who"),
)


def field_of(said: str, form: dict[str, str]) -> str | None:
    """The form field a domain refusal of a request belongs to, or None (then it stands
    above the form)."""
    if said.startswith("Okres objęty wnioskiem zaczyna się w przyszłości"):
        return "period_from" if form.get("period_from") else "approx_time"
    if said.startswith("Źródło "):
        return "camera" if "kamerą" in said else "monitoring_source" \
            if form.get("monitoring_source") else None
    if said.startswith("Wniosek o nagranie z monitoringu wizyjnego wymaga"):
        return ("description" if "opisu" in said else "camera" if "miejsca" in said
                else "approx_time")
    return next((name for start, name in _FIELD_OF if said.startswith(start)), None)


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\Z")
# The period's ends may name the second: a data subject who passed a camera for a moment,
# or an authority's "14:02:10-14:02:40", need not ask for (and mask) a whole minute.
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\Z")


def _clock(form: dict[str, str], name: str, errors: dict[str, str]) -> time | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    m = _CLOCK.match(text)
    if not m:
        errors[name] = "Podaj godzinę w postaci GG:MM lub GG:MM:SS, np. 14:00 lub 14:02:30."
        return None
    return time(int(m[1]), int(m[2]), int(m[3] or 0))


# "16:30–14:00" is a slip of the pen, "23:50–00:20" a night: an end before the start is read
# as the next day only for a period this long at most.
OVERNIGHT_MAX = timedelta(hours=12)


def _period(ctx: Ctx, form: dict[str, str], event: date | None,
            errors: dict[str, str]) -> tuple[datetime, datetime] | None:
    """The period 'od godziny – do godziny' on the event date, in the office's local time (an
    authority asks 'from 14:00 to 16:30'); the approximate hour is the alternative, not both."""
    given = [n for n in ("period_from", "period_to") if form.get(n, "").strip()]
    if not given:
        return None
    start, end = _clock(form, "period_from", errors), _clock(form, "period_to", errors)
    if len(given) == 1:
        missing = "period_to" if given == ["period_from"] else "period_from"
        errors[missing] = ("Podaj też godzinę końca okresu." if missing == "period_to"
                           else "Podaj też godzinę początku okresu.")
        return None
    if form.get("approx_time", "").strip():
        errors["approx_time"] = ("Podaj albo przybliżoną godzinę, albo okres od–do — nie "
                                 "jedno i drugie.")
        return None
    if start is None or end is None or event is None:
        return None
    tz = ctx.vault.policy.timezone
    # An end earlier than the start is on the next day: a police request for 23:50–00:20.
    # Each end is placed in the zone on its own day, then compared in UTC: on the nights the
    # clocks change the wall-clock difference is not the period's length.
    begin = datetime.combine(event, start, tzinfo=tz).astimezone(UTC)
    finish = datetime.combine(event + timedelta(days=1) if end < start else event, end,
                              tzinfo=tz).astimezone(UTC)
    if end < start and finish - begin > OVERNIGHT_MAX:
        errors["period_to"] = ("Koniec okresu jest przed jego początkiem — okres przez północ "
                               "(do godziny następnego dnia) może trwać najwyżej "
                               f"{OVERNIGHT_MAX.seconds // 3600} godzin.")
        return None
    if begin > datetime.now(UTC):
        errors["period_from"] = "Okres zaczyna się w przyszłości."
        return None
    return begin, finish


def _check_chunk_fields(ctx: Ctx, form: dict[str, str], errors: dict[str, str]) -> None:
    """Mail and events requests name a mailbox/endpoint source and whom they concern; the
    camera, place and numbers belong to the other materials (and the other way round)."""
    material = form.get("material")
    if material in CHUNK_MATERIALS:
        for name in ("camera", "place", "caller", "callee"):
            if form.get(name, "").strip():
                errors[name] = "To pole dotyczy wniosków o nagrania wizyjne i rozmowy."
        chosen = form.get("monitoring_source", "")
        if chosen:
            with ctx.vault.reading() as s:
                kind = s.execute(select(Source.kind).where(Source.name == chosen)).scalar()
            if kind != CHUNK_MATERIALS[material]:
                errors["monitoring_source"] = (
                    "Wybierz dziennik poczty." if material == Material.MAIL
                    else "Wybierz źródło zdarzeń IT.")
    elif material in MATERIALS:
        for name in ("monitoring_source", "who"):
            if form.get(name, "").strip():
                errors[name] = "To pole dotyczy wniosków o dane z monitoringu poczty i " \
                               "zdarzeń IT."


def _request_page(ctx: Ctx, req_id: int, status: int = 200, error: str | None = None,
                  form: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None) -> Response:
    with ctx.vault.reading() as s:
        req = get_request(s, req_id)
        decisions = decisions_of(s, req_id)
        # the newest: a data subject's copy sent back at review is followed by a new one
        copy = s.execute(select(Copy).where(Copy.request_id == req_id)
                         .order_by(Copy.id.desc())).scalars().first()
        destruction = s.execute(select(Destruction).where(
            Destruction.copy_id == copy.id)).scalar() if copy else None
        users = list_users(s)
        # Every handover of this request's copy, and any copy handed over on this request:
        # each with its own protocol and receipt (issue 12 item 3).
        handovers = [(h, number) for h, number in s.execute(
            select(Handover, Copy.number).join(Copy, Copy.id == Handover.copy_id).where(
                (Handover.copy_id == (copy.id if copy else -1))
                | (Handover.request_id == req_id)).order_by(Handover.id))]
        tz = ctx.vault.policy.timezone
        state = shown_state(req, copy, [h for h, _n in handovers], destruction, tz)
        found = items_summary(s, req.items)
        made_by = person_pl(s, copy.made_by) if copy else ""
        deadline = deadline_of(s, req, tz)
    see = locations.may_see(ctx)
    if see and req.place:
        locations.viewed(ctx, f"request {req.id}")
    approvers = [u for u in users if "approver" in u.roles and u.active]
    custodians = [u for u in users if {"custodian", "administrator"} & set(u.roles) and u.active]
    names = {u.name: u.display_name for u in users}
    handed = ctx.request.query_params.get("handed", "")
    just = next(((h, n) for h, n in handovers if str(h.id) == handed), None)
    # Handing the copy over again on this request would give the same body a second copy:
    # the form goes once a handover on it is recorded (another body asks by its own request).
    handed_here = [h for h, _n in handovers if h.request_id == req.id]
    may_hand_over = req.kind in RECEIVING_KINDS and not handed_here
    # A data subject's request with nothing of theirs left to copy is answered "nie
    # przetwarzamy Pana/Pani danych" (custody.no_data); offered while it waits for its answer.
    may_answer_none = (req.kind == RequestKind.DATA_SUBJECT and deadline is not None
                       and deadline.answered_on is None and not handed_here
                       and req.status in (RequestStatus.REGISTERED, RequestStatus.APPROVED)
                       and (copy is None or copy.state != CopyState.KEPT))
    return page(ctx, "request.html", status, req=req, decisions=decisions, copy=copy,
                listed=ctx.vault.policy.approvers, positions=titled(ctx.vault.policy, decisions),
                state=state, found=found, made_by=made_by, handed_here=handed_here,
                may_hand_over=may_hand_over, may_answer_none=may_answer_none, deliveries=DELIVERY,
                period=asked_and_held(req, ctx.vault.config.hold_margin_minutes, tz),
                destruction=destruction, approvers=approvers, custodians=custodians,
                see_locations=see, kinds=KINDS, materials=MATERIALS, error=error,
                form=form or {}, handovers=handovers, names=names,
                just_handed=just[0] if just else None,
                just_handed_number=just[1] if just else None,
                errors=errors or {}, msg=flash_of(ctx), deadline=deadline,
                masks=subject_review.region_rows(req, tz),
                today=datetime.now(ctx.vault.policy.timezone).date())


@router.get("/requests/{req_id}")
def request_detail(req_id: PathId, ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    try:
        return _request_page(ctx, req_id)
    except NotFound:
        raise  # the app's Polish page; the domain's message is English, for logs and the CLI
    except KustoszError as exc:
        return page(ctx, "error.html", 404, message=ctx.said(exc))


@router.post("/requests/{req_id}/decide")
async def request_decide(req_id: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    errors: dict[str, str] = {}
    if form.get("agree") not in ("yes", "no"):
        errors["agree"] = "Wybierz decyzję."
    on = _day(form.get("on"), "on", errors)
    by = form.get("by") or user.name
    if form.get("agree") == "no" and not form.get("reason", "").strip():
        errors["reason"] = "Podaj uzasadnienie odmowy."
    too_long(ctx, form, ("reason", "paper_ref"), errors)
    if errors:
        return _request_page(ctx, req_id, 422, form=form, errors=errors)
    assert on is not None
    try:
        with ctx.vault.transaction() as s:
            decide(s, ctx.vault.policy, req_id, by=by, agree=form["agree"] == "yes", on=on,
                   actor=user.name, keyed_by=user.name,
                   paper_ref=form.get("paper_ref", "").strip() or None,
                   capacity=form.get("capacity") or None, reason=form.get("reason"))
    except NotFound:
        raise  # the app's Polish 404 page
    except FieldError as exc:
        return _request_page(ctx, req_id, 422, form=form, errors={exc.field: ctx.said(exc)})
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
    return redirect(flash_url(f"/requests/{req_id}", "Decyzja zapisana."))


def _request_paper(ctx: Ctx, build: Any, stem: str) -> Response:
    """A data subject's letter as a PDF; a request without one (not extended, not answered)
    gets the page saying why, an unknown request the app's 404."""
    ctx.need("custody_read")

    def refused(exc: KustoszError) -> Response:
        if isinstance(exc, NotFound):
            raise exc
        return page(ctx, "error.html", 409, title="Nie ma takiego dokumentu",
                    message=ctx.said(exc))

    return paper_answer(ctx, build, stem, refused)


@router.get("/requests/{req_id}/extension-notice.pdf")
def extension_notice_pdf(req_id: PathId, ctx: Ctx = gate("custody_read")) -> Response:
    """The notice to the data subject that the answer's deadline is extended."""
    return _request_paper(ctx, lambda s: papers.extension_notice_doc(s, ctx.vault.policy, req_id),
                          f"zawiadomienie-przedluzenie-wniosek-{req_id}")


@router.get("/requests/{req_id}/answer.pdf")
def answer_letter_pdf(req_id: PathId, ctx: Ctx = gate("custody_read")) -> Response:
    """The answer to a data subject's request: what is handed over and what was taken out."""
    return _request_paper(ctx, lambda s: papers.answer_letter_doc(s, ctx.vault.policy, req_id),
                          f"odpowiedz-wniosek-{req_id}")


@router.post("/requests/{req_id}/extend")
async def request_extend(req_id: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    """A data subject's deadline extended by two months (art. 12 ust. 3 RODO)."""
    user = ctx.need("custody")
    form = await form_of(request)
    errors: dict[str, str] = {}
    on = _day(form.get("told_on"), "told_on", errors)
    too_long(ctx, form, ("reason",), errors)
    if not form.get("reason", "").strip():
        errors["reason"] = "Podaj przyczynę przedłużenia."
    if errors:
        return _request_page(ctx, req_id, 422, form=form, errors=errors)
    assert on is not None
    tz = ctx.vault.policy.timezone
    try:
        with ctx.vault.transaction() as s:
            d = extend(s, tz, req_id, reason=form["reason"], on=on, by=user.name,
                       actor=user.name, today=datetime.now(tz).date())
    except NotFound:
        raise
    except FieldError as exc:
        field = "told_on" if exc.field == "on" else exc.field
        return _request_page(ctx, req_id, 422, form=form, errors={field: ctx.said(exc)})
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
    return redirect(flash_url(f"/requests/{req_id}", ctx._(
        "Termin odpowiedzi przedłużono do {day}.", day=d.due.strftime("%d.%m.%Y"))))


@router.post("/requests/{req_id}/no-data")
async def request_no_data(req_id: PathId, request: Request,
                          ctx: Ctx = gate("custody")) -> Response:
    """Answer a data subject that no data of theirs are processed (art. 15 ust. 1 RODO):
    signed by the person signed in, on the day given; the request's hold is released."""

    user = ctx.need("custody")
    form = await form_of(request)
    errors: dict[str, str] = {}
    on = _day(form.get("no_data_on"), "no_data_on", errors)
    if errors:
        return _request_page(ctx, req_id, 422, form=form, errors=errors)
    assert on is not None
    try:
        with ctx.vault.transaction() as s:
            answer_no_data(s, ctx.vault.policy, req_id, by=user.name, on=on, actor=user.name)
    except NotFound:
        raise
    except FieldError as exc:
        field = "no_data_on" if exc.field == "on" else exc.field
        if field == "by":
            return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
        return _request_page(ctx, req_id, 422, form=form, errors={field: ctx.said(exc)})
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
    return redirect(flash_url(f"/requests/{req_id}", ctx._(
        "Zapisano odpowiedź: nie przetwarzamy danych tej osoby. Zabezpieczenie zwolniono — "
        "wydrukuj odpowiedź (PDF).")))


def not_someone_else(given: str | None, acting: str) -> str | None:
    """Copies and handovers are recorded by the person doing them, signed in as themselves
    (issue 11: a colleague's name on the register hid who acted)."""
    if given and given.strip() and given.strip() != acting:
        return ("Kopię sporządza i przekazuje osoba zalogowana na własne konto — zapis w imieniu "
                "innej osoby nie jest możliwy. Niech zrobi to ona sama.")
    return None


@router.post("/requests/{req_id}/copy")
async def request_copy(req_id: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    if (refused := not_someone_else(form.get("by"), user.name)) is not None:
        return _request_page(ctx, req_id, 422, error=refused)
    try:
        # Made as a job (kustosz.jobs): by serve's worker, or right here without one; what
        # refuses a copy (the request not approved, no material) is refused before that.
        job_id = await run_in_threadpool(lambda: copy_make.defer(
            ctx.vault, user.name, request_id=req_id, by=user.name, actor=user.name))
    except NotFound:
        raise
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc))
    view = await settle(ctx, job_id)
    if view.state == jobs.JobState.FAILED:
        return _request_page(ctx, req_id, 422, error=failure(ctx, view))
    if view.state == jobs.JobState.DONE:
        return redirect(next_page(view))  # "Sporządzono kopię nr …", as before
    return redirect(waiting(view))  # a long copy: its progress


@router.post("/requests/{req_id}/handover")
async def request_handover(req_id: PathId, request: Request,
                           ctx: Ctx = gate("custody")) -> Response:
    """Record a handover; the page then offers its protocol (two copies) and receipt."""
    user = ctx.need("custody")
    form = await form_of(request)
    if (refused := not_someone_else(form.get("by"), user.name)) is not None:
        return _request_page(ctx, req_id, 422, error=refused, form=form)
    errors: dict[str, str] = {}
    if not form.get("receiver", "").strip():
        errors["receiver"] = "Podaj osobę i organ przyjmujący kopię."
    too_long(ctx, form, ("receiver", "medium"), errors)
    if errors:
        return _request_page(ctx, req_id, 422, form=form, errors=errors)
    with ctx.vault.reading() as s:
        get_request(s, req_id)  # an unknown request: the app's Polish 404 page
        copy = s.execute(select(Copy).where(Copy.request_id == req_id)
                         .order_by(Copy.id.desc())).scalars().first()
    if copy is None:
        return _request_page(ctx, req_id, 409, form=form,
                             error="Do tego wniosku nie sporządzono jeszcze kopii.")
    try:
        h, _pw = hand_over(ctx.vault, copy.number, receiver=form["receiver"],
                           request_id=req_id, by=user.name, actor=user.name,
                           medium=form.get("medium") or None)
    except FieldError as exc:
        return _request_page(ctx, req_id, 422, form=form, errors={exc.field: ctx.said(exc)})
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
    url = flash_url(f"/requests/{req_id}?handed={h.id}",
                    ctx._("Przekazanie kopii nr {number} zapisane (nr {n}). Wydrukuj protokół "
                          "przekazania w dwóch egzemplarzach i pokwitowanie — odnośniki "
                          "poniżej, w części „Dokumenty”.", number=copy.number, n=h.id))
    return redirect(url + "#dokumenty")
