"""A data subject's video in the browser (issue 17 item 2): the masks marked on the request
before the copy is made, and the review page where a second person watches the masked copy
through the media gate and approves it or sends it back (custody.subject_review)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kustosz.access import records
from kustosz.custody import subject_review as sr
from kustosz.custody.requests import get_request
from kustosz.db.access import ViewingSession
from kustosz.db.custody import Copy
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.masking import residual
from kustosz.storage.base import CHUNK
from kustosz.web.byte_ranges import BadRange, bad_range, byte_span, parse_range
from kustosz.web.common import Ctx, flash_of, flash_url, page, person_pl, redirect
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded, refusal_answer, refuse
from kustosz.web.media_recheck import Still, Watch
from kustosz.web.media_start import start_viewing
from kustosz.web.pages import form_of
from kustosz.web.params import PathId
from kustosz.web.requests_pages import _request_page
from kustosz.web.subject_frame import frame as subject_frame
from kustosz.web.subject_frame import seconds_in_period

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
PURPOSE = "przegląd zamaskowanej kopii przed wydaniem osobie, której dane dotyczą"


@router.post("/requests/{req_id}/frame.jpg")
async def region_frame(req_id: PathId, request: Request,
                       ctx: Ctx = gate("custody")) -> Response:
    """A still frame of the request's camera at a moment of its period, for the mask form
    (web/subject_frame.py: who may, what is checked, the access record). POST: each frame
    is an access record, and the person present's name travels in the body, not the URL."""
    form = await form_of(request)
    # ffmpeg and the storage block: run off the event loop (the form is read on it).
    return await run_in_threadpool(subject_frame, ctx, req_id, form.get("source", ""),
                                   form.get("at", ""), form.get("witness", ""))


@router.post("/requests/{req_id}/regions")
async def region_add(req_id: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    tz = ctx.vault.policy.timezone
    try:
        with ctx.vault.reading() as s:
            start = get_request(s, req_id).start_at
        try:
            t0 = seconds_in_period(form.get("from", ""), start, tz)
            t1 = seconds_in_period(form.get("to", ""), start, tz)
        except ValueError:
            raise FieldError("from", "Podaj czas jako GG:MM:SS (np. 14:05:30).") from None
        if t0 is None or t1 is None:
            raise FieldError("from", "Podaj czas od i do (GG:MM:SS).")
        with ctx.vault.transaction() as s:
            sr.add_region(s, req_id, kind=form.get("kind", ""), source=form.get("source", ""),
                          x=form.get("x"), y=form.get("y"), w=form.get("w"), h=form.get("h"),
                          from_s=t0, to_s=t1, note=form.get("note", ""), actor=user.name)
    except NotFound:
        raise
    except FieldError as exc:
        return _request_page(ctx, req_id, 422, form=form, errors={exc.field: ctx.said(exc)})
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc), form=form)
    return redirect(flash_url(f"/requests/{req_id}", "Obszar zapisany.") + "#maski")


@router.post("/requests/{req_id}/regions/{number}/delete")
async def region_remove(req_id: PathId, number: PathId, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    try:
        with ctx.vault.transaction() as s:
            sr.remove_region(s, req_id, number - 1, user.name)
    except NotFound:
        raise
    except KustoszError as exc:
        return _request_page(ctx, req_id, 422, error=ctx.said(exc))
    return redirect(flash_url(f"/requests/{req_id}", "Obszar usunięty.") + "#maski")


def video_paths(copy: Copy) -> list[str]:
    """The copy's video files in the bundle, in the order of its sources."""
    return [str(src["path"]) for src in copy.sources or []
            if str(src.get("path", "")).endswith(".mp4")]


def _number(year: int, seq: int) -> str:
    return f"{seq}/{year}"


def _review_page(ctx: Ctx, number: str, status: int = 200, error: str | None = None,
                 token: str | None = None) -> Response:
    user = ctx.need("custody")
    with ctx.vault.reading() as s:
        copy = sr.copy_by_number(s, number)
        files = sr.masked_files(copy)
        plays = sr.plays_of(s, copy, user.name)

        made_by = person_pl(s, copy.made_by)
        reviewed_by = person_pl(s, copy.reviewed_by) if copy.reviewed_by else ""
        # The rule that opens the recording and takes the decision (check_reviewable) says
        # whom the page offers them to: the data protection officer reads the page but does
        # not review, and was offered a button that then refused him (issue 29 item 12).
        refusal = None
        if copy.review_state == sr.AWAITING and copy.made_by != user.name:
            try:
                sr.check_reviewable(s, copy, user.name)
            except KustoszError as exc:
                refusal = ctx.said(exc)
    valid = None
    if token:
        with ctx.vault.reading() as s:
            vs = records.viewing_of(s, token)
            valid = vs if vs is not None and vs.copy_id == copy.id and \
                ctx.user is not None and vs.user_id == ctx.user.id and vs.ended_at is None \
                else None
    order = video_paths(copy)
    return page(ctx, "review.html", status, copy=copy,
                residual=residual.rows(copy, order, ctx.vault.policy.timezone),
                files=[(order.index(m.path), m) for m in files],
                plays=plays, made_by=made_by, reviewed_by=reviewed_by, error=error,
                token=token if valid is not None and refusal is None else None,
                own=copy.made_by == user.name, refusal=refusal,
                review_pl=sr.REVIEW_PL, msg=flash_of(ctx),
                seen={m.path: (sr.true_watched(plays[m.path]) if m.path in plays else 0.0,
                               sr.percent_pl(sr.ratio(plays.get(m.path), m.duration_s)))
                      for m in files},
                left=[f"{m.source} (obejrzano dotąd: "
                      f"{sr.percent_pl(sr.ratio(plays.get(m.path), m.duration_s))})"
                      for m in files if plays.get(m.path) is None
                      or plays[m.path].ended_at is None])


@router.get("/review/{year}/{seq}")
def review(year: PathId, seq: PathId, request: Request, ctx: Ctx = gate("custody")) -> Response:
    return _review_page(ctx, _number(year, seq), token=request.query_params.get("t"))


@router.post("/review/{year}/{seq}/open")
async def review_open(year: PathId, seq: PathId, ctx: Ctx = gate("custody")) -> Response:
    """Open the masked copy through the media gate (the reviewer's export authorisation,
    an access record for every byte), then the page plays it."""
    number = _number(year, seq)
    with ctx.vault.reading() as s:
        copy = sr.copy_by_number(s, number)
        request_id = copy.request_id
        try:
            sr.check_reviewable(s, copy, ctx.need("custody").name)
        except KustoszError as exc:
            return _review_page(ctx, number, 422, error=ctx.said(exc))
    try:
        token = start_viewing(ctx, {"action": "export", "copy": number, "purpose": PURPOSE,
                                    "request_id": str(request_id)})
    except records.Refused as exc:
        return refusal_answer(ctx, exc)
    except KustoszError as exc:
        return _review_page(ctx, number, 422, error=ctx.said(exc))
    with ctx.vault.transaction() as s:
        sr.open_plays(s, sr.copy_by_number(s, number), ctx.need("custody").name)
    return redirect(f"/review/{year}/{seq}?t={token}#odtwarzacz")


FLUSH_S = 0.5  # how often a long stream writes down what it has served so far


def counted_stream(vault: Any, copy_id: int, user: str, path: str, file: Path, start: int,
                   end: int) -> Iterator[bytes]:
    """The bytes [start, end) of a masked file, each chunk counted as served once it was
    handed on (the loop asks for the next only after the server sent this one): what the
    reviewer received, not what was asked for (custody.subject_review.count_served)."""
    def count(a: int, b: int) -> None:
        try:
            with vault.transaction() as s:
                sr.count_served(s, copy_id, user, path, file, a, b)
        except Exception:  # the stream goes on; what was not counted is simply not watched
            log.exception("review bytes %d-%d of %s not counted", a, b, path)

    sent = counted = start
    last = 0.0
    with file.open("rb") as f:
        f.seek(start)
        try:
            while sent < end:
                chunk = f.read(min(CHUNK, end - sent))
                if not chunk:
                    break
                yield chunk
                sent += len(chunk)
                if counted == start or time.monotonic() - last >= FLUSH_S:
                    count(counted, sent)
                    counted, last = sent, time.monotonic()
        finally:
            if sent > counted:
                count(counted, sent)


@router.get("/media/{token}/video/{number}.mp4", name="media_copy_video", tags=[MEDIA_TAG])
def media_copy_video(token: str, number: PathId, request: Request,
                     ctx: Ctx = gate(scope="media")) -> Response:
    """A video file of the viewing session's copy, through the gate, played in the page. A
    data subject's masked copy plays only for its reviewer while it awaits review — not its
    maker, nobody after approval (it then leaves whole, as copy.zip and a handover): a refusal
    is an access record like any other. Every request (a player asks in ranges) leaves an
    access record of the bytes asked; the bytes actually sent count as watched."""
    try:
        spec = parse_range(request.headers.get("range"))
    except BadRange as exc:
        return bad_range(exc)

    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        copy = scope.copy
        if copy is None:
            return None
        files = video_paths(copy)
        index = number - 1
        if not 0 <= index < len(files):
            return None
        user = ctx.need_user().name
        why = sr.may_play(s, copy, user)
        if why is not None:
            state = copy.review_state or ""
            refused = refuse(ctx, s, records.Refused(records.Reason.REVIEW_ONLY, {
                "copy": copy.number, "state": state,
                "state_pl": sr.REVIEW_PL.get(state, state), "viewing": vs.id,
                "action": vs.action}), token, vs.action).refused
            return refusal_answer(ctx, refused)
        path = ctx.vault.root / copy.bundle / files[index]
        size = path.stat().st_size
        try:
            start, end = byte_span(spec, size)
        except BadRange as exc:
            return bad_range(exc, size)
        what = sr.served_what(copy, files[index])
        records.served(s, vs, what, ctx.client, end - start)
        headers = {**NO_STORE, "Accept-Ranges": "bytes", "Content-Length": str(end - start)}
        if spec is not None:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        if copy.review_state is None:  # nothing to count
            body: Iterator[bytes] = _plain_stream(path, start, end)
        else:
            body = counted_stream(ctx.vault, copy.id, user, files[index], path, start, end)
        watch = Watch(ctx, token, "export", what, _still_playable(user))
        return StreamingResponse(watch.over(body, end - start),
                                 status_code=206 if spec is not None else 200,
                                 media_type="video/mp4", headers=headers)
    return guarded(ctx, token, "export", serve)


def _still_playable(user: str) -> Still:
    """A review copy's video, asked again while it plays: the copy may still be played by
    ``user`` (approved meanwhile, it is no longer played in the page)."""
    def still(s: Session, vs: ViewingSession, scope: records.Scope) -> str | None:
        why = sr.may_play(s, scope.copy, user) if scope.copy is not None else "no copy"
        return None if why is None else f"the copy may no longer be played here: {why}"
    return still


def _plain_stream(file: Path, start: int, end: int) -> Iterator[bytes]:
    with file.open("rb") as f:
        f.seek(start)
        left = end - start
        while left > 0 and (chunk := f.read(min(CHUNK, left))):
            left -= len(chunk)
            yield chunk


@router.post("/review/{year}/{seq}/played")
async def review_played(year: PathId, seq: PathId, request: Request,
                        ctx: Ctx = gate("custody")) -> Response:
    """The player's report (fetch, X-CSRF-Token): its position, and ``ended``."""
    user = ctx.need("custody")
    form = await form_of(request)
    try:
        with ctx.vault.transaction() as s:
            play = sr.record_play(s, _number(year, seq), user.name, form.get("path", ""),
                                  form.get("position"), form.get("ended") == "1",
                                  now=datetime.now(UTC))
            duration = {m.path: m.duration_s for m in sr.masked_files(
                sr.copy_by_number(s, _number(year, seq)))}[play.path]
            out = {"watched_s": sr.true_watched(play), "served_s": play.served_s,
                   "furthest_s": play.furthest_s, "duration_s": duration,
                   "ratio": sr.ratio(play, duration),
                   "ratio_pl": sr.percent_pl(sr.ratio(play, duration)),
                   "ended": play.ended_at is not None, "skipped": play.skipped}
    except KustoszError as exc:
        return JSONResponse({"detail": str(exc), "detail_pl": exc.pl}, status_code=422)
    return JSONResponse(out, headers=NO_STORE)


@router.post("/review/{year}/{seq}/approve")
async def review_approve(year: PathId, seq: PathId, ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    number = _number(year, seq)
    try:
        with ctx.vault.transaction() as s:
            copy = sr.approve(s, number, user.name, user.name)
            req_id = copy.request_id
    except NotFound:
        raise
    except KustoszError as exc:
        return _review_page(ctx, number, 422, error=ctx.said(exc))
    return redirect(flash_url(f"/requests/{req_id}", ctx._(
        "Kopię nr {n} zatwierdzono po przeglądzie; można ją wydać.", n=number)))


@router.post("/review/{year}/{seq}/send-back")
async def review_send_back(year: PathId, seq: PathId, request: Request,
                           ctx: Ctx = gate("custody")) -> Response:
    user = ctx.need("custody")
    form = await form_of(request)
    number = _number(year, seq)
    try:
        with ctx.vault.transaction() as s:
            copy, bundle = sr.send_back(s, number, user.name, form.get("reason", ""),
                                        user.name)
            req_id = copy.request_id
    except NotFound:
        raise
    except KustoszError as exc:
        return _review_page(ctx, number, 422, error=ctx.said(exc))
    sr.remove_bundle(ctx.vault.root, bundle)
    return redirect(flash_url(f"/requests/{req_id}", ctx._(
        "Kopię nr {n} zwrócono do poprawy i zniszczono; popraw maski i sporządź kopię "
        "ponownie.", n=number)) + "#maski")


def copy_link(copy: Copy) -> str:
    return f"/review/{copy.year}/{copy.seq}"
