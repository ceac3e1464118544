"""The JSON API's custody verbs: make a copy from a request, hand it over, confirm its
destruction, download the registers — the same functions and role checks as the pages and the
CLI. Bad input answers 422 with the field named; the custody functions check everything
before they write, so nothing is half-saved."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kustosz import jobs
from kustosz.access.users import get_user
from kustosz.custody import papers, registers
from kustosz.custody.copies import get_copy
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import get_request
from kustosz.db.custody import Copy
from kustosz.documents import render
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.jobs.catalogue import copy_make
from kustosz.web import locations
from kustosz.web.api import _field_error
from kustosz.web.common import Ctx, paper_answer
from kustosz.web.gate import gate
from kustosz.web.jobs_pages import settle
from kustosz.web.params import BodyId, PathId
from kustosz.web.prefix import at

router = APIRouter(prefix="/api", tags=["api"])
KINDS = ("disclosures", "copies", "actions")
FORMATS = ("csv", "pdf")


def _not_found(exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _blame(exc: KustoszError, by: str | None, otherwise: str) -> str:
    """Which field a custody refusal is about: the person named (its messages say
    "user 'name'") or else the thing being acted on."""
    return "by" if by and f"user {by!r}" in str(exc) else otherwise


def _unknown_person(ctx: Ctx, by: str | None) -> JSONResponse | None:
    if not by:
        return None
    if ctx.user is not None and by != ctx.user.name:
        # issue 11: a colleague's name on the register hid who acted
        return _field_error("by", "copies are made and handed over by the signed-in person; "
                                  "'by' may name only yourself")
    try:
        with ctx.vault.reading() as s:
            get_user(s, by)
    except NotFound as exc:
        return _field_error("by", str(exc))
    return None


class CopyIn(BaseModel):
    request: BodyId = Field(description="The approved request the copy is made for.")
    by: str | None = Field(default=None, description="Custodian making it (default: you).")


@router.post("/copies", status_code=201)
async def copies_make(body: CopyIn, request: Request,
                      ctx: Ctx = gate("custody", scope="custody")) -> Any:
    """Made as a job (`copy.make`, kustosz.jobs), as from the request page. A copy made
    within a few seconds answers 201 with the copy (and `job`); a longer one 202 with
    `job`, `state` and `url` (`GET /api/jobs/{id}`: progress, then the copy as `result`,
    or the reason it failed). What refuses a copy answers 422 before anything is queued;
    a copy that fails in the making answers 422 with the job's reason."""
    user = ctx.need("custody")
    try:
        with ctx.vault.reading() as s:
            get_request(s, body.request)
    except NotFound as exc:
        return _field_error("request", str(exc))
    if (bad := _unknown_person(ctx, body.by)) is not None:
        return bad
    by = body.by or user.name
    try:
        job_id = await run_in_threadpool(lambda: copy_make.defer(
            ctx.vault, user.name, request_id=body.request, by=by, actor=user.name))
    except KustoszError as exc:
        return _field_error(_blame(exc, by, "request"), str(exc))
    view = await settle(ctx, job_id)
    if view.state == jobs.JobState.FAILED:
        why = view.error or "failed"
        return _field_error(_blame(KustoszError(why), by, "request"), why)
    if view.state != jobs.JobState.DONE:
        url = at(f"/api/jobs/{view.id}")
        return JSONResponse({"job": view.id, "state": str(view.state), "url": url},
                            status_code=202, headers={"Location": url})
    with ctx.vault.reading() as s:
        copy = get_copy(s, view.result["number"])
    return {"number": copy.number, "request": copy.request_id, "state": copy.state,
            "expires_at": copy.expires_at, "job": view.id}


class HandoverIn(BaseModel):
    receiver: str = Field(min_length=1, description="Person and body receiving the copy.")
    request: BodyId | None = Field(default=None, description="The authority's written "
                                                             "request (default: the copy's own).")
    by: str | None = None
    medium: str | None = None


@router.post("/copies/{number:path}/handover", status_code=201)
async def copies_handover(number: str, body: HandoverIn, request: Request,
                          ctx: Ctx = gate("custody", scope="custody")) -> Any:
    user = ctx.need("custody")
    if not body.receiver.strip():
        return _field_error("receiver", "name the person and body receiving the copy")
    try:
        with ctx.vault.reading() as s:
            get_copy(s, number)
            if body.request is not None:
                try:
                    get_request(s, body.request)
                except NotFound as exc:
                    return _field_error("request", str(exc))
    except NotFound as exc:
        return _not_found(exc)
    if (bad := _unknown_person(ctx, body.by)) is not None:
        return bad
    try:
        h, _pw = hand_over(ctx.vault, number, receiver=body.receiver.strip(),
                           by=body.by or user.name, actor=user.name, request_id=body.request,
                           medium=body.medium or None)
    except KustoszError as exc:
        return _field_error(getattr(exc, "field", None) or _blame(
            exc, body.by or user.name, "request" if "request" in str(exc) else "number"),
            str(exc))
    return {"number": number, "handover": h.id, "receiver": body.receiver.strip()}


class DestroyIn(BaseModel):
    confirm: str = Field(description="The copy's number, typed again to confirm.")
    reason: str | None = Field(default=None, description="The commission's reason: required "
                               "on the first confirmation before the copy's keep-until date "
                               "(422 naming 'reason' otherwise); printed in the protocol.")


@router.post("/copies/{number:path}/destroy")
async def copies_destroy(number: str, body: DestroyIn, request: Request,
                         ctx: Ctx = gate("custody", scope="custody")) -> Any:
    """One confirmation by you, a commission member; the second by another member destroys."""
    user = ctx.need("custody")
    if body.confirm != number:
        return _field_error("confirm", "type the copy's number to confirm its destruction")
    try:
        with ctx.vault.reading() as s:
            get_copy(s, number)
        _d, done = confirm(ctx.vault, number, by=user.name, actor=user.name,
                           reason=body.reason or None)
    except NotFound as exc:
        return _not_found(exc)
    except FieldError as exc:  # e.g. "by": the copy's maker may not give the destroying one
        return _field_error(exc.field, str(exc))
    except KustoszError as exc:
        return _field_error(getattr(exc, "field", "confirm"), str(exc))
    with ctx.vault.reading() as s:
        state = s.execute(select(Copy.state).where(Copy.number == number)).scalar_one()
    return {"number": number, "destroyed": done, "state": state,
            "confirmations_needed": 0 if done else 1}


def _no_paper(exc: KustoszError) -> JSONResponse:
    """404: no such copy or handover; 409: the copy was not handed over / not destroyed."""
    return JSONResponse({"detail": str(exc)},
                        status_code=404 if isinstance(exc, NotFound) else 409)


@router.get("/copies/{number:path}/handovers")
def copies_handovers(number: str, ctx: Ctx = gate("custody_read", scope="read")) -> Any:
    """Every handover of a copy, oldest first, with the addresses of its protocol and
    receipt (PDF)."""
    ctx.need("custody_read")
    try:
        with ctx.vault.reading() as s:
            found = papers.handovers_of(s, number)
    except NotFound as exc:
        return _not_found(exc)
    return [{"handover": h.id, "request": h.request_id, "receiver": h.receiver,
             "handed_by": h.handed_by, "handed_at": h.handed_at, "medium": h.medium,
             "protocol": at(f"/api/copies/{number}/handovers/{h.id}/protocol.pdf"),
             "receipt": at(f"/api/copies/{number}/handovers/{h.id}/receipt.pdf")} for h in found]


@router.get("/copies/{number:path}/handovers/{handover_id}/protocol.pdf")
def copies_handover_protocol(number: str, handover_id: PathId,
                             ctx: Ctx = gate("custody_read", scope="read")) -> Any:
    """The handover protocol (001 annex 4, two copies) of one handover, as PDF."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.handover_doc(s, ctx.vault.policy, number,
                                                           handover_id),
                        f"protokol-przekazania-{number}-{handover_id}", _no_paper)


@router.get("/copies/{number:path}/handovers/{handover_id}/receipt.pdf")
def copies_handover_receipt(number: str, handover_id: PathId,
                            ctx: Ctx = gate("custody_read", scope="read")) -> Any:
    """The receipt (003 §5.8) of one handover, as PDF."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.receipt_doc(s, ctx.vault.policy, number,
                                                          handover_id),
                        f"pokwitowanie-{number}-{handover_id}", _no_paper)


@router.get("/copies/{number:path}/destruction.pdf")
def copies_destruction_protocol(number: str,
                                ctx: Ctx = gate("custody_read", scope="read")) -> Any:
    """The destruction protocol (003 §5.7) of a destroyed copy, as PDF."""
    ctx.need("custody_read")
    return paper_answer(ctx, lambda s: papers.destruction_doc(s, ctx.vault.policy, number),
                        f"protokol-zniszczenia-{number}", _no_paper)


@router.get("/registers/{kind}")
def registers_get(kind: str, ctx: Ctx = gate("custody_read", scope="read"),
                  start: str = Query("", alias="from", description="YYYY-MM-DD"),
                  end: str = Query("", alias="to", description="YYYY-MM-DD"),
                  fmt: str = Query("csv", alias="format", description="csv or pdf"),
                  csv: str = Query("excel", description="the CSV's form: excel (';', UTF-8 "
                                   "with a BOM) or rfc4180 (',', no BOM)")) -> Any:
    """A register for a date range, as CSV or PDF."""
    ctx.need("custody_read")
    if kind not in KINDS:
        return _field_error("kind", f"unknown register {kind!r}; known: {', '.join(KINDS)}")
    days: dict[str, date] = {}
    for field, text in (("from", start), ("to", end)):
        try:
            days[field] = date.fromisoformat(text)
        except ValueError:
            return _field_error(field, f"{text!r} is not a date (YYYY-MM-DD)")
    if days["to"] < days["from"]:
        return _field_error("to", "ends before it starts")
    if fmt not in FORMATS:
        return _field_error("format", "format must be csv or pdf")
    if csv not in registers.CSV_FORMS:
        return _field_error("csv", "csv must be excel or rfc4180")
    try:
        with ctx.vault.reading() as s:
            reg = registers.build(s, ctx.vault.policy, kind, days["from"], days["to"],
                                  locations=locations.may_see(ctx))
    except KustoszError as exc:
        return _field_error("kind", str(exc))
    if reg.shows_locations:
        locations.viewed(ctx, f"register {kind} {days['from']}–{days['to']} ({fmt})")
    name = f"rejestr-{kind}-{days['from']}-{days['to']}"
    if fmt == "csv":
        return Response(registers.to_csv(reg, csv), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    pdf = render("register", registers.pdf_data(reg, ctx.vault.policy, days["from"],
                                                 days["to"]), data_root=ctx.vault.root)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})
