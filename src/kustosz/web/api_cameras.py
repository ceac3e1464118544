"""The JSON API's camera register (issue 66 item 1): the kinds of place, a zone, a camera by its
RTSP address — the same functions and checks as `kustosz zones add`, `kustosz cameras add` and
the pages, so a camera in a place the law or the office's regulation closes is refused here as
there. Bad input answers 422 naming the field, in English and Polish; nothing is half-saved.

Where cameras hang is the employer's secret (R1.7): registering a zone or a camera needs the
administrator's right and the token scope "cameras", and is on record like the CLI's."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kustosz.cameras.register import CameraSpec, add_camera, add_zone
from kustosz.cameras.rules import DEFAULT_SEGMENT_SECONDS
from kustosz.errors import KustoszError, NotFound
from kustosz.web.common import Ctx
from kustosz.web.gate import gate

router = APIRouter(prefix="/api", tags=["api"])


def _refused(field: str, exc: KustoszError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 422
    return JSONResponse({"detail": [{"loc": ["body", field], "field": field, "msg": str(exc),
                                     "msg_pl": exc.pl or str(exc), "type": "value_error"}]},
                        status_code=status)


@router.get("/zone-kinds")
def zone_kinds(ctx: Ctx = gate(scope="read")) -> list[dict[str, Any]]:
    """The kinds a zone may be of under the office's policy, and what closes each."""
    ctx.need_user()
    video = ctx.vault.policy.video
    return [{"kind": k.code, "name": k.name, "place": k.place, "own": k.own,
             "excluded_by_office": video.excluded(k.code),
             "statutes": [{"law": e.law, "cite": e.cite, "outright": e.outright}
                          for e in k.exclusions]} for k in video.offered()]


class ZoneIn(BaseModel):
    site: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=30)


@router.post("/zones", status_code=201)
async def zones_add(body: ZoneIn, request: Request,
                    ctx: Ctx = gate("admin", scope="cameras")) -> Any:
    admin = ctx.need("admin")
    try:
        with ctx.vault.transaction() as s:
            zone = add_zone(s, body.site, body.name, body.kind, admin.name, ctx.vault.policy)
            return {"id": zone.id, "kind": zone.kind,
                    "kind_name": ctx.vault.policy.video.kind(zone.kind).name}
    except KustoszError as exc:
        return _refused(getattr(exc, "field", "site" if isinstance(exc, NotFound) else "name"),
                        exc)


class CameraIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    site: str = Field(min_length=1, max_length=200)
    zone: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=1000, description="rtsp://[user@]host[:port]/path")
    password: str | None = Field(None, max_length=1000)
    purposes: list[str] = Field(min_length=1, max_length=20)
    notice_date: date | None = None
    signage_date: date | None = None
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    unrecognisable_reason: str | None = Field(None, max_length=1000)
    representatives_consent: str | None = Field(None, max_length=1000)
    start_override_reason: str | None = Field(None, max_length=1000)


@router.post("/cameras", status_code=201)
async def cameras_add(body: CameraIn, request: Request,
                      ctx: Ctx = gate("admin", scope="cameras")) -> Any:
    admin = ctx.need("admin")
    spec = CameraSpec(body.name, body.site, body.zone, body.url, tuple(body.purposes),
                      body.notice_date, body.signage_date, body.segment_seconds,
                      body.unrecognisable_reason, body.representatives_consent,
                      body.start_override_reason, password=body.password)
    try:
        with ctx.vault.transaction() as s:
            camera = add_camera(s, ctx.vault.policy, spec, admin.name)
            return {"name": body.name, "url": camera.url, "purposes": list(camera.purposes)}
    except KustoszError as exc:
        # the register's rules name their field; a camera's address, its password and its
        # name are checked by the source's own rules, which do not
        text = str(exc)
        field = ("zone" if isinstance(exc, NotFound) else
                 "url" if "URL" in text or "password" in text else "name")
        return _refused(getattr(exc, "field", field), exc)
