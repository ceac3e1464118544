"""The alarm list that keeps itself up to date (issue 65 item 3): the dashboard's and
/cameras' list of alarms, and /cameras' "nie nagrywa od" marks, asked again by the open page
(static/alarms_live.js) every POLL_S seconds.

Polling, not server-sent events (docs/design.md, "Alarms on an open page"): each ask is an
ordinary short request through the one gate, so access is asked anew every time with the
state of things now, and it holds none of the browser's six connections to the server (the
live view and downloads need them; serve speaks HTTP/1.1). The ask is a background one
(`gate(background=True)`): it does not move the sign-in's idle end. What it answers is what
the page itself shows this person — the dashboard's rule of who is told which alarm
(web.alarms), the page's words (web.alarm_words), /cameras' marks of the cameras that page
lists — at most SHOWN alarms, and nothing at all (204) when nothing changed since the
version the page has.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.cameras.down_since import down_since
from kustosz.db.models import Source
from kustosz.kinds import SourceKind
from kustosz.web import alarm_devices
from kustosz.web.alarm_devices import push_key
from kustosz.web.alarms import WATCH_ROLES, alarms_for
from kustosz.web.common import TEMPLATES, Ctx
from kustosz.web.gate import gate

router = APIRouter(include_in_schema=False)
router.include_router(alarm_devices.router)  # the devices' own routes, through this one
POLL_S = 5  # the page asks this often: an alarm is on it within this and one answer
PAGES = ("dashboard", "cameras")


def alarm_list(ctx: Ctx, s: Session, now: datetime, offer: bool = True) -> dict[str, Any]:
    """What _alarms.html needs: the alarms this person is told, in the page's language, how
    many more, the version the live list compares, and (``offer``) whether to offer
    notifications on this device, and Web Push's key."""
    user = ctx.need_user()
    alarms, more = alarms_for(s, user, ctx.may("oversight"), now, ctx.lang,
                              ctx.vault.policy.timezone)
    items = _items(ctx, alarms, more)
    notify = bool(set(user.roles) & WATCH_ROLES)
    return {"alarms": alarms, "alarms_more": more, "alarms_poll_s": POLL_S,
            "alarms_version": _version(ctx.lang, items), "alarms_notify": notify,
            "push_key": push_key(ctx, s) if notify and offer else ""}


def _items(ctx: Ctx, alarms: list[Any], more: int) -> str:
    return TEMPLATES.get_template("_alarm_items.html").render(
        _=ctx._, ctx=ctx, alarms=alarms, alarms_more=more)


def _version(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()[:20]


def marks(ctx: Ctx, s: Session, day: date) -> dict[str, str]:
    """/cameras' "nie nagrywa od …" of each camera that page lists (every camera: the page
    shows them all, without their locations) that does not record now; its time as the
    page's timeline says it, relative to the ``day`` shown."""
    tz = ctx.vault.policy.timezone
    names = dict(s.execute(select(Source.id, Source.name).where(
        Source.kind == SourceKind.CAMERA)).all())
    out = {}
    for source_id, (since, _cause) in down_since(s, list(names)).items():
        local = since.astimezone(tz)
        said = f"{local:%H:%M}" if local.date() == day else f"{local:%d.%m %H:%M}"
        out[names[source_id]] = ctx._("nie nagrywa od {since}", since=said)
    return out


@router.get("/alarms/live")
def live(ctx: Ctx = gate(background=True), page: str = "dashboard", seen: str = "",
         day: str = "") -> Response:
    ctx.need_user()
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        shown = alarm_list(ctx, s, now, offer=False)
        items = _items(ctx, shown["alarms"], shown["alarms_more"])
        down: dict[str, str] = {}
        if page == "cameras":
            try:
                the_day = date.fromisoformat(day)
            except ValueError:
                the_day = now.astimezone(ctx.vault.policy.timezone).date()
            down = marks(ctx, s, the_day)
    version = _version(ctx.lang, items, down) if down else shown["alarms_version"]
    if version == seen:
        return Response(status_code=204)
    body = {"version": version, "items": items, "count": len(shown["alarms"]),
            "down": down if page == "cameras" else None}
    return Response(json.dumps(body, ensure_ascii=False).encode("utf-8"),
                    media_type="application/json")
