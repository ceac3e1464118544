"""The call register in the web app (issue 11, item 5): who phoned whom, when and for how long.

The numbers and times of calls are personal data in themselves, so the register is material
like the recordings: /calls lists the phone lines only; looking into one needs an individual
authorisation for the action "calls" on that line, an allowed workstation and a viewing session
opened with the purpose, the case and the period (/media/start). Every answer to a search is a
media route that leaves one access entry (DESIGN invariant 2). Hearing a call is a separate
action ("listening") with its own session.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import records
from kustosz.db.access import ViewingSession
from kustosz.db.models import Source
from kustosz.errors import KustoszError
from kustosz.index.calls import CallHit, calls_of_line, search_calls
from kustosz.kinds import SourceKind
from kustosz.web.common import TEMPLATES, Ctx, local, page
from kustosz.web.gate import gate
from kustosz.web.media import MEDIA_TAG, NO_STORE, guarded
from kustosz.web.monitoring import PAGE_ROWS, BadQuery, _bad_query, _param, _period, _shown

router = APIRouter()
DIRECTIONS = {"incoming": "przychodząca", "outgoing": "wychodząca", "internal": "wewnętrzna",
              "unknown": "nieznany"}


@router.get("/calls", include_in_schema=False)
def call_lines(ctx: Ctx = gate()) -> Response:
    """The phone lines, and nothing of their calls."""
    ctx.need_user()
    with ctx.vault.reading() as s:
        lines = list(s.execute(select(Source).where(Source.kind == SourceKind.PHONE)
                               .order_by(Source.name)).scalars())
    return page(ctx, "calls.html", lines=lines)


def _row(hit: CallHit) -> dict[str, Any]:
    return {"recording_id": hit.recording_id, "source": hit.source, "start_at": hit.start_at,
            "end_at": hit.end_at, "seconds": round((hit.end_at - hit.start_at).total_seconds()),
            "caller": hit.caller, "callee": hit.callee, "direction": hit.direction,
            "disposition": hit.disposition}


def _query(ctx: Ctx, vs: ViewingSession) -> dict[str, Any]:
    start, end = _period(ctx, vs)
    return {"number": _param(ctx.request, "number", 40),
            "callee": _param(ctx.request, "callee", 40), "from": start, "to": end}


def _search(s: Session, source: Source, q: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        if q["number"] or q["callee"]:
            hits = search_calls(s, number=q["number"], callee=q["callee"], begin=q["from"],
                                end=q["to"], source_id=source.id, limit=PAGE_ROWS)
        else:
            hits = calls_of_line(s, source.id, q["from"], q["to"], limit=PAGE_ROWS)
    except KustoszError:
        raise BadQuery("number" if q["number"] else "callee",
                       "Nieprawidłowy numer telefonu.") from None
    return [_row(h) for h in hits]


@router.get("/media/{token}/calls", name="media_calls", tags=[MEDIA_TAG])
def media_calls(token: str, ctx: Ctx = gate(scope="media")) -> Response:
    """Calls of the session's line inside its period (narrowed by from/to, a number, the
    called number); JSON with ``format=json``, else the page (or its htmx fragment)."""
    def serve(s: Session, vs: ViewingSession, scope: records.Scope) -> Response | None:
        if not scope.sources or scope.sources[0].kind != SourceKind.PHONE:
            return None
        source = scope.sources[0]
        try:
            q = _query(ctx, vs)
            rows = _search(s, source, q)
        except BadQuery as exc:  # answered only now, to someone who passed the checks
            return _bad_query(ctx, exc)
        shown = _shown(ctx, q)
        what = "calls search {}: {}".format(source.name, ", ".join(
            f"{k}={v}" for k, v in shown.items() if v)[:300])
        more = len(rows) >= PAGE_ROWS
        if ctx.request.query_params.get("format") == "json":
            body = json.dumps({"rows": [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                         for k, v in r.items()} for r in rows], "more": more},
                              ensure_ascii=False).encode("utf-8")
            records.served(s, vs, what, ctx.client, len(body))
            return Response(body, media_type="application/json", headers=NO_STORE)
        data = {"rows": rows, "more": more, "token": token, "vs": vs, "form": shown,
                "directions": DIRECTIONS, "errors": {},
                "query": urlencode({k: v for k, v in shown.items() if v})}
        if ctx.request.headers.get("HX-Request"):
            html = TEMPLATES.get_template("calls_results.html").render(
                _=ctx._, local=lambda v, f="%d.%m.%Y %H:%M:%S": local(v, ctx.vault, f),
                **data).encode("utf-8")
            records.served(s, vs, what, ctx.client, len(html))
            return Response(html, media_type="text/html; charset=utf-8", headers=NO_STORE)
        response = page(ctx, "calls_view.html", **data, source=source)
        records.served(s, vs, what, ctx.client, len(response.body))
        response.headers.update(NO_STORE)
        return response
    return guarded(ctx, token, "calls", serve)
