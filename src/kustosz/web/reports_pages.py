"""The accountability reports' page (issue 53 item 4) for the IOD, the head and whoever may
read the registers: the reports made (period, made at, the audit head each covers, whether its
bundle verifies now), the findings of the latest one first, each report's PDF and its signed
bundle as a ZIP, and a month made on request (a job, kustosz.report.monthly). Above them, when
the next report comes (kustosz.report.schedule: the first, in a vault's first month; one
overdue); beside them a draft of the month so far, made as the same job kind and marked as
a draft wherever it is read (issue 65 item 4). Each download passes the gate like every
request and is on record in the audit log (report.downloaded: who, from where, which file
and its SHA-256; a draft's with its moment); one the gate refuses is neither given nor
recorded as given."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kustosz import jobs
from kustosz.audit import append as audit
from kustosz.custody.bundles import write_zip
from kustosz.errors import KustoszError, NotFound
from kustosz.report import build, months, schedule, store
from kustosz.report.monthly import report_accountability
from kustosz.web.common import Ctx, flash_of, local, page, redirect
from kustosz.web.gate import gate
from kustosz.web.jobs_pages import failure, next_page, settle, waiting
from kustosz.web.pages import form_of
from kustosz.web.prefix import route_path

router = APIRouter()
DOWNLOADED = "report.downloaded"
_LABEL = re.compile(r"\A\d{4}-\d{2}\Z")


def _findings(made: store.Made | None, lang: str) -> list[dict[str, Any]]:
    if made is None:
        return []
    report = json.loads((made.folder / build.REPORT_FILE).read_text(encoding="utf-8"))
    return [{"text": f["en"] if lang == "en" else f["pl"], "where": f["register"],
             "row": f["row"]} for f in report.get("findings", [])]


def _outlook(ctx: Ctx) -> schedule.Outlook | None:
    began = build.began(ctx.vault)
    return None if began is None else schedule.outlook(began, datetime.now(UTC),
                                                       ctx.vault.policy.timezone)


def _page(ctx: Ctx, status: int = 200, error: str | None = None) -> Response:
    made = store.made(ctx.vault)
    done = {m.label for m in made}
    ahead = _outlook(ctx)
    to_make = [m for m in ahead.past if m not in done] if ahead else []
    return page(ctx, "reports.html", status, made=made,
                findings=_findings(made[0] if made else None, ctx.lang),
                months=to_make, ahead=ahead, words=_words(ctx, ahead, done),
                draft=store.latest_draft(ctx.vault, ahead.running) if ahead else None,
                error=error, msg=flash_of(ctx))


def _words(ctx: Ctx, ahead: schedule.Outlook | None, done: set[str]) -> dict[str, str]:
    """The page's sentences about when reports come (schedule: one rule for all of them)."""
    if ahead is None:
        return {}
    _, lang = ctx._, ctx.lang
    words = {"running": months.month_in(ahead.running, lang), "due": months.day_pl(ahead.due),
             "began": months.day_pl(ahead.began)}
    pending = ahead.last_month if ahead.last_month not in done else None
    if pending:
        words["pending"] = _("Sprawozdanie za {month} jeszcze nie powstało; Kustosz sporządza "
                             "je sam od {day}.", month=months.month_in(pending, lang),
                             day=months.day_pl(schedule.first_of_next(
                                 date.fromisoformat(pending + "-01"))))
    words["next"] = _("Pierwsze sprawozdanie powstanie {day} za {month}." if ahead.first
                      and not done else "Następne sprawozdanie powstanie {day} za {month}.",
                      day=words["due"], month=words["running"])
    return words


@router.get("/reports")
def reports_page(ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    return _page(ctx)


@router.post("/reports")
async def report_make(request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    month = (await form_of(request)).get("month", "").strip()
    try:
        job_id = await run_in_threadpool(lambda: report_accountability.defer(
            ctx.vault, user.name, month=month, actor=user.name))
    except KustoszError as exc:
        return _page(ctx, 422, error=ctx.said(exc))
    view = await settle(ctx, job_id)
    if view.state == jobs.JobState.FAILED:
        return _page(ctx, 422, error=failure(ctx, view))
    return redirect(next_page(view) if view.state == jobs.JobState.DONE else waiting(view))


@router.post("/reports/so-far")
async def draft_make(ctx: Ctx = gate("custody_read")) -> Response:
    """A draft of the running month as of now: what anyone who may read the reports may see
    of it (the registers it reads are theirs to read), as a job like a month's report."""
    user = ctx.need("custody_read")
    ahead = _outlook(ctx)
    if ahead is None:
        return _page(ctx, 422, error=ctx._("Skarbiec nie ma jeszcze dziennika zdarzeń."))
    try:
        job_id = await run_in_threadpool(lambda: report_accountability.defer(
            ctx.vault, user.name, month=ahead.running, actor=user.name, so_far=True))
    except KustoszError as exc:
        return _page(ctx, 422, error=ctx.said(exc))
    view = await settle(ctx, job_id)
    if view.state == jobs.JobState.FAILED:
        return _page(ctx, 422, error=failure(ctx, view))
    return redirect(next_page(view) if view.state == jobs.JobState.DONE else waiting(view))


def _given(ctx: Ctx, made: store.Made | store.Draft, body: bytes, what: str) -> None:
    """The download on record, before it is handed over."""
    user = ctx.need("custody_read")
    draft = {"draft_as_of": made.as_of.isoformat()} if isinstance(made, store.Draft) else {}
    with ctx.vault.transaction() as s:
        audit(s, user.name, DOWNLOADED, made.label, {
            "file": what, "sha256": hashlib.sha256(body).hexdigest(), "client": ctx.client,
            "via": "web", "path": route_path(ctx.request.scope), **draft})


def _made(ctx: Ctx, label: str) -> store.Made:
    made = store.one(ctx.vault, label) if _LABEL.match(label) else None
    if made is None:
        raise NotFound(f"no report {label}", pl=f"Nie ma sprawozdania za {label}.")
    return made


@router.get("/reports/{label}.pdf")
def report_pdf(label: str, ctx: Ctx = gate("custody_read")) -> Response:
    ctx.need("custody_read")
    made = _made(ctx, label)
    body = made.pdf.read_bytes()
    _given(ctx, made, body, made.pdf.name)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="sprawozdanie-{made.label}.pdf"'})


@router.get("/reports/{label}.zip")
def report_zip(label: str, ctx: Ctx = gate("custody_read")) -> Response:
    """The signed bundle as one ZIP (report.json, the PDF, the manifest, its signature and the
    office's public key): what an inspector verifies with `kustosz report verify` or openssl."""
    ctx.need("custody_read")
    made = _made(ctx, label)
    with tempfile.TemporaryDirectory(prefix="kustosz-report-") as tmp:
        out = Path(tmp) / f"accountability-{made.label}.zip"
        write_zip(made.folder, out, None)
        body = out.read_bytes()
    _given(ctx, made, body, out.name)
    return Response(body, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="sprawozdanie-{made.label}.zip"'})


def _draft(ctx: Ctx, label: str) -> store.Draft:
    draft = store.latest_draft(ctx.vault, label) if _LABEL.match(label) else None
    if draft is None:
        raise NotFound(f"no draft report {label}",
                       pl=f"Nie ma sprawozdania wstępnego za {label}.")
    return draft


def _draft_name(draft: store.Draft, ctx: Ctx, suffix: str) -> str:
    stamp = local(draft.as_of, ctx.vault, "%Y%m%d-%H%M")
    return f"sprawozdanie-wstepne-{draft.label}-stan-{stamp}.{suffix}"


@router.get("/reports/so-far/{label}.pdf")
def draft_pdf(label: str, ctx: Ctx = gate("custody_read")) -> Response:
    """The month's newest draft as a PDF: "WSTĘPNE" on its every page."""
    ctx.need("custody_read")
    draft = _draft(ctx, label)
    body = draft.pdf.read_bytes()
    _given(ctx, draft, body, draft.pdf.name)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{_draft_name(draft, ctx, "pdf")}"'})


@router.get("/reports/so-far/{label}.zip")
def draft_zip(label: str, ctx: Ctx = gate("custody_read")) -> Response:
    """The draft's signed bundle: `kustosz report verify` refuses it as a final report."""
    ctx.need("custody_read")
    draft = _draft(ctx, label)
    with tempfile.TemporaryDirectory(prefix="kustosz-report-") as tmp:
        out = Path(tmp) / f"{draft.folder.name}.zip"
        write_zip(draft.folder, out, None)
        body = out.read_bytes()
    _given(ctx, draft, body, out.name)
    return Response(body, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{_draft_name(draft, ctx, "zip")}"'})
