"""The page a person waits on while long work runs in the background (kustosz.jobs): what is
being done, how far it got, the failure in words a person understands; once the work is done
it leads on to where its result is (a copy: the request's page, with the usual message).

A route that starts a job waits a moment for it (`settle`, without holding up the server):
work that ends within it answers exactly as it did when it ran in the request; longer work
sends the person here. The page never reloads itself (issue 50 item 4: a reload every few
seconds throws focus and a screen reader back to the top, WCAG 2.2.1): its script
(static/job.js) asks `GET /api/jobs/{id}` — the same gate and owner check as the page — and
updates the progress bar and a polite live region in place; once the work is done the link to
its result appears there. Without scripts the page has an "Odśwież" link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.errors import NotFound
from kustosz.jobs import JobView
from kustosz.jobs.kinds import kind_of
from kustosz.web.common import Ctx, flash_url, local, page, redirect
from kustosz.web.gate import gate
from kustosz.web.params import PathId
from kustosz.web.prefix import at

router = APIRouter()
POLL_S = 2  # how often the page's script asks how the job stands
SETTLE_S = 3.0  # how long a route that starts a job waits for it before sending here


def _copy_made(view: JobView) -> tuple[str, str]:
    return (f"/requests/{view.args['request_id']}",
            f"Sporządzono kopię nr {view.result['number']}.")


def _legal_holds_set(view: JobView) -> tuple[str, str]:
    hold = view.args["hold_id"]
    return "/holds", (f"Zabezpieczenie nr {hold} założone." if view.args["on"]
                      else f"Zabezpieczenie nr {hold} zwolnione.")


def _report_made(view: JobView) -> tuple[str, str]:
    if view.result.get("so_far"):  # a draft of the running month (report.monthly)
        return "/reports", f"Sporządzono sprawozdanie wstępne za {view.result['month']}."
    return "/reports", f"Sporządzono sprawozdanie z rozliczalności za {view.result['month']}."


# Where a finished job of each kind leads and what it says there; the result page says the rest.
DONE: dict[str, Callable[[JobView], tuple[str, str]]] = {
    "copy.make": _copy_made, "hold.legal_holds": _legal_holds_set,
    "report.accountability": _report_made}
NEXT_LABEL = {"copy.make": "Przejdź do wniosku i kopii",
              "hold.legal_holds": "Przejdź do listy zabezpieczeń",
              "report.accountability": "Przejdź do sprawozdań"}
BACK: dict[str, Callable[[JobView], str]] = {
    "copy.make": lambda view: f"/requests/{view.args['request_id']}",
    "hold.legal_holds": lambda view: "/holds", "report.accountability": lambda view: "/reports"}
BACK_LABEL = {"hold.legal_holds": "Wróć do listy zabezpieczeń",
              "report.accountability": "Wróć do sprawozdań"}


async def settle(ctx: Ctx, job_id: int, within: float | None = None) -> JobView:
    """The job once finished, or as it stands after ``within`` seconds (`SETTLE_S`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (SETTLE_S if within is None else within)
    while True:
        view = await run_in_threadpool(jobs.get, ctx.vault, job_id)
        if view.finished or loop.time() >= deadline:
            return view
        await asyncio.sleep(0.2)


def failure(ctx: Ctx, view: JobView) -> str:
    """A failed job's reason in the reader's language."""
    if ctx.lang == "en":
        return view.error or "failed"
    return view.error_pl or view.error or "Zadanie nie powiodło się."


def next_page(view: JobView) -> str:
    """Where a job done leads (its kind's page of the result, with its message)."""
    return flash_url(*DONE[view.kind](view))


def said(ctx: Ctx, view: JobView) -> str:
    """Where the job stands in the reader's words: the page's live region says it, and says
    it again only when it changes (a phase, the end, a failure)."""
    if view.state == JobState.FAILED:
        return failure(ctx, view)
    if view.state == JobState.DONE:
        done = ctx._("Gotowe.")
        return f"{done} {ctx._(DONE[view.kind](view)[1])}" if view.kind in DONE else done
    if view.state == JobState.QUEUED:
        if view.retry_at:
            return (f"{ctx._('Poprzednia próba nie powiodła się; kolejna o')} "
                    f"{local(view.retry_at, ctx.vault, '%H:%M:%S')}.")
        return ctx._("Zadanie czeka na rozpoczęcie.")
    return ctx._(view.note) if view.note else ctx._("W toku…")


def waiting(view: JobView) -> str:
    """Where a person waits for ``view``'s job."""
    return f"/jobs/{view.id}"


async def _own(ctx: Ctx, job_id: int) -> JobView:
    user = ctx.need_user()
    view = await run_in_threadpool(jobs.get, ctx.vault, job_id)
    if view.started_by != user.name and not ctx.may("admin"):
        # Someone else's work: as if there were none (its arguments name a case).
        raise NotFound(f"no job {job_id}", pl=f"Nie ma zadania nr {job_id}.")
    return view


def _percent(view: JobView) -> int:
    """Whole percent, never 100 before the work is done (99.6 % is not finished)."""
    shown = round(view.progress * 100)
    return 99 if shown == 100 and view.state != JobState.DONE else shown


@router.get("/api/jobs/{job_id}")
async def job_state(job_id: PathId, ctx: Ctx = gate(scope="read")) -> dict[str, Any]:
    """A job you started (any, for an administrator): state (queued, running, done, failed),
    progress 0-1, what it is doing, the last error, the result once done; and what the job's
    page shows (its script asks here): `percent`, `said` (the page's words, in the reader's
    language) and `next` (the page of the result, once done)."""
    view = await _own(ctx, job_id)
    done = view.state == JobState.DONE
    return {"id": view.id, "kind": view.kind, "state": str(view.state),
            "progress": view.progress, "note": view.note, "attempts": view.attempts,
            "percent": _percent(view), "said": said(ctx, view),
            "next": at(next_page(view)) if done and view.kind in DONE else None,
            "error": view.error, "result": view.result,
            "estimate": view.estimate(ctx.lang),  # the time left in words, or None
            "created_at": view.created_at.isoformat(),
            "retry_at": view.retry_at.isoformat() if view.retry_at else None,
            "finished_at": view.finished_at.isoformat() if view.finished_at else None}


@router.get("/jobs/{job_id}")
async def job_page(job_id: PathId, ctx: Ctx = gate()) -> Response:
    view = await _own(ctx, job_id)
    if view.state == JobState.DONE and view.kind in DONE:
        return redirect(next_page(view))
    try:
        title = kind_of(view.kind).title_pl
    except NotFound:
        title = "Zadanie w tle"
    back = BACK[view.kind](view) if view.kind in BACK else None
    return page(ctx, "job.html", view=view, title=title, back=back,
                back_label=BACK_LABEL.get(view.kind, "Wróć do wniosku"),
                next_label=NEXT_LABEL.get(view.kind, "Przejdź do wyniku")
                if view.kind in DONE else None, poll_ms=POLL_S * 1000,
                percent=_percent(view), estimate=view.estimate(ctx.lang),
                said=said(ctx, view), status_code=200)
