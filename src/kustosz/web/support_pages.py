"""Support access for the installation's administrator, on the office's own pages (issue 67).

The office's head (`approver`) grants and revokes it; whoever oversees the office reads what
was granted and every command the installation's administrator ran or tried
(kustosz.access.support, kustosz.cli.office_gate). A vault served alone has no installation
administrator: the page is not there."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kustosz.access import support
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.installation_layout import installation_holding
from kustosz.vault import Vault
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.gate import gate
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)
PATH = "/admin/support"


def in_installation(vault: Vault) -> bool:
    return installation_holding(vault.root) is not None


def _need_installation(ctx: Ctx) -> None:
    if not in_installation(ctx.vault):
        raise NotFound("this vault is no office of an installation: it has no installation "
                       "administrator",
                       pl="Ten skarbiec nie należy do instalacji wielu urzędów: nie ma "
                          "administratora instalacji.")


def _command_of(details: str) -> str:
    try:
        return str(json.loads(details).get("command", ""))
    except (ValueError, AttributeError):
        return ""


def _page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        current = support.in_force(s, now)
        grants = support.history(s)
        tried = [(e, _command_of(e.details)) for e in support.commands(s)]
    return page(ctx, "support.html", status, current=current, grants=grants, tried=tried,
                used=support.USED, now=now, max_hours=support.MAX_HOURS,
                default_hours=support.DEFAULT_HOURS,
                ended=lambda g: g.revoked_at is not None or g.until <= now,
                msg=flash_of(ctx), **extra)


@router.get(PATH)
def support_page(ctx: Ctx = gate("oversight")) -> Response:
    _need_installation(ctx)
    return _page(ctx)


@router.post(PATH)
async def support_grant(request: Request, ctx: Ctx = gate("authorise")) -> Response:
    head = ctx.need("authorise")
    _need_installation(ctx)
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    for field, check in (("reason", support.check_reason), ("hours", support.check_hours)):
        try:
            check(form.get(field, ""))
        except KustoszError as exc:
            errors[field] = ctx.said(exc)
    if errors:
        return _page(ctx, 422, form=form, errors=errors)
    try:
        with ctx.vault.transaction() as s:
            support.grant(s, head.name, form["reason"], form["hours"])
    except FieldError as exc:
        return _page(ctx, 422, form=form, errors={exc.field: ctx.said(exc)})
    except KustoszError as exc:
        return _page(ctx, 409, form=form, error=ctx.said(exc))
    return redirect(flash_url(PATH, "Udzielono dostępu serwisowego."))


@router.post(PATH + "/{grant_id}/revoke")
async def support_revoke(grant_id: PathId, ctx: Ctx = gate("authorise")) -> Response:
    head = ctx.need("authorise")
    _need_installation(ctx)
    try:
        with ctx.vault.transaction() as s:
            support.revoke(s, grant_id, head.name)
    except NotFound as exc:
        return _page(ctx, 404, error=ctx.said(exc))
    except KustoszError as exc:
        return _page(ctx, 409, error=ctx.said(exc))
    return redirect(flash_url(PATH, "Odwołano dostęp serwisowy."))
