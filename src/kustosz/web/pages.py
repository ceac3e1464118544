"""HTML pages: dashboard, cameras (timeline, gaps), holds, copies (destroy with two
confirmations), registers, the access log. Requests are in requests_pages.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from kustosz.access.employees import without_acknowledgment
from kustosz.access.listening import without_protocol
from kustosz.access.users import printed
from kustosz.alerts.checks import note_verify
from kustosz.alerts.notifier import channel_problems
from kustosz.audit import append as audit_append
from kustosz.audit.verifier import verify
from kustosz.cameras.down_since import down_since, shown_since
from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.cameras.register import (
    REGISTER_COLUMNS,
    REGISTER_WIDTHS,
    camera_rows,
    register_rows,
)
from kustosz.cluster.status import SINGLETON_PL, cluster_status
from kustosz.custody import holds as holds_mod
from kustosz.custody import papers, registers, subject_review
from kustosz.custody.answer_deadline import open_deadlines
from kustosz.custody.copies import get_copy, is_due, list_copies
from kustosz.custody.copy_dates import held_period
from kustosz.custody.destruction import confirm, reason_needed
from kustosz.custody.requests import overdue_copies, overdue_requests
from kustosz.db.access import Authorisation
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.custody import Copy, Destruction, Handover
from kustosz.db.custody import Request as CustodyRequest
from kustosz.db.jobs import JobState
from kustosz.db.models import Hold, Recording, Setting, Source
from kustosz.documents import render
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.holds.coverage import covered_by_active_hold
from kustosz.holds.object_lock import jobs_queued
from kustosz.index.forecast import forecast
from kustosz.index.sources import get_source
from kustosz.ingest.phone.siprec import status as siprec_status
from kustosz.limits import check_text
from kustosz.states import CopyState, RecordingState, RequestStatus
from kustosz.web import list_filters, locations
from kustosz.web.alarms_live import alarm_list
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
from kustosz.web.i18n import plural_in
from kustosz.web.jobs_pages import failure, settle, waiting
from kustosz.web.media_register import access_register
from kustosz.web.params import PathId
from kustosz.words import period_pl

router = APIRouter(include_in_schema=False)


async def form_of(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _day(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        errors[field] = "To pole jest wymagane."
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Nieprawidłowa data (RRRR-MM-DD)."
        return None


def _when(text: str | None, field: str, errors: dict[str, str], ctx: Ctx,
          required: bool = True) -> datetime | None:
    if not text:
        if required:
            errors[field] = "To pole jest wymagane."
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = "Nieprawidłowa data i godzina."
        return None
    return value.replace(tzinfo=ctx.vault.policy.timezone) if value.tzinfo is None else value


# -- dashboard (R6.3) ------------------------------------------------------------------------
@router.get("/")
def dashboard(ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    now = datetime.now(UTC)
    data: dict[str, Any] = {}
    with ctx.vault.reading() as s:
        if ctx.may("oversight") or ctx.may("custody_read"):
            data["holds"] = s.execute(select(func.count()).select_from(Hold).where(
                Hold.released_at.is_(None))).scalar_one()
            data["waiting_decision"] = s.execute(select(func.count()).select_from(
                CustodyRequest).where(CustodyRequest.status == RequestStatus.REGISTERED)
            ).scalar_one()
            # Undecided past the office's time: still held, shown as overdue (policy.custody).
            data["overdue_decision"] = len(overdue_requests(s, ctx.vault.policy, now))
            data["overdue_after"] = period_pl(ctx.vault.policy.custody.decision_overdue_after)
            data["waiting_copy"] = s.execute(select(func.count()).select_from(
                CustodyRequest).where(CustodyRequest.status == RequestStatus.APPROVED)).scalar_one()
            # Approved, never copied: held until copied, so shown with the day it became
            # overdue (issue 30 item 4; custody.requests.overdue_since).
            data["overdue_copy"] = overdue_copies(s, ctx.vault.policy, now)
            data["copy_overdue_after"] = period_pl(ctx.vault.policy.custody.copy_overdue_after)
            data["copies_due"] = len(list_copies(s, due_only=True, now=now))
            # Data subjects' requests and their deadline (art. 12 ust. 3 RODO), nearest first.
            tz = ctx.vault.policy.timezone
            data["subject_deadlines"] = open_deadlines(s, tz)
            data["today"] = now.astimezone(tz).date()
            data["expiring"] = s.execute(select(func.count()).select_from(Recording).where(
                Recording.state == RecordingState.STORED,
                Recording.expires_at <= now + timedelta(days=7),
                ~covered_by_active_hold())).scalar_one()

            disk = ctx.vault.storage
            data["forecast"] = forecast(s, disk.free_bytes(), disk.total_bytes(), now)
            data["storage"] = data["forecast"].stored_bytes
            data["auth_expiring"] = s.execute(select(func.count()).select_from(
                Authorisation).where(Authorisation.revoked_at.is_(None),
                                     Authorisation.valid_to > now,
                                     Authorisation.valid_to <= now + timedelta(days=30))
            ).scalar_one()

            data["no_ack"] = len(without_acknowledgment(s, ctx.vault.policy.timezone))
            if ctx.vault.policy.access.listening_protocol:  # 001 §3 ust. 3
                data["no_protocol"] = len(without_protocol(s, ctx.vault.policy))
            down = down_since(s)  # one "since" of a camera that does not record (issue 65)
            data["recorders"] = [(st, name, shown_since(st.state, st.since, down.get(
                st.source_id))) for st, name in s.execute(select(RecorderStatus, Source.name)
                .join(Source, Source.id == RecorderStatus.source_id).order_by(Source.name))]
            data["open_gaps"] = s.execute(select(Gap, Source.name).join(
                Source, Source.id == Gap.source_id).where(
                (Gap.end_at.is_(None)) | (Gap.start_at >= now - timedelta(days=1)))
                .order_by(Gap.start_at.desc()).limit(10)).all()

        last = s.get(Setting, AUDIT_KEY)
        if last is not None:
            data["audit"] = json.loads(last.value)
            data["audit"]["at"] = datetime.fromisoformat(data["audit"]["at"])
        data["mine"] = list(s.execute(select(Authorisation).where(
            Authorisation.holder_id == user.id).order_by(Authorisation.id.desc())).scalars())
        # every role that watches is told, each only of what it may see (issue 50 item 1)
        data.update(alarm_list(ctx, s, now), alarms_page="dashboard")
    if ctx.may("oversight"):  # an alert channel that fails (kustosz.alerts)
        with ctx.vault.reading() as s:
            data["alert_channels"] = channel_problems(s)
        # Several serve nodes on one PostgreSQL (kustosz.cluster): shown when there are two

        # Calls this serve records through SIPREC now: a count per line, never who (issue 35)
        if siprec_status.current().listening:
            data["siprec"] = siprec_status.current()
        if siprec_status.current("capture").listening:  # ... and off mirrored ports
            data["capture"] = siprec_status.current("capture")
        cluster = cluster_status(ctx.vault)
        if cluster is not None and len(cluster.nodes) > 1:
            data["cluster"], data["singletons_pl"] = cluster, SINGLETON_PL

    return page(ctx, "dashboard.html", **data, causes=CAUSES_PL,
                msg=flash_of(ctx))


# -- cameras: register, timeline with gaps (R1.7 locations by role) --------------------------
@router.get("/holds")
def holds(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _holds_page(ctx, {}, {})


@dataclass
class Items:
    """Recordings held or found one by one (a call request's calls): their lines or cameras
    by name, how many, and the time they span."""

    sources: list[str]
    count: int
    start: datetime | None
    end: datetime | None


def items_summary(s: Any, ids: Sequence[int]) -> Items:
    if not ids:
        return Items([], 0, None, None)
    rows = s.execute(select(Source.name, Recording.start_at, Recording.end_at).join(
        Source, Source.id == Recording.source_id).where(Recording.id.in_(list(ids)))).all()
    return Items(sorted({r[0] for r in rows}), len(ids),
                 min((r[1] for r in rows), default=None), max((r[2] for r in rows), default=None))


HOLD_STATES_PL = {"active": "aktywne", "released": "zwolnione"}


def hold_facts(view: holds_mod.HoldView, placer: str, found: Items | None,
               tz: Any) -> list_filters.Facts:
    """A hold is found by its number or case reference, who placed it, the period it holds
    (a day inside it; recordings held one by one: the time they span; else the day it was
    placed), and whether it is active."""
    hold = view.hold
    first, last = (hold.start_at, hold.end_at) if hold.start_at and hold.end_at else (
        (found.start, found.end) if found and found.start and found.end else
        (hold.placed_at, hold.placed_at))
    return list_filters.Facts(
        numbers=[str(hold.id), hold.case_ref or ""], people=[placer, hold.placed_by],
        state="released" if hold.released_at else "active",
        span=(first.astimezone(tz).date(), last.astimezone(tz).date()))


def _holds_page(ctx: Ctx, form: dict[str, str], errors: dict[str, str],
                status: int = 200, error: str | None = None) -> Response:
    flt = list_filters.parse(ctx.request.query_params, HOLD_STATES_PL)
    tz = ctx.vault.policy.timezone
    with ctx.vault.reading() as s:
        every = list(reversed(holds_mod.list_holds(s, include_released=True)))
        found = {v.hold.id: items_summary(s, v.items) for v in every if v.items}
        sources = [x.name for x in s.execute(select(Source).order_by(Source.name)).scalars()]
        placers = {v.hold.placed_by: person_pl(s, v.hold.placed_by) for v in every}
    paging = list_filters.paged(flt, list_filters.apply(flt, every, lambda v: hold_facts(
        v, placers[v.hold.placed_by], found.get(v.hold.id), tz)))
    if flt.errors and status == 200:
        status = 422
    return page(ctx, "holds.html", status, views=paging.rows, sources=sources, placers=placers,
                found=found, flt=flt, paging=paging, filter_states=list(HOLD_STATES_PL.items()),
                source_options=[(name, name) for name in sources], form=form,
                errors=errors, error=error, msg=flash_of(ctx))


@router.post("/holds")
async def holds_place(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    raw = await request.form()
    chosen = [v for v in raw.getlist("sources") if isinstance(v, str)]
    errors: dict[str, str] = {}
    if not form.get("basis", "").strip():
        errors["basis"] = "Podaj podstawę zabezpieczenia."
    if not chosen:
        errors["sources"] = "Wybierz co najmniej jedno źródło."
    start = _when(form.get("from"), "from", errors, ctx)
    end = _when(form.get("to"), "to", errors, ctx)
    if start and end and end < start:
        errors["to"] = "Koniec okresu jest przed jego początkiem."
    too_long(ctx, form, ("basis", "case_ref"), errors)
    form["sources"] = ",".join(chosen)
    if errors:
        return _holds_page(ctx, form, errors, 422)
    def place() -> tuple[int, list[int]]:
        with ctx.vault.transaction() as s:
            hold = holds_mod.place_hold(
                s, sources=[get_source(s, n) for n in chosen], start=start, end=end,
                basis=form["basis"], case_ref=form.get("case_ref") or None, actor=user.name)
            hold_id = hold.id
        return hold_id, jobs_queued(s)

    try:
        # In a thread: on an object store the commit queues the job that sets the legal
        # holds (holds/object_lock.py), which runs right there without serve's worker.
        hold_id, queued = await run_in_threadpool(place)
    except FieldError as exc:
        return _holds_page(ctx, form, {exc.field: ctx.said(exc)}, 422)
    except KustoszError as exc:
        return _holds_page(ctx, form, {}, 422, error=ctx.said(exc))
    if queued:
        view = await settle(ctx, queued[-1])
        if not view.finished:
            return redirect(waiting(view))  # months of material: the job's progress
        if view.state == JobState.FAILED:
            return redirect(flash_url("/holds", ctx._(
                "Zabezpieczenie nr {n} założone; blokady prawnej w magazynie obiektów nie "
                "udało się ustawić: {why}", n=hold_id, why=failure(ctx, view))))
    return redirect(flash_url("/holds", ctx._("Zabezpieczenie nr {n} założone.", n=hold_id)))


@router.post("/holds/{hold_id}/release")
async def holds_release(hold_id: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    field = f"reason-{hold_id}"
    errors: dict[str, str] = {}
    if not form.get("reason", "").strip():
        errors[field] = "Podaj powód zwolnienia."
    too_long(ctx, form, ("reason",), errors)
    if "reason" in errors:
        errors[field] = errors.pop("reason")
    typed = {field: form.get("reason", "")}
    if errors:
        return _holds_page(ctx, typed, errors, 422)
    def release() -> None:
        with ctx.vault.transaction() as s:
            holds_mod.release_hold(s, hold_id, form["reason"], user.name)

    try:
        await run_in_threadpool(release)  # the commit queues the job clearing legal holds
    except NotFound:
        raise  # the app's Polish 404 page
    except FieldError as exc:
        return _holds_page(ctx, typed, {field: ctx.said(exc)}, 422)
    except KustoszError as exc:
        return _holds_page(ctx, typed, {}, 422, error=ctx.said(exc))
    return redirect(flash_url("/holds", ctx._("Zabezpieczenie nr {n} zwolnione.", n=hold_id)))


# -- copies -----------------------------------------------------------------------------------
@router.get("/copies")
def copies(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _copies_page(ctx)


def copy_state(copy: Copy, handovers: Sequence[Handover], tz: Any) -> tuple[str, str]:
    """What became of a copy, in the registers' words (code for the page's colour, words):
    wydana (with each handover's date), przechowywana, zniszczona, and where a data subject's
    masked copy stands in its review."""
    def day(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y") if value else ""

    given = f"wydana {', '.join(day(h.handed_at) for h in handovers)}" if handovers else ""
    if copy.state == CopyState.DESTROYED:
        gone = f"zniszczona {day(copy.destroyed_at)}".rstrip()
        if copy.review_state == subject_review.SENT_BACK:
            return "destroyed", f"zwrócona po przeglądzie, niewydana; {gone}"
        return "destroyed", f"{given}; {gone}" if given else gone
    if given:
        return "handed", given
    if copy.review_state in (subject_review.AWAITING, subject_review.RESIDUAL):
        return "kept", f"przechowywana — {subject_review.REVIEW_PL[copy.review_state]}"
    if copy.review_state == subject_review.APPROVED:
        return "kept", "przechowywana — zatwierdzona po przeglądzie, czeka na wydanie"
    return "kept", "przechowywana"


COPY_STATES_PL = {"kept": "przechowywana", "handed": "wydana", "destroyed": "zniszczona"}


def copy_facts(copy: Copy, state: str, maker: str, handovers: Sequence[Handover],
               tz: Any) -> list_filters.Facts:
    """A copy is found by its number or its request's, who made it or received it, the day
    it was made, and what became of it (copy_state)."""
    return list_filters.Facts(
        numbers=[copy.number, str(copy.request_id)],
        people=[maker, copy.made_by, *(h.receiver for h in handovers)], state=state,
        day=copy.made_at.astimezone(tz).date())


def _copies_page(ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None,
                 form: dict[str, str] | None = None) -> Response:
    now = datetime.now(UTC)
    flt = list_filters.parse(ctx.request.query_params, COPY_STATES_PL)
    with ctx.vault.reading() as s:
        every = list(reversed(list_copies(s)))
        tz = ctx.vault.policy.timezone
        handed: dict[int, list[Handover]] = {}
        for h in s.execute(select(Handover).order_by(Handover.handed_at)).scalars():
            handed.setdefault(h.copy_id, []).append(h)
        states = {c.id: copy_state(c, handed.get(c.id, []), tz) for c in every}
        names = {c.made_by: printed(s, c.made_by) for c in every}
        paging = list_filters.paged(flt, list_filters.apply(flt, every, lambda c: copy_facts(
            c, states[c.id][0], names[c.made_by], handed.get(c.id, []), tz)))
        rows = paging.rows
        due = {c.id for c in rows if is_due(c, now)}  # the one definition (custody.copies)
        destructions = {d.copy_id: d for d in s.execute(select(Destruction)).scalars()}
        periods = {c.id: span_pl(*held_period(c), tz, seconds=True) for c in rows}
        # A first confirmation before the copy's time asks for the commission's reason.
        early = {c.id: words for c in rows if c.state == CopyState.KEPT
                 and (words := reason_needed(s, c, ctx.vault.policy, now)) is not None}
        # Makers and the commission by name, as on paper (logins are for the system).
        logins = {c.made_by for c in rows} | {n for d in destructions.values()
                                              for n in (d.first_by, d.second_by) if n}
        makers = {name: printed(s, name) for name in logins}
    if flt.errors and status == 200:
        status = 422
    return page(ctx, "copies.html", status, rows=rows, due=due, destructions=destructions,
                flt=flt, paging=paging, filter_states=list(COPY_STATES_PL.items()),
                periods=periods, makers=makers, early=early, states=states,
                msg=flash_of(ctx), error=None, errors=errors or {},
                form=form or {})


@router.post("/copies/destroy")
async def copies_destroy(request: Request, ctx: Ctx = gate("custody")) -> Response:
    """One confirmation of the destruction commission; the second, by another member,
    destroys the copy. Every error of the form at once, each by its field of the copy's row:
    the number typed again, and the reason when the copy goes before its time."""
    user = ctx.need("custody")
    form = await form_of(request)
    number = form.get("number", "")
    reason = form.get("reason", "").strip()
    errors: dict[str, str] = {}
    with ctx.vault.reading() as s:
        copy = get_copy(s, number)  # an unknown number: the app's Polish 404 page
        early = reason_needed(s, copy, ctx.vault.policy, datetime.now(UTC))
    if form.get("confirm", "").strip() != number:
        errors[f"confirm-{number}"] = (f"Aby potwierdzić, przepisz numer kopii: {number}."
                                       if form.get("confirm") else
                                       f"Przepisz numer kopii ({number}), aby potwierdzić.")
    if early is not None and not reason:
        errors[f"reason-{number}"] = (f"Kopia jest niszczona {early}: podaj przyczynę "
                                      "zniszczenia przed terminem.")
    try:
        check_text("reason", reason or None)
    except FieldError as exc:
        errors[f"reason-{number}"] = ctx.said(exc)
    typed = {f"confirm-{number}": form.get("confirm", ""), f"reason-{number}": reason}
    if errors:
        return _copies_page(ctx, 422, errors=errors, form=typed)
    try:
        _d, done = confirm(ctx.vault, number, by=user.name, actor=user.name,
                           reason=reason or None)
    except NotFound:
        raise
    except FieldError as exc:  # shown by the copy's own field: the reason, or the confirmation
        where = "reason" if exc.field == "reason" else "confirm"
        return _copies_page(ctx, 422, errors={f"{where}-{number}": ctx.said(exc)}, form=typed)
    except KustoszError as exc:
        return _copies_page(ctx, 422, errors={f"confirm-{number}": ctx.said(exc)}, form=typed)
    if done:
        return redirect(flash_url("/copies", ctx._(
            "Kopia nr {n} zniszczona. Protokół zniszczenia jest w kolumnie „Zniszczenie”.",
            n=number)))
    return redirect(flash_url("/copies", ctx._(
        "Pierwsze potwierdzenie zniszczenia kopii nr {n} zapisane; potrzebne drugie, innego "
        "członka komisji.", n=number)))


# -- custody paperwork as PDFs: handover protocol (001 annex 4, two copies), receipt
# (003 §5.8), destruction protocol (003 §5.7); issue 12 item 3 ------------------------------
def no_paper(ctx: Ctx, exc: KustoszError) -> Response:
    """A document that does not exist: 404 for a copy or handover that does not, 409 for a
    copy whose protocol has no event behind it yet (not handed over, not destroyed)."""
    if isinstance(exc, NotFound):
        words = exc.pl or "Nie ma takiej kopii ani takiego przekazania."
        return page(ctx, "error.html", 404, title="Nie znaleziono", message=words)
    return page(ctx, "error.html", 409, title="Nie ma takiego dokumentu",
                message=ctx.said(exc))


@router.get("/copies/{number:path}/handovers/{handover_id}/protocol.pdf")
def handover_protocol_pdf(number: str, handover_id: PathId,
                          ctx: Ctx = gate("custody_read")) -> Response:
    """The handover protocol of one handover of the copy, two copies on two pages."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.handover_doc(s, ctx.vault.policy, number,
                                                           handover_id),
                        f"protokol-przekazania-{number}-{handover_id}",
                        lambda exc: no_paper(ctx, exc))


@router.get("/copies/{number:path}/handovers/{handover_id}/receipt.pdf")
def handover_receipt_pdf(number: str, handover_id: PathId,
                         ctx: Ctx = gate("custody_read")) -> Response:
    """The receipt the receiver signs for one handover of the copy."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.receipt_doc(s, ctx.vault.policy, number,
                                                          handover_id),
                        f"pokwitowanie-{number}-{handover_id}", lambda exc: no_paper(ctx, exc))


@router.get("/copies/{number:path}/destruction.pdf")
def destruction_protocol_pdf(number: str, ctx: Ctx = gate("custody_read")) -> Response:
    """The destruction protocol of a destroyed copy."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.destruction_doc(s, ctx.vault.policy, number),
                        f"protokol-zniszczenia-{number}", lambda exc: no_paper(ctx, exc))


def too_long(ctx: Ctx, form: dict[str, str], fields: Sequence[str],
             errors: dict[str, str]) -> None:
    """Each typed text over its limit (kustosz.limits), by its field, with the other errors."""
    for name in fields:
        try:
            check_text(name, form.get(name) or None)
        except FieldError as exc:
            errors.setdefault(name, ctx.said(exc))


# -- registers --------------------------------------------------------------------------------
REGISTERS_PL = {"disclosures": "Rejestr udostępnionych nagrań", "copies": "Rejestr kopii",
                "actions": "Rejestr działań w systemie monitoringu"}
# The downloads' file names: Polish words in ASCII (every browser and mail client keeps them),
# like the custody papers' names (protokol-przekazania-…).
REGISTER_FILES = {"disclosures": "rejestr-udostepnien", "copies": "rejestr-kopii",
                  "actions": "rejestr-dzialan"}


@router.get("/registers")
def registers_page(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    today = datetime.now(ctx.vault.policy.timezone).date()
    return page(ctx, "registers.html", kinds=REGISTERS_PL,
                start=today.replace(month=1, day=1), end=today, csv_forms=registers.CSV_FORMS_PL)


@router.get("/cameras/register.pdf")
def camera_register_pdf(ctx: Ctx = gate("locations")) -> Response:
    """The camera register as a PDF (R1.6): where each camera hangs, its purpose, its device
    (make, model, serial, firmware, MAC, ONVIF address) and its dates. Camera locations: the
    locations right only, and each print is on record (R1.7)."""
    ctx.need("locations")
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        rows = camera_rows(s, ctx.vault.policy, True, now)
    locations.viewed(ctx, "camera register (pdf)")
    policy = ctx.vault.policy
    today = now.astimezone(policy.timezone)
    pdf = render("register", {
        "office": policy.office_name, "title": f"Rejestr kamer — {policy.office_name}",
        "heading": "Rejestr kamer", "sub": policy.office_name, "annex": None,
        "period": today.strftime("%d.%m.%Y"),
        "period_line": f"Stan na {today.strftime('%d.%m.%Y, godz. %H:%M')}",
        "columns": REGISTER_COLUMNS, "widths": REGISTER_WIDTHS, "rows": register_rows(rows),
        "printed_at": today.strftime("%d.%m.%Y, %H:%M:%S"), "checkpoint": None},
        data_root=ctx.vault.root)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="rejestr-kamer-{today.date()}.pdf"'})


@router.get("/registers/{kind}.{fmt}")
def register_download(kind: str, fmt: str, ctx: Ctx = gate("custody_read"), start: str = "",
                      end: str = "", csv: str = "") -> Response:
    """A register as PDF or CSV; ``csv``: the CSV's form, "excel" (the default) or "rfc4180"
    (registers.CSV_FORMS)."""
    ctx.need("custody_read")
    if kind not in REGISTER_FILES:
        return page(ctx, "error.html", 404, title="Nie znaleziono",
                    message="Nie ma takiego rejestru. Rejestry do pobrania są na stronie "
                            "„Rejestry”.")
    if fmt not in ("csv", "pdf"):
        return page(ctx, "error.html", 404, title="Nie znaleziono",
                    message="Rejestr można pobrać jako PDF albo CSV.")
    try:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return page(ctx, "error.html", 422, message="Nie można przygotować rejestru: podaj "
                    "daty „od” i „do” w postaci RRRR-MM-DD.")
    try:
        form = registers.csv_form(csv)
    except FieldError as exc:
        return page(ctx, "error.html", 422,
                    message=ctx._("Nie można przygotować rejestru: {why}",
                                   why=ctx.said(exc)))
    try:
        with ctx.vault.reading() as s:
            reg = registers.build(s, ctx.vault.policy, kind, a, b,
                                  locations=locations.may_see(ctx))
        if fmt in ("csv", "pdf") and reg.shows_locations:
            locations.viewed(ctx, f"register {kind} {a}–{b} ({fmt})")
        filename = f"{REGISTER_FILES[kind]}-{a.isoformat()}-{b.isoformat()}.{fmt}"
        if fmt == "csv":
            return Response(registers.to_csv(reg, form), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{filename}"'})
        pdf = render("register", registers.pdf_data(reg, ctx.vault.policy, a, b),
                     data_root=ctx.vault.root)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})
    except KustoszError as exc:
        return page(ctx, "error.html", 422,
                    message=ctx._("Nie można przygotować rejestru: {why}",
                                   why=ctx.said(exc)))


# -- access records (R6.3 supervision) --------------------------------------------------------
@router.get("/access-log")
def access_log(ctx: Ctx = gate("oversight")) -> Response:
    return access_register(ctx)


@router.get("/copies/{number:path}/get")
def copy_get(number: str, ctx: Ctx = gate()) -> Response:
    """The form that opens an export session for a copy (purpose first)."""
    ctx.need_user()
    with ctx.vault.reading() as s:
        get_copy(s, number)
    return redirect(f"/media/start?action=export&copy={number}")


# -- audit verify (R6.3: the last result on the dashboard) -----------------------------------
AUDIT_KEY = "audit_last_verify"  # = alerts.checks.LAST_VERIFY_KEY: whoever verified


@router.post("/audit/verify")
async def audit_verify(request: Request, ctx: Ctx = gate("oversight")) -> Response:
    user = ctx.need("oversight")

    with ctx.vault.reading() as s:
        count, problem = verify(s, ctx.vault.head_file)
    now = datetime.now(UTC)
    result = {"at": now.isoformat(), "entries": count, "by": user.name,
              "problem": str(problem) if problem else None}
    # the one "last verified" row, which serve's daily check and the command write too
    note_verify(ctx.vault, [str(problem)] if problem else [], now, by=user.name,
                entries=count, how="web")
    with ctx.vault.transaction() as s:
        audit_append(s, user.name, "audit.verify", "audit log", result)
    return redirect(flash_url("/", ctx._("Dziennik zdarzeń sprawdzony: błąd — {problem}",
                                         problem=problem) if problem else ctx._(plural_in(
        ctx.lang, count, "Dziennik zdarzeń sprawdzony: {n} wpis, łańcuch nienaruszony.",
        "Dziennik zdarzeń sprawdzony: {n} wpisy, łańcuch nienaruszony.",
        "Dziennik zdarzeń sprawdzony: {n} wpisów, łańcuch nienaruszony."), n=count)))
