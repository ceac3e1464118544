"""Stating the purpose: the form (and the API) that opens a viewing session — the action,
the material, the period, the purpose and the person present (R3.4) — checked by
records.try_open against the authorisations active now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kustosz import kinds
from kustosz.access import allowlist, listening, records
from kustosz.access.authorisations import ACTIONS, active_for
from kustosz.db.custody import Copy
from kustosz.db.models import Recording, Source
from kustosz.errors import FieldError, KustoszError
from kustosz.kinds import Action, SourceKind
from kustosz.limits import check_text
from kustosz.web.camera_silence import Silence, silence_of
from kustosz.web.common import TEMPLATES, Ctx, page, redirect
from kustosz.web.gate import gate
from kustosz.web.media import ROW_REVIEWS, refusal_answer, refuse
from kustosz.web.media_live_sub import start_sub_stream
from kustosz.web.params import DB_INT_MAX
from kustosz.web.prefix import at

router = APIRouter()
# Actions that open one source of one kind (watching video, reviewing rows), and what to say
# when none is chosen.
SOURCE_OF: dict[str, tuple[str, str]] = {
    str(a): (k.name, k.choose_pl) for k in kinds.KINDS.values() for a in sorted(k.actions)
    if a in (Action.LIVE, Action.PLAYBACK, *ROW_REVIEWS)}


def _parse_local(text: str | None, ctx: Ctx, field: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, "Nieprawidłowa data i godzina.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.vault.policy.timezone)
    return value


def _int(text: Any, field: str) -> int | None:
    if text in (None, ""):
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise FieldError(field, "Podaj liczbę.") from None
    if not 1 <= value <= DB_INT_MAX:  # the database could not even look it up
        raise FieldError(field, "Nie ma takiego numeru.")
    return value


def _text(data: dict[str, Any], name: str) -> str | None:
    """A free-text field of a form or a JSON body (JSON may carry a number or a list)."""
    value = data.get(name)
    return None if value is None else value if isinstance(value, str) else str(value)


def _asked(data: dict[str, Any]) -> str:
    """What a refused start asked for, as typed (the register's "what"); not looked up, so
    an address off the allow-list learns nothing of what exists."""
    for key, prefix in (("source", "source"), ("recording", "recording"), ("copy", "copy")):
        value = _text(data, key)
        if value:
            return f"{prefix} {value[:100]}"
    return "/media/start"


def start_viewing(ctx: Ctx, data: dict[str, Any]) -> str:
    """Open a viewing session from form or JSON fields; returns the token. FieldError on bad
    input, records.Refused when no authorisation opens the material."""
    user = ctx.need_user()
    action = str(data.get("action") or "")
    if action not in ACTIONS:
        raise FieldError("action", "Nieznana czynność.")
    listening.check_purpose(ctx.vault.policy, action, _text(data, "purpose"))  # 001 §3.1
    blocked = None
    with ctx.vault.transaction() as s:
        if not allowlist.allowed(s, ctx.client):
            blocked = refuse(ctx, s, records.Refused(records.Reason.WORKSTATION,
                                                     {"client": ctx.client}), action=action,
                             subject=_asked(data))
    if blocked is not None:  # committed above: the refused attempt is on record
        raise blocked.refused
    source = recording = copy = None
    window = None
    with ctx.vault.transaction() as s:
        if action in SOURCE_OF:
            kind, missing = SOURCE_OF[action]
            source = s.execute(select(Source).where(Source.name == str(data.get("source") or ""),
                                                    Source.kind == kind)).scalar_one_or_none()
            if source is None:
                raise FieldError("source", missing)
        if action in ("playback", *ROW_REVIEWS):
            start = _parse_local(data.get("from"), ctx, "from")
            end = _parse_local(data.get("to"), ctx, "to")
            if start is None:
                raise FieldError("from", "Podaj początek okresu.")
            if end is None:
                raise FieldError("to", "Podaj koniec okresu.")
            window = (start, end)
        if action == "listening":
            rid = _int(data.get("recording"), "recording")
            recording = s.get(Recording, rid) if rid else None
            if recording is None:
                raise FieldError("recording", "Nie ma takiego nagrania rozmowy.")
        if action == "export":
            copy = s.execute(select(Copy).where(Copy.number == str(data.get("copy") or ""))) \
                .scalar_one_or_none()
            if copy is None:
                raise FieldError("copy", "Nie ma takiej kopii.")
        opened = records.try_open(
            s, user=user, action=action, client=ctx.client, purpose=_text(data, "purpose"),
            case_ref=_text(data, "case_ref"),
            request_id=_int(data.get("request_id"), "request_id"),
            witness=_text(data, "witness"), source=source, recording=recording, copy=copy,
            window=window)
    if isinstance(opened, records.Refused):  # its audit entry is committed above
        raise opened
    return opened


def start_problems(ctx: Ctx, form: dict[str, str]) -> dict[str, str]:
    """Everything wrong with the start form's own fields, by field (the domain, records.
    try_open, stops at the first; a person fixes the form once). The same rules, same words."""
    action = form.get("action", "")
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        return errors
    for name in ("purpose", "case_ref"):
        try:
            check_text(name, form.get(name) or None)
        except FieldError as exc:
            errors[name] = ctx.said(exc)
    try:  # who is named: one of the office's people, not the viewer (R3.4)
        with ctx.vault.reading() as s:
            records.witness_for(action, form.get("witness"), s, ctx.user)
    except FieldError as exc:
        errors["witness"] = ctx.said(exc)
    if action != "live" and not form.get("purpose", "").strip():
        errors.setdefault("purpose", "Podaj cel dostępu.")
    try:
        request_id = _int(form.get("request_id"), "request_id")
    except FieldError as exc:
        errors["request_id"] = ctx.said(exc)
        request_id = 0
    if action in records.REVIEWS and not form.get("case_ref", "").strip() and not request_id:
        errors.setdefault("case_ref", "Podaj sprawę lub numer wniosku, któremu służy dostęp.")
    if action in ("playback", *ROW_REVIEWS):
        ends: dict[str, datetime | None] = {}
        for name, missing in (("from", "Podaj początek okresu."),
                              ("to", "Podaj koniec okresu.")):
            try:
                ends[name] = _parse_local(form.get(name), ctx, name)
            except FieldError as exc:
                errors[name] = ctx.said(exc)
                continue
            if ends[name] is None:
                errors[name] = missing
        start, end = ends.get("from"), ends.get("to")
        if start is not None and end is not None and end <= start:
            errors["to"] = "Koniec okresu musi być po jego początku."
    return errors


def witness_choices(ctx: Ctx) -> list[tuple[str, list[tuple[str, str]]]]:
    """The people a form offers as the person present (records.witness_choices), in groups;
    a template global (the start form, the mask form's still frame)."""
    with ctx.vault.reading() as s:
        return records.witness_choices(s, ctx.user)


TEMPLATES.env.globals["witness_choices"] = witness_choices
# The purposes' hint names the office's own paragraphs (policy data, issue 49 item 18).
TEMPLATES.env.globals["listening_hint"] = listening.hint


def _silent(ctx: Ctx, form: dict[str, str]) -> Silence | None:
    """The silence of the camera a live view is about to open (said above its button), to
    a person an active authorisation lets watch it live — as the dashboard's alarms."""
    if form.get("action") != Action.LIVE or ctx.user is None:
        return None
    with ctx.vault.reading() as s:
        source = s.execute(select(Source).where(Source.name == form.get("source", ""),
                                                Source.kind == SourceKind.CAMERA)
                           ).scalar_one_or_none()
        if source is None or not active_for(s, ctx.user, Action.LIVE, [source]):
            return None
        return silence_of(s, source.id)


@router.get("/media/start", include_in_schema=False)
def start_form(request: Request, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    form = dict(request.query_params)
    return page(ctx, "start.html", form=form, actions=ACTIONS, silent=_silent(ctx, form))


@router.post("/media/start", include_in_schema=False)
async def start_post(request: Request, ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        token = start_viewing(ctx, form)
    except FieldError as exc:  # every problem of the form at once, each at its field
        errors = {exc.field: ctx.said(exc), **start_problems(ctx, form)}
        errors[exc.field] = ctx.said(exc)
        return page(ctx, "start.html", 422, form=form, errors=errors, actions=ACTIONS,
                    silent=_silent(ctx, form))
    except records.Refused as exc:
        return refusal_answer(ctx, exc, template="start.html", form=form, actions=ACTIONS)
    except KustoszError as exc:
        return page(ctx, "start.html", 422, form=form, actions=ACTIONS, error=ctx.said(exc))
    await run_in_threadpool(start_sub_stream, ctx, token)
    return redirect(f"/view/{token}")


@router.post("/api/media/sessions", tags=["api"])
async def api_start(request: Request, ctx: Ctx = gate(scope="media")) -> Response:
    if ctx.user is None:
        return JSONResponse({"detail": "not authenticated"}, status_code=401)
    try:
        data = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body must be JSON"}, status_code=400)
    try:
        token = start_viewing(ctx, data if isinstance(data, dict) else {})
    except FieldError as exc:
        return JSONResponse({"detail": [{"loc": ["body", exc.field], "field": exc.field,
                                         "msg": str(exc), "type": "value_error"}]},
                            status_code=422)
    except records.Refused as exc:
        return refusal_answer(ctx, exc)
    except KustoszError as exc:  # e.g. a text over its limit
        return JSONResponse({"detail": str(exc)}, status_code=422)
    await run_in_threadpool(start_sub_stream, ctx, token)
    base = at(f"/media/{token}")
    return JSONResponse({"token": token, "view": at(f"/view/{token}"),
                         "urls": {"playback": f"{base}/vod.m3u8", "live": f"{base}/live.m3u8",
                                  "listening": f"{base}/audio",
                                  "export": f"{base}/copy.zip", "mail": f"{base}/mail",
                                  "events": f"{base}/events", "calls": f"{base}/calls"
                                  }[str(data.get("action"))]},
                        status_code=201)
