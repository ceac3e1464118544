"""The accountability reports' page (issue 53 item 4) for the IOD, the head and whoever may
read the registers: the reports made (period, made at, the audit head each covers, whether its
bundle verifies now), the findings of the latest one first, each report's PDF and its signed
bundle as a ZIP, and a month made on request (a job, kustosz.report.monthly). Each download
passes the gate like every request and is on record in the audit log (report.downloaded:
who, from where, which file and its SHA-256); one the gate refuses is neither given nor
recorded as given."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kustosz import jobs
from kustosz.audit import append as audit
from kustosz.custody.bundles import write_zip
from kustosz.errors import KustoszError, NotFound
from kustosz.report import build, store
from kustosz.report.monthly import last_month, report_accountability
from kustosz.web.common import Ctx, flash_of, page, redirect
from kustosz.web.gate import gate
from kustosz.web.jobs_pages import failure, next_page, settle, waiting
from kustosz.web.pages import form_of

router = APIRouter()
DOWNLOADED = "report.downloaded"
_LABEL = re.compile(r"\A\d{4}-\d{2}\Z")


def _findings(made: store.Made | None, lang: str) -> list[dict[str, Any]]:
    if made is None:
        return []
    report = json.loads((made.folder / build.REPORT_FILE).read_text(encoding="utf-8"))
    return [{"text": f["en"] if lang == "en" else f["pl"], "where": f["register"],
             "row": f["row"]} for f in report.get("findings", [])]


def _months(ctx: Ctx) -> list[str]:
    """The months one may ask for: from the vault's first to the last one over."""
    began = build.began(ctx.vault)
    if began is None:
        return []
    tz = ctx.vault.policy.timezone
    first, last = began.astimezone(tz).date().replace(day=1), date.fromisoformat(
        last_month(datetime.now(UTC), ctx.vault) + "-01")
    out: list[str] = []
    while last >= first:
        out.append(f"{last:%Y-%m}")
        last = (last - timedelta(days=1)).replace(day=1)
    return out


def _page(ctx: Ctx, status: int = 200, error: str | None = None) -> Response:
    made = store.made(ctx.vault)
    done = {m.label for m in made}
    return page(ctx, "reports.html", status, made=made,
                findings=_findings(made[0] if made else None, ctx.lang),
                months=[m for m in _months(ctx) if m not in done], error=error,
                msg=flash_of(ctx))


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


def _given(ctx: Ctx, made: store.Made, body: bytes, what: str) -> None:
    """The download on record, before it is handed over."""
    user = ctx.need("custody_read")
    with ctx.vault.transaction() as s:
        audit(s, user.name, DOWNLOADED, made.label, {
            "file": what, "sha256": hashlib.sha256(body).hexdigest(), "client": ctx.client,
            "via": "web", "path": ctx.request.url.path})


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
