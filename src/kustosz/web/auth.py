"""Login, logout, password change, language."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kustosz.access import accounts, passwords, throttle
from kustosz.audit import append as audit
from kustosz.db.custody import User
from kustosz.errors import InputError
from kustosz.web.common import (
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    Ctx,
    flash_url,
    page,
    pre_token,
    redirect,
    set_cookie,
)
from kustosz.web.gate import gate, public

router = APIRouter()


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", include_in_schema=False)
def login_form(request: Request, ctx: Ctx = public(), next: str = "/") -> Response:
    token = pre_token(request)
    response = page(ctx, "login.html", csrf=token, next=_safe_next(next))
    set_cookie(request, response, PRE_COOKIE, token, max_age=3600)
    return response


@router.post("/login", include_in_schema=False)
async def login(request: Request, ctx: Ctx = public()) -> Response:
    form = await request.form()
    name = str(form.get("username", ""))
    password = str(form.get("password", ""))
    code = str(form.get("totp", "")) or None
    target = _safe_next(str(form.get("next", "/")))
    sent = str(form.get("csrf", ""))
    expected = request.cookies.get(PRE_COOKIE, "")
    import hmac

    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return page(ctx, "error.html", 403, message="Formularz wygasł lub nie pochodzi z tej "
                    "strony (brak tokenu CSRF). Odśwież stronę logowania.")
    # An empty field is named and nothing is checked (nor counted as a failed login); still
    # 401 like every login that did not happen (an empty password is never a bind either).
    missing: dict[str, str] = {}
    if not name.strip():
        missing["username"] = "Podaj nazwę użytkownika."
    if not password:
        missing["password"] = "Podaj hasło."
    if missing:
        return page(ctx, "login.html", 401, csrf=expected, next=target,
                    form={"username": name}, errors=missing, needs_totp=code is not None)
    with ctx.vault.transaction() as s:
        result = accounts.authenticate(s, name, password, ctx.client, code)
        if result.user is not None:
            token, _row = accounts.start_session(s, result.user, ctx.client,
                                                 previous=request.cookies.get(SESSION_COOKIE))
            must_change = accounts.needs_new_password(s, result.user)
    if result.user is None:
        # A code's problem is the code field's; a wrong name or password is the form's, in
        # words that do not say which of the two was wrong.
        at_code = result.needs_totp and result.error != accounts.GENERIC
        return page(ctx, "login.html", 401, csrf=expected, next=target,
                    form={"username": name}, needs_totp=result.needs_totp,
                    error=None if at_code else result.error,
                    errors={"totp": result.error} if at_code else {})
    response = redirect("/account/password" if must_change else target)
    set_cookie(request, response, SESSION_COOKIE, token)
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, ctx: Ctx = gate(one_time_ok=True)) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with ctx.vault.transaction() as s:
            accounts.end_session(s, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", include_in_schema=False)
def password_form(ctx: Ctx = gate(one_time_ok=True)) -> Response:
    if ctx.user is None:
        return redirect("/login")
    return page(ctx, "password.html")


@router.post("/account/password", include_in_schema=False)
async def password_change(request: Request, ctx: Ctx = gate(one_time_ok=True)) -> Response:
    if ctx.user is None:
        return redirect("/login")
    form = await request.form()
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    errors: dict[str, str] = {}
    with ctx.vault.reading() as s:
        account = accounts.account_of_readonly(s, ctx.user)
    if account is not None and account.directory:
        errors["current"] = ("Twoje hasło sprawdza katalog (LDAP/Active Directory) — zmień je "
                             "tak, jak w systemie Windows lub poczcie urzędu.")
    else:  # every field's problem at once; no password is ever sent back into the form
        if not current:
            errors["current"] = "Podaj obecne hasło."
        elif not passwords.verify(ctx.user.password_hash, current):
            errors["current"] = "Obecne hasło jest nieprawidłowe."
        if not new:
            errors["new"] = "Podaj nowe hasło."
        else:
            try:
                passwords.check_new(new, ctx.user.name)
            except InputError as exc:
                errors["new"] = ctx.said(exc)
        if not again:
            errors["again"] = "Powtórz nowe hasło."
        elif new and new != again:
            errors["again"] = "Hasła się różnią."
    if errors:
        return page(ctx, "password.html", 422, errors=errors)
    with ctx.vault.transaction() as s:
        user = s.get(User, ctx.user.id)
        assert user is not None
        accounts.set_password(s, user, new, user.name)
        token, _row = accounts.start_session(s, user, ctx.client,
                                             previous=request.cookies.get(SESSION_COOKIE))
    response = redirect(flash_url("/", "Hasło zmienione"))
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


@router.get("/lang/{code}", include_in_schema=False)
def language(code: str, request: Request, _ctx: Ctx = public()) -> Response:
    response = redirect(_safe_next(request.query_params.get("next")))
    if code in ("pl", "en"):
        set_cookie(request, response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


@router.get("/account/totp", include_in_schema=False)
def totp_form(ctx: Ctx = gate()) -> Response:
    """Turn on the optional second factor: the secret to type into an authenticator app."""
    import pyotp

    user = ctx.need_user()
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name="Kustosz")
    with ctx.vault.reading() as s:
        account = accounts.account_of_readonly(s, user)
    return page(ctx, "totp.html", secret=secret, uri=uri,
                enabled=bool(account and account.totp_secret))


@router.post("/account/totp", include_in_schema=False)
async def totp_enable(request: Request, ctx: Ctx = gate()) -> Response:
    import pyotp

    user = ctx.need_user()
    form = await request.form()
    secret, code = str(form.get("secret", "")), str(form.get("code", "")).strip()
    with ctx.vault.transaction() as s:
        u = s.get(User, user.id)
        assert u is not None
        proven = accounts.confirm_password(s, u, str(form.get("password", "")))
        if not proven:
            # counted like a failed login: a stolen session must not guess its way in
            throttle.failed(s, user.name, ctx.client)
            audit(s, user.name, "user.totp_refused", user.name, {"why": "wrong password"})
    errors: dict[str, str] = {}
    if not proven:
        errors["password"] = ("Podaj swoje obecne hasło — bez niego nie można zmienić "
                              "drugiego składnika.")
    try:
        step = accounts.totp_step(secret, code, datetime.now(UTC)) if len(secret) >= 16 \
            else None
    except (ValueError, TypeError):  # not base32: not a secret this page gave out
        step, secret = None, pyotp.random_base32()
    if not code:
        errors["code"] = "Przepisz kod pokazany przez aplikację."
    elif step is None:
        errors["code"] = "Kod nie pasuje — sprawdź czas w telefonie i przepisz aktualny kod."
    if errors:
        uri = pyotp.TOTP(secret if len(secret) >= 16 else pyotp.random_base32()) \
            .provisioning_uri(name=user.name, issuer_name="Kustosz")
        return page(ctx, "totp.html", 422, secret=secret, uri=uri, enabled=False,
                    errors=errors)
    with ctx.vault.transaction() as s:
        u = s.get(User, user.id)
        assert u is not None
        account = accounts.account_of(s, u)
        account.totp_secret = secret
        account.totp_last_step = step  # the code just typed cannot open a login afterwards
        audit(s, u.name, "user.totp", u.name, {"enabled": True})
    return redirect(flash_url("/", "Włączono drugi składnik logowania"))
