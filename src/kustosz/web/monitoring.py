"""Mail metadata and IT events in the web app (R1.9, R1.10, issue 7 item 4).

For mail and events the index rows *are* the material (who wrote to whom, when, about what;
who did what on which machine), so every search result is served like a video segment: only
through a viewing session opened with the purpose and the case, under an individual
authorisation for the action ("mail" or "events") on that source, from an allowed workstation,
inside the session's period — and each answer leaves an access entry (DESIGN invariant 2).
The pages /mail and /events only list the sources; they show no material.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.db.access import ViewingSession
from kustosz.db.events import MailMessage, MonitoringEvent
from kustosz.db.models import Recording, Source
from kustosz.ingest.events.rules import CATEGORIES
from kustosz.ingest.events.search import search_events
from kustosz.ingest.mail.search import ROLES, search_mail
from kustosz.kinds import CHUNKED
from kustosz.states import RecordingState
from kustosz.storage import read_line
from kustosz.web.common import TEMPLATES, Ctx, local, page
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded
from kustosz.web.media_recheck import Watch
from kustosz.web.media_streams import streamed
from kustosz.web.params import PathId

router = APIRouter()
PAGE_ROWS = 200  # rows per answer; narrowing the search is cheaper for everyone than paging
MAIL_ROLES = (*ROLES, "env_from", "env_rcpt")
KIND_OF = {k.material.value: k.name.value for k in CHUNKED}  # "mail" -> "mailbox", …
Query = dict[str, Any]
ROLE_PL = {"from": "nadawca", "sender": "wysyłający", "to": "adresat", "cc": "kopia (DW)",
           "bcc": "ukryta kopia (UDW)", "env_from": "nadawca w kopercie",
           "env_rcpt": "adresat w kopercie"}


class BadQuery(ValueError):
    """A search parameter the office worker typed wrong: shown by the field, nothing served."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# -- the pages listing sources -------------------------------------------------------------
def _sources(ctx: Ctx, kind: str) -> list[Source]:
    with ctx.vault.reading() as s:
        return list(s.execute(select(Source).where(Source.kind == kind)
                              .order_by(Source.name)).scalars())


@router.get("/mail", include_in_schema=False)
def mail_sources(ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    return page(ctx, "monitoring_sources.html", kind="mail",
                sources=_sources(ctx, KIND_OF["mail"]))


@router.get("/events", include_in_schema=False)
def event_sources(ctx: Ctx = gate()) -> Response:
    ctx.need_user()
    return page(ctx, "monitoring_sources.html", kind="events",
                sources=_sources(ctx, KIND_OF["events"]), categories=CATEGORIES)


# -- the query, bounded by the viewing session ----------------------------------------------
def _param(request: Request, name: str, limit: int = 320) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    if len(value) > limit:
        raise BadQuery(name, f"Za długa wartość (najwyżej {limit} znaków).")
    return value or None


def _period(ctx: Ctx, vs: ViewingSession) -> tuple[datetime, datetime]:
    """The session's period, narrowed by the optional from/to of the query (never widened)."""
    assert vs.window_start is not None and vs.window_end is not None
    start, end = vs.window_start, vs.window_end
    for name in ("from", "to"):
        text = _param(ctx.request, name, 40)
        if text is None:
            continue
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise BadQuery(name, "Nieprawidłowa data i godzina.") from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=ctx.vault.policy.timezone)
        if name == "from":
            start = max(start, value)
        else:
            end = min(end, value)
    if end < start:
        raise BadQuery("to", "Koniec okresu jest przed jego początkiem.")
    return start, end


def _described(query: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in query.items() if v not in (None, ""))[:300]


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in rows]


def _answer(ctx: Ctx, s: Session, vs: ViewingSession, kind: str, query: dict[str, Any],
            rows: list[dict[str, Any]], token: str) -> Response:
    """JSON for the API, an HTML fragment for htmx, else a whole page; recorded either way."""
    if ctx.request.query_params.get("format") == "json":
        body = json.dumps({"rows": _json_rows(rows), "more": len(rows) >= PAGE_ROWS},
                          ensure_ascii=False).encode("utf-8")
        media_type = "application/json"
    else:
        template = "monitoring_results.html" if ctx.request.headers.get("HX-Request") \
            else "monitoring_view.html"
        data = {"kind": kind, "rows": rows, "more": len(rows) >= PAGE_ROWS, "token": token,
                "vs": vs, "categories": CATEGORIES, "role_pl": ROLE_PL, "form": query,
                "query": urlencode({k: v for k, v in query.items() if v}), "errors": {}}
        if template == "monitoring_view.html":
            return _full_page(ctx, s, vs, token, data, rows)
        body = TEMPLATES.get_template(template).render(
            _=ctx._, local=lambda v, f="%d.%m.%Y %H:%M:%S": local(v, ctx.vault, f), **data) \
            .encode("utf-8")
        media_type = "text/html; charset=utf-8"
    records.served(s, vs, f"{kind} search {vs.source_id}: {_described(query)}", ctx.client,
                   len(body))
    return Response(body, media_type=media_type, headers=NO_STORE)


def _full_page(ctx: Ctx, s: Session, vs: ViewingSession, token: str, data: dict[str, Any],
               rows: list[dict[str, Any]]) -> Response:
    response = page(ctx, "monitoring_view.html", **data,
                    source=s.get(Source, vs.source_id), roles=MAIL_ROLES)
    records.served(s, vs, f"{data['kind']} search {vs.source_id}: {_described(data['form'])}",
                   ctx.client, len(response.body))
    response.headers.update(NO_STORE)
    return response


def _bad_query(ctx: Ctx, exc: BadQuery) -> Response:
    if ctx.request.query_params.get("format") == "json":
        return JSONResponse({"detail": [{"loc": ["query", exc.field], "field": exc.field,
                                         "msg": str(exc), "type": "value_error"}]},
                            status_code=422)
    if not ctx.request.headers.get("HX-Request"):  # the address typed or followed: a page
        response = page(ctx, "error.html", 422, message=ctx.said(exc))
        response.headers.update(NO_STORE)
        return response
    body = f'<p class="error" role="alert">{escape(ctx.said(exc))}</p>'.encode()
    return Response(body, status_code=422, media_type="text/html; charset=utf-8",
                    headers=NO_STORE)


@router.get("/media/{token}/mail", name="media_mail", tags=[MEDIA_TAG])
def media_mail(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def query_of(vs: ViewingSession) -> dict[str, Any]:
        start, end = _period(ctx, vs)
        role = _param(ctx.request, "role", 20)
        if role is not None and role not in MAIL_ROLES:
            raise BadQuery("role", "Nieznana rola adresu.")
        return {"address": _param(ctx.request, "address"),
                "person": _param(ctx.request, "person"), "role": role,
                "subject": _param(ctx.request, "subject", 200), "from": start, "to": end}

    def run(s: Session, q: dict[str, Any], source: str) -> list[dict[str, Any]]:
        return search_mail(s, address=q["address"], person=q["person"], role=q["role"],
                           subject=q["subject"], source=source, start=q["from"], end=q["to"],
                           limit=PAGE_ROWS)
    return _search(ctx, token, "mail", query_of, run)


@router.get("/media/{token}/events", name="media_events", tags=[MEDIA_TAG])
def media_events(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    def query_of(vs: ViewingSession) -> dict[str, Any]:
        start, end = _period(ctx, vs)
        category = _param(ctx.request, "category", 30)
        if category is not None and category not in CATEGORIES:
            raise BadQuery("category", "Nieznana kategoria zdarzenia.")
        return {"host": _param(ctx.request, "host", 255), "user": _param(ctx.request, "user", 255),
                "category": category, "text": _param(ctx.request, "text", 200),
                "from": start, "to": end}

    def run(s: Session, q: dict[str, Any], source: str) -> list[dict[str, Any]]:
        return search_events(s, host=q["host"], user=q["user"], category=q["category"],
                             text=q["text"], source=source, start=q["from"], end=q["to"],
                             limit=PAGE_ROWS)
    return _search(ctx, token, "events", query_of, run)


def _search(ctx: Ctx, token: str, action: str, query_of: Callable[[ViewingSession], Query],
            run: Callable[[Session, Query, str], list[dict[str, Any]]]) -> Response:
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if not scope.sources or scope.sources[0].kind != KIND_OF[action]:
            return None
        try:
            q = query_of(vs)
        except BadQuery as exc:  # answered only now, to someone who passed the checks
            return _bad_query(ctx, exc)
        rows = run(s, q, scope.sources[0].name)
        return _answer(ctx, s, vs, action, _shown(ctx, q), rows, token)
    return guarded(ctx, token, action, serve)


def _shown(ctx: Ctx, q: dict[str, Any]) -> dict[str, Any]:
    """The query as the form shows it again: times in the office's zone, as typed."""
    tz = ctx.vault.policy.timezone
    return {k: (v.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S") if isinstance(v, datetime)
                else v or "") for k, v in q.items()}


# -- single items ---------------------------------------------------------------------------
def _in_scope(vs: ViewingSession, source_id: int, at: datetime) -> bool:
    assert vs.window_start is not None and vs.window_end is not None
    return source_id == vs.source_id and vs.window_start <= at <= vs.window_end


@router.get("/media/{token}/mail/{mail_id}.eml", name="media_mail_eml", tags=[MEDIA_TAG])
def media_mail_eml(token: str, mail_id: PathId, ctx: Ctx = gate(scope="media")) -> Response:
    """The full message, where the policy kept it (a recorded legal basis, not private)."""
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        m = s.get(MailMessage, mail_id)
        if m is None or m.eml_recording_id is None or not _in_scope(vs, m.source_id,
                                                                     m.received_at):
            return None
        rec = s.get(Recording, m.eml_recording_id)
        if rec is None or rec.state != RecordingState.STORED:
            return None
        storage, version = ctx.vault.storage, rec.version_id  # the index's, not the newest
        stream = storage.open(rec.storage_key, version=version)
        size = storage.stat(rec.storage_key, version=version).size
        what = f"mail {m.id} (message)"
        records.served(s, vs, what, ctx.client, size, rec.id)
        # An attachment, never rendered: a journalled message may carry anything.
        response = streamed(stream, size, "message/rfc822", Watch(ctx, token, "mail", what))
        response.headers["Content-Disposition"] = f'attachment; filename="wiadomosc-{m.id}.eml"'
        return response
    return guarded(ctx, token, "mail", serve)


@router.get("/media/{token}/events/{event_id}", name="media_event", tags=[MEDIA_TAG])
def media_event(token: str, event_id: PathId, ctx: Ctx = gate(scope="media")) -> Response:
    """One event as the office's tool reported it: the whole stored line, not the excerpt."""
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        e = s.get(MonitoringEvent, event_id)
        if e is None or not _in_scope(vs, e.source_id, e.at):
            return None
        rec = s.get(Recording, e.recording_id)
        if rec is None or rec.state != RecordingState.STORED:
            return None
        raw = read_line(ctx.vault.storage, rec.storage_key, e.line, rec.version_id)
        if raw is None:
            return None
        body = json.dumps({"id": e.id, "recording_id": rec.id, "line": e.line,
                           "event": json.loads(raw)}, ensure_ascii=False, indent=1).encode()
        records.served(s, vs, f"event {e.id}", ctx.client, len(body), rec.id)
        return Response(body, media_type="application/json", headers=NO_STORE)
    return guarded(ctx, token, "events", serve)
