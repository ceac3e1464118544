"""The devices of those on duty (issue 65 item 3): a person whose role watches alarms turns
notifications on on their own browser (static/alarms_live.js); its Web Push subscription
comes here and is kept (db.access.AlarmDevice) for the push channel (web.alarm_push).

Only what the vault's push channel allows is taken: the endpoint on a push service of the
browsers' own or one kustosz.toml names (web.alarm_push.allowed — never an address of the
person's choosing, which would make the server POST wherever they want), keys that are a
real P-256 point and a 16-octet secret. Each page load confirms the device to the sign-in it
is under now; signing out there, or anything that ends the user's credentials (a password
change, a role change, the account disabled: access.accounts), ends it. A user keeps at most
MAX_DEVICES; the oldest gives way.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.alerts.settings import effective
from kustosz.alerts.vapid import public_key, vapid
from kustosz.alerts.webpush import PushCryptoError, public_of, unb64url
from kustosz.audit import append as audit
from kustosz.config import PushChannel
from kustosz.db.access import AlarmDevice
from kustosz.web.alarm_push import allowed
from kustosz.web.alarms import WATCH_ROLES
from kustosz.web.common import Ctx
from kustosz.web.gate import gate

router = APIRouter(include_in_schema=False)
MAX_DEVICES = 10
ENDPOINT_MAX = 2000
NOT_ALLOWED_PL = ("Usługa powiadomień tej przeglądarki nie jest dozwolona w ustawieniach "
                  "Kustosza ([alerts.push] services) — powiadomienia działają tylko przy "
                  "otwartej stronie.")


def push_channel(ctx: Ctx, s: Session) -> PushChannel | None:
    value = effective(ctx.vault, s).channels.get("push")
    return value if isinstance(value, PushChannel) else None


def push_key(ctx: Ctx, s: Session) -> str:
    """The vault's VAPID public key for a page that offers Web Push, "" when it offers
    none (no push channel set, or a role that does not watch). Made on first need."""
    user = ctx.user
    if user is None or not set(user.roles) & WATCH_ROLES or push_channel(ctx, s) is None:
        return ""
    key = public_key(s)
    if key is None:
        with ctx.vault.transaction() as t:
            key = vapid(t).public
    return key


def digest(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()


def _subscription(body: Any) -> tuple[str, str, str] | None:
    """(endpoint, p256dh, auth) of a PushSubscription.toJSON(), checked; None if not one."""
    sub = body.get("subscription") if isinstance(body, dict) else None
    keys = sub.get("keys") if isinstance(sub, dict) else None
    if not isinstance(sub, dict) or not isinstance(keys, dict):
        return None
    endpoint, p256dh, auth = sub.get("endpoint"), keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(v, str) for v in (endpoint, p256dh, auth)):
        return None
    assert isinstance(endpoint, str) and isinstance(p256dh, str) and isinstance(auth, str)
    try:
        public_of(unb64url(p256dh))
        if len(unb64url(auth)) != 16 or len(endpoint) > ENDPOINT_MAX or len(p256dh) > 200:
            return None
    except PushCryptoError:
        return None
    return endpoint, p256dh, auth


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


@router.post("/alarms/devices")
async def device_on(request: Request, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    if not set(user.roles) & WATCH_ROLES:
        return JSONResponse({"detail": "this role is not told of alarms"}, status_code=403)
    sub = _subscription(await _json(request))
    if sub is None:
        return JSONResponse({"detail": "not a push subscription"}, status_code=422)
    endpoint, p256dh, auth = sub
    now = datetime.now(UTC)
    with ctx.vault.transaction() as s:
        cfg = push_channel(ctx, s)
        if cfg is None:
            return JSONResponse({"detail": "Web Push is not set on this vault"},
                                status_code=409)
        if not allowed(endpoint, cfg):
            return JSONResponse({"detail": ctx._(NOT_ALLOWED_PL)}, status_code=422)
        row = s.execute(select(AlarmDevice).where(
            AlarmDevice.endpoint_hash == digest(endpoint))).scalar_one_or_none()
        fresh = row is None or row.ended_at is not None or row.user_id != user.id
        if row is None:
            row = AlarmDevice(user_id=user.id, endpoint=endpoint,
                              endpoint_hash=digest(endpoint), created_at=now)
            s.add(row)
        elif fresh:  # a device another person (or this one, earlier) had: begun anew
            row.user_id, row.created_at, row.ended_at, row.end_reason = (user.id, now,
                                                                         None, None)
        row.p256dh, row.auth, row.lang = p256dh, auth, ctx.lang
        row.session_id, row.confirmed_at = ctx.session_id, now
        s.flush()
        if fresh:
            _bounded(s, user.id, now)
            audit(s, user.name, "alarm_device.on", user.name,
                  {"service": urlsplit(endpoint).hostname, "client": ctx.client})
    return JSONResponse({"ok": True})


@router.post("/alarms/devices/off")
async def device_off(request: Request, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    body = await _json(request)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str):
        return JSONResponse({"detail": "no endpoint"}, status_code=422)
    with ctx.vault.transaction() as s:
        row = s.execute(select(AlarmDevice).where(
            AlarmDevice.endpoint_hash == digest(endpoint), AlarmDevice.user_id == user.id,
            AlarmDevice.ended_at.is_(None))).scalar_one_or_none()
        if row is not None:
            row.ended_at, row.end_reason = datetime.now(UTC), "turned off by its user"
            audit(s, user.name, "alarm_device.off", user.name,
                  {"service": urlsplit(endpoint).hostname, "client": ctx.client})
    return JSONResponse({"ok": True})


def _bounded(s: Session, user_id: int, now: datetime) -> None:
    active = list(s.execute(select(AlarmDevice).where(
        AlarmDevice.user_id == user_id, AlarmDevice.ended_at.is_(None))
        .order_by(AlarmDevice.confirmed_at.desc(), AlarmDevice.id.desc())).scalars())
    for row in active[MAX_DEVICES:]:
        row.ended_at, row.end_reason = now, f"more than {MAX_DEVICES} devices of one user"
