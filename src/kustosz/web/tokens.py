"""API tokens in the browser: each person lists, makes and revokes their own
(/account/tokens); the administrator sees and revokes everyone's (/admin/tokens).
The token itself is shown once, when made; only its hash is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kustosz.access import tokens
from kustosz.access.users import printed
from kustosz.errors import FieldError, KustoszError, NotFound
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.gate import SCOPES, gate
from kustosz.web.params import PathId

router = APIRouter(include_in_schema=False)

# Each scope's value (kept: scripts send it) with its Polish label and what it allows.
SCOPES_PL: dict[str, tuple[str, str]] = {
    "read": ("odczyt", "listy i rejestry, bez materiału"),
    "custody": ("dokumentacja (wnioski, kopie)", "zabezpieczenia, decyzje, kopie"),
    "authorise": ("upoważnienia", "wydawanie upoważnień"),
    "media": ("materiał (nagrania)",
              "otwieranie nagrań — nadal tylko z upoważnieniem i ze stanowiska z listy"),
    "metrics": ("metryki (monitoring)",
                "odczyt /metrics przez system monitoringu, bez danych osobowych"),
    "cameras": ("rejestr kamer",
                "dodawanie stref i kamer — nadal tylko z uprawnieniem administratora"),
}


def scope_label(scope: str) -> str:
    """A token's scope as people read it (the value itself stays for the API)."""
    return SCOPES_PL[scope][0] if scope in SCOPES_PL else scope
STATES_PL = {"active": "aktywny", "revoked": "unieważniony", "expired": "wygasły"}
# Why a token ended: kept in English in the table (as the terminal shows it), said in Polish.
REASONS_PL = {
    "password change": "zmiana hasła", "password reset": "nowe hasło jednorazowe",
    "account disabled": "konto wyłączone", "roles changed": "zmiana ról",
    "directory login changed": "zmiana sposobu logowania",
    "revoked by its owner": "przez właściciela",
}


def reason_pl(reason: str | None, who: Callable[[str], str] = str) -> str:
    """Why a token ended, in Polish; ``who`` names the administrator who revoked it (a name
    is not declined: "unieważnił administrator: Jan Wiśniewski")."""
    if not reason:
        return ""
    prefix = "revoked by the administrator "
    if reason.startswith(prefix):
        login = reason.removeprefix(prefix)
        return "unieważnił administrator: " + (who(login) or login)
    return REASONS_PL.get(reason, reason)


def _page(ctx: Ctx, everyone: bool, status: int = 200, **extra: Any) -> Response:
    with ctx.vault.reading() as s:
        rows = tokens.list_tokens(s, None if everyone else ctx.user)
        owners = {owner: printed(s, owner) for _t, owner in rows}
    now = datetime.now(UTC)
    return page(ctx, "tokens.html", status, rows=rows, everyone=everyone, scopes=SCOPES_PL,
                scope_labels=lambda values: ", ".join(scope_label(x) for x in sorted(
                    values, key=lambda x: list(SCOPES_PL).index(x) if x in SCOPES_PL else 99)),
                owners=owners,
                state=lambda t: tokens.state(t, now), states=STATES_PL,
                reason=lambda r: reason_pl(r, lambda login: _printed_name(ctx, login)),
                msg=flash_of(ctx), **extra)


def _printed_name(ctx: Ctx, login: str) -> str:
    with ctx.vault.reading() as s:
        return printed(s, login)


def _refused(ctx: Ctx, everyone: bool, token_id: int, exc: KustoszError) -> Response:
    """A revocation refused, in Polish (access.tokens speaks to the terminal; someone else's
    token is "not there" for whoever does not own it). A revoked token has no button left in
    its row, so the page says it above the list."""
    if isinstance(exc, NotFound):
        return _page(ctx, everyone, 404, error=exc.pl or f"Nie ma tokenu nr {token_id}.")
    return _page(ctx, everyone, 409,
                 error=exc.pl or f"Token nr {token_id} jest już unieważniony.")


@router.get("/account/tokens")
def my_tokens(ctx: Ctx = gate()) -> Response:
    return _page(ctx, everyone=False)


@router.post("/account/tokens")
async def my_token_create(request: Request, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    scopes = [x for x in raw.getlist("scopes") if isinstance(x, str)]
    form["scopes"] = ",".join(scopes)
    # Every field at once (tokens.create refuses with the first it finds, in these words).
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name or len(name) > 100:
        errors["name"] = "Podaj nazwę tokenu (do 100 znaków), np. „skrypt kopii”."
    unknown = [x for x in scopes if x not in SCOPES]
    if unknown:
        errors["scopes"] = (f"Nieznany zakres „{unknown[0]}”; dostępne: "
                            f"{', '.join(scope_label(x) for x in SCOPES)}.")
    elif not scopes:
        errors["scopes"] = "Wybierz co najmniej jeden zakres tokenu."
    days = 0
    try:
        days = int(form.get("days") or "90")
    except ValueError:
        errors["days"] = "Podaj liczbę dni."
    else:
        if not 1 <= days <= tokens.MAX_DAYS:
            errors["days"] = f"Token może być ważny od 1 do {tokens.MAX_DAYS} dni."
    if errors:
        return _page(ctx, False, 422, form=form, errors=errors)
    try:
        with ctx.vault.transaction() as s:
            token, _row = tokens.create(s, user, name, scopes, days, SCOPES)
    except FieldError as exc:
        return _page(ctx, False, 422, form=form, errors={exc.field: ctx.said(exc)})
    return _page(ctx, False, 201, shown=token)


@router.post("/account/tokens/{token_id}/revoke")
async def my_token_revoke(token_id: PathId, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    try:
        with ctx.vault.transaction() as s:
            tokens.revoke(s, token_id, user.name, only_of=user, reason="revoked by its owner")
    except KustoszError as exc:
        return _refused(ctx, False, token_id, exc)
    return redirect(flash_url("/account/tokens", "Token unieważniony."))


@router.get("/admin/tokens")
def all_tokens(ctx: Ctx = gate("admin")) -> Response:
    return _page(ctx, everyone=True)


@router.post("/admin/tokens/{token_id}/revoke")
async def any_token_revoke(token_id: PathId, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    try:
        with ctx.vault.transaction() as s:
            tokens.revoke(s, token_id, admin.name, only_of=None,
                          reason=f"revoked by the administrator {admin.name}")
    except KustoszError as exc:
        return _refused(ctx, True, token_id, exc)
    return redirect(flash_url("/admin/tokens", "Token unieważniony."))
