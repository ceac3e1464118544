"""The JSON API under /api (OpenAPI at /api/docs): the same actions as the pages, for
automation. Bearer tokens (scoped) or the browser session with an X-CSRF-Token header.
Bad input answers 422 with the field named; nothing is half-saved."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kustosz.access import authorisations as auths
from kustosz.access import tokens
from kustosz.custody import holds as holds_mod
from kustosz.custody.decisions import decide
from kustosz.custody.requests import list_requests
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.index.sources import get_source
from kustosz.web.common import Ctx
from kustosz.web.gate import SCOPES, gate
from kustosz.web.params import PathId

router = APIRouter(prefix="/api", tags=["api"])


def _field_error(field: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body", field], "field": field, "msg": message,
                                     "type": "value_error"}]},
                        status_code=422)


@router.get("/me")
def me(ctx: Ctx = gate(scope="read")) -> dict[str, Any]:
    user = ctx.need_user()
    return {"name": user.name, "display_name": user.display_name, "roles": user.roles}


class HoldIn(BaseModel):
    sources: list[str] = Field(min_length=1)
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    basis: str = Field(min_length=1)
    case_ref: str | None = None


@router.get("/holds")
def holds_list(ctx: Ctx = gate("custody_read", scope="read")) -> list[dict[str, Any]]:
    ctx.need("custody_read")
    with ctx.vault.reading() as s:
        return [{"id": v.hold.id, "basis": v.hold.basis, "case_ref": v.hold.case_ref,
                 "sources": v.sources, "items": v.items,
                 "from": v.hold.start_at, "to": v.hold.end_at,
                 "released_at": v.hold.released_at} for v in holds_mod.list_holds(s)]


@router.post("/holds", status_code=201)
async def holds_place(body: HoldIn, request: Request,
                      ctx: Ctx = gate("custody", scope="custody")) -> Any:
    user = ctx.need("custody")
    if body.start.tzinfo is None or body.end.tzinfo is None:
        return _field_error("from", "times need a UTC offset")
    if body.end < body.start:
        return _field_error("to", "ends before it starts")
    try:
        with ctx.vault.transaction() as s:
            try:
                sources = [get_source(s, n) for n in body.sources]
            except NotFound as exc:
                return _field_error("sources", str(exc))
            hold = holds_mod.place_hold(s, sources=sources, start=body.start, end=body.end,
                                        basis=body.basis, case_ref=body.case_ref,
                                        actor=user.name)
            return {"id": hold.id}
    except KustoszError as exc:
        return _field_error(getattr(exc, "field", "basis"), str(exc))


@router.get("/requests")
def requests_list(ctx: Ctx = gate("custody_read", scope="read"),
                  status: str | None = None) -> list[dict]:
    ctx.need("custody_read")
    with ctx.vault.reading() as s:
        return [{"id": r.id, "kind": r.kind, "material": r.material, "status": r.status,
                 "requester": r.requester, "received_on": r.received_on,
                 "sources": r.sources, "from": r.start_at, "to": r.end_at,
                 "hold": r.hold_id} for r in list_requests(s, status)]


class DecisionIn(BaseModel):
    agree: bool
    on: date
    by: str | None = None
    capacity: str | None = Field(
        default=None, description="The position deciding: head, deputy or a key of the "
                                  "policy's [positions]; left out: the head (or the one listed).")
    deputy: bool = False
    reason: str | None = None
    paper_ref: str | None = Field(
        default=None, description="A decision taken on paper: the document's reference. "
                                  "Required when `by` is not you (separation of duties).")


@router.post("/requests/{request_id}/decision", status_code=201)
async def request_decide(request_id: PathId, body: DecisionIn, request: Request,
                         ctx: Ctx = gate("custody", scope="custody")) -> Any:
    user = ctx.need("custody")
    try:
        with ctx.vault.transaction() as s:
            d = decide(s, ctx.vault.policy, request_id, by=body.by or user.name,
                       agree=body.agree, on=body.on, actor=user.name, keyed_by=user.name,
                       paper_ref=body.paper_ref, capacity=body.capacity,
                       deputy=body.deputy, reason=body.reason)
            return {"request": request_id, "agree": d.agree, "by": d.decided_by,
                    "capacity": d.capacity,
                    "keyed_by": d.keyed_by, "paper_ref": d.paper_ref}
    except NotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except FieldError as exc:
        return _field_error(exc.field, str(exc))
    except KustoszError as exc:
        return _field_error(getattr(exc, "field", "agree"), str(exc))


class AuthorisationIn(BaseModel):
    holder: str
    actions: list[str] = Field(min_length=1)
    sources: list[str] = []
    source_kinds: list[str] = []
    valid_from: datetime
    valid_to: datetime
    basis: str | None = None


@router.get("/authorisations")
def authorisations_list(ctx: Ctx = gate(scope="read")) -> list[dict[str, Any]]:
    user = ctx.need_user()
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        rows = auths.list_authorisations(
            s, None if ctx.may("authorise") or ctx.may("oversight") else user)
        return [{"id": a.id, "holder_id": a.holder_id, "actions": a.actions,
                 "sources": a.sources, "source_kinds": a.source_kinds,
                 "valid_from": a.valid_from, "valid_to": a.valid_to,
                 "state": auths.state(a, now)} for a in rows]


@router.post("/authorisations", status_code=201)
async def authorisations_issue(body: AuthorisationIn, request: Request,
                               ctx: Ctx = gate("authorise", scope="authorise")) -> Any:
    user = ctx.need("authorise")
    if body.valid_from.tzinfo is None or body.valid_to.tzinfo is None:
        return _field_error("valid_from", "times need a UTC offset")
    try:
        with ctx.vault.transaction() as s:
            a = auths.issue(s, holder=body.holder, actions=body.actions, sources=body.sources,
                            source_kinds=body.source_kinds, valid_from=body.valid_from,
                            valid_to=body.valid_to, by=user.name, actor=user.name,
                            basis=body.basis, policy=ctx.vault.policy)
            return {"id": a.id}
    except FieldError as exc:
        return _field_error(exc.field, str(exc))


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    days: int = Field(default=90, ge=1, le=tokens.MAX_DAYS)


@router.post("/tokens", status_code=201)
async def token_create(body: TokenIn, request: Request, ctx: Ctx = gate()) -> Any:
    """A token for automation, acting as the logged-in user, limited to the scopes named.
    Made only in a browser session: a token cannot make tokens."""
    user = ctx.need_user()
    try:
        with ctx.vault.transaction() as s:
            token, row = tokens.create(s, user, body.name, body.scopes, body.days, SCOPES)
            return {"id": row.id, "token": token, "scopes": row.scopes,
                    "expires_at": row.expires_at}
    except FieldError as exc:
        return _field_error(exc.field, str(exc))


@router.get("/tokens")
def token_list(ctx: Ctx = gate(scope="read")) -> list[dict[str, Any]]:
    """The caller's own tokens (never the tokens themselves)."""
    user = ctx.need_user()
    with ctx.vault.reading() as s:
        return [{"id": t.id, "name": t.name, "scopes": t.scopes, "state": tokens.state(t),
                 "created_at": t.created_at, "expires_at": t.expires_at,
                 "last_used_at": t.last_used_at, "revoked_at": t.revoked_at,
                 "revoke_reason": t.revoke_reason} for t, _ in tokens.list_tokens(s, user)]


@router.post("/tokens/{token_id}/revoke")
async def token_revoke(token_id: PathId, ctx: Ctx = gate()) -> Any:
    user = ctx.need_user()
    try:
        with ctx.vault.transaction() as s:
            tokens.revoke(s, token_id, user.name, only_of=user, reason="revoked by its owner")
    except NotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except KustoszError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return {"id": token_id, "state": "revoked"}
