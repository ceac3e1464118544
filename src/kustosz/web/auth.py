"""Login, logout, password change, language."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyotp
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kustosz.access import accounts, directory, passwords, throttle, unlock
from kustosz.audit import append as audit
from kustosz.db.access import WebSession
from kustosz.db.custody import User
from kustosz.digests import token_digest
from kustosz.errors import InputError
from kustosz.vault import Vault
from kustosz.web import login_pool
from kustosz.web.common import (
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    Ctx,
    delete_cookie,
    flash_url,
    page,
    pre_token,
    redirect,
    set_cookie,
)
from kustosz.web.gate import gate, public
from kustosz.web.login_pool import Busy
from kustosz.web.next_target import safe_next
from kustosz.words import plural

router = APIRouter()




@router.get("/login", include_in_schema=False)
def login_form(request: Request, ctx: Ctx = public(), next: str = "/") -> Response:
    token = pre_token(request)
    response = page(ctx, "login.html", csrf=token, next=safe_next(next))
    set_cookie(request, response, PRE_COOKIE, token, max_age=3600)
    return response


BUSY_PL = {
    False: "Z tego adresu sprawdzanych jest już kilka haseł naraz. Spróbuj ponownie za "
           "{n} {unit}.",
    True: "Serwer sprawdza teraz zbyt wiele haseł naraz. Spróbuj ponownie za {n} {unit}.",
}


def _office(ctx: Ctx) -> str:
    # which office's share of the login pool a check takes (one process may serve several)
    return str(ctx.vault.root)


def busy_words(busy: Busy) -> str:
    n = busy.retry_after
    return BUSY_PL[busy.whole].format(n=n, unit=plural(n, "sekundę", "sekundy", "sekund"))


def _busy_page(ctx: Ctx, busy: Busy, template: str, **data: Any) -> Response:
    response = page(ctx, template, busy.status, **data)
    response.headers["Retry-After"] = str(busy.retry_after)
    return response


@dataclass(frozen=True)
class _Login:
    result: accounts.LoginResult
    token: str | None = None
    must_change: bool = False


def _signed_in_as(s: Session, token: str | None) -> int | None:
    """Whose live session the browser presented, if any."""
    row = s.get(WebSession, token_digest(token)) if token else None
    if row is None or row.ended_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    return row.user_id


def _unlock_refusal(s: Session, link: str, name: str, client: str,
                    previous: str | None) -> str | None:
    """Why a login with the one-time unlock ``link`` may not skip the waits (audited), or
    None when it may."""
    found = unlock.valid(s, link)
    if found is None:
        return unlock.INVALID_PL  # not audited: anyone could fill the log with made-up links
    row, person = found
    other = _signed_in_as(s, previous)
    if other is not None and other != person.id:
        unlock.refused(s, row, person, client, "someone else's session")
        return unlock.OTHER_SESSION_PL
    if (name or "").strip()[:150] != person.name:
        unlock.refused(s, row, person, client, "another account", typed=name)
        return unlock.OTHER_ACCOUNT_PL
    return None


def _check_login(vault: Vault, name: str, password: str, client: str, code: str | None,
                 previous: str | None, link: str | None = None) -> _Login:
    """On the login pool's thread: the slow check outside any transaction (a transaction
    held over argon2 or the directory held every writer — on SQLite every page), then the
    counting, auditing and the new session in a short one. ``link``: a one-time unlock
    link (kustosz.access.unlock): no wait applies, for its account alone."""
    if link:
        with vault.transaction() as s:
            why = _unlock_refusal(s, link, name, client, previous)
        if why is not None:
            return _Login(accounts.LoginResult(None, why))
    with vault.reading() as s:
        found = accounts.prove(s, name, client, unthrottled=bool(link))
    proof = accounts.check(found, name, password)
    with vault.transaction() as s:
        held = unlock.valid(s, link, lock=True) if link else None
        if link and held is None:  # used or ended by a request a moment earlier
            return _Login(accounts.LoginResult(None, unlock.INVALID_PL))
        result = accounts.authenticate(s, name, password, client, code, proof=proof,
                                       unthrottled=held is not None)
        if held is not None:
            if result.user is not None:
                unlock.used(s, *held, client)
            elif not (result.needs_totp and not code):  # asking for the code is no failure
                unlock.failed(s, *held, client)
        if result.user is None:
            return _Login(result)
        token, _row = accounts.start_session(s, result.user, client, previous=previous)
        return _Login(result, token, accounts.needs_new_password(s, result.user))


@router.get("/unlock/{link}", include_in_schema=False)
def unlock_form(link: str, request: Request, ctx: Ctx = public()) -> Response:
    """The login form of a one-time unlock link: for its account alone, no wait applies."""
    with ctx.vault.transaction() as s:
        found = unlock.valid(s, link)
        if found is None:
            return page(ctx, "error.html", 410, message=unlock.INVALID_PL)
        row, person = found
        if ctx.user is not None and ctx.user.id != person.id:
            unlock.refused(s, row, person, ctx.client, "someone else's session")
            return page(ctx, "error.html", 403, message=unlock.OTHER_SESSION_PL)
        name, until = person.name, row.expires_at
    token = pre_token(request)
    response = page(ctx, "login.html", csrf=token, next="/", form={"username": name},
                    unlock=link, unlock_until=until)
    set_cookie(request, response, PRE_COOKIE, token, max_age=3600)
    return response


@router.post("/login", include_in_schema=False)
async def login(request: Request, ctx: Ctx = public()) -> Response:
    form = await request.form()
    name = str(form.get("username", ""))
    password = str(form.get("password", ""))
    code = str(form.get("totp", "")) or None
    target = safe_next(str(form.get("next", "/")))
    link = str(form.get("unlock", ""))[:100] or None
    sent = str(form.get("csrf", ""))
    expected = request.cookies.get(PRE_COOKIE, "")
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
                    form={"username": name}, errors=missing, needs_totp=code is not None,
                    unlock=link)
    client = ctx.client
    try:
        done = await login_pool.pool().run(client, partial(
            _check_login, ctx.vault, name, password, client, code,
            request.cookies.get(SESSION_COOKIE), link), office=_office(ctx))
    except Busy as busy:
        return _busy_page(ctx, busy, "login.html", csrf=expected, next=target,
                          form={"username": name}, error=busy_words(busy),
                          needs_totp=code is not None, unlock=link)
    result = done.result
    if result.user is None or done.token is None:
        # A code's problem is the code field's; a wrong name or password is the form's, in
        # words that do not say which of the two was wrong.
        at_code = result.needs_totp and result.error != accounts.GENERIC
        link_ended = result.error in (unlock.INVALID_PL, unlock.OTHER_SESSION_PL)
        return page(ctx, "login.html", 403 if result.error == unlock.OTHER_SESSION_PL else 401,
                    csrf=expected, next=target,
                    form={"username": name}, needs_totp=result.needs_totp,
                    error=None if at_code else result.error,
                    errors={"totp": result.error} if at_code else {},
                    unlock=None if link_ended else link)
    response = redirect("/account/password" if done.must_change else target)
    set_cookie(request, response, SESSION_COOKIE, done.token)
    delete_cookie(response, PRE_COOKIE)
    return response


WRONG_CURRENT_PL = "Obecne hasło jest nieprawidłowe."


def _confirm(vault: Vault, user_id: int, password: str, client: str,
             refused: str) -> str | None:
    """On the login pool's thread: whether a signed-in person typed their own password
    (before changing it or the second factor). Throttled and audited like a login: a session
    left open must not let anyone guess the password behind it. None when right, else the
    words for the field."""
    with vault.reading() as s:
        u = s.get(User, user_id)
        if u is None:
            return WRONG_CURRENT_PL
        name = u.name
        wait = throttle.waiting(s, name, client, u.id)
        account = accounts.account_of_readonly(s, u)
        settings = directory.current(s) if account is not None and account.directory \
            else None
        stored = u.password_hash
    if wait is not None:
        # not checked, not audited (as a login that must wait)
        return (f"Zbyt wiele błędnych haseł. Spróbuj ponownie za {wait.seconds} "
                f"{plural(wait.seconds, 'sekundę', 'sekundy', 'sekund')}.")
    if settings is not None:
        right = settings.enabled and directory.check_password(
            settings, name, password) is directory.Outcome.OK
    else:
        right = passwords.verify(stored, password)
    if right:
        return None
    with vault.transaction() as s:
        failures = throttle.failed(s, name, client)
        audit(s, name, refused, name, {"client": client, "why": "wrong password",
                                       "failures": failures})
    return WRONG_CURRENT_PL


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, ctx: Ctx = gate(one_time_ok=True)) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with ctx.vault.transaction() as s:
            accounts.end_session(s, token)
    response = redirect("/login")
    delete_cookie(response, SESSION_COOKIE)
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
        else:
            try:
                wrong = await login_pool.pool().run(ctx.client, partial(
                    _confirm, ctx.vault, ctx.user.id, current, ctx.client,
                    "user.password_refused"), office=_office(ctx))
            except Busy as busy:
                return _busy_page(ctx, busy, "password.html", errors={
                    "current": busy_words(busy)})
            if wrong is not None:
                errors["current"] = wrong
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
    user_id, client, previous = ctx.user.id, ctx.client, request.cookies.get(SESSION_COOKIE)

    def change() -> str:  # hashing the new password is argon2 too: on the pool's thread
        with ctx.vault.transaction() as s:
            user = s.get(User, user_id)
            assert user is not None
            accounts.set_password(s, user, new, user.name)
            token, _row = accounts.start_session(s, user, client, previous=previous)
            return token

    try:
        token = await login_pool.pool().run(client, change, office=_office(ctx))
    except Busy as busy:
        return _busy_page(ctx, busy, "password.html", errors={"current": busy_words(busy)})
    response = redirect(flash_url("/", "Hasło zmienione"))
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


@router.get("/lang/{code}", include_in_schema=False)
def language(code: str, request: Request, _ctx: Ctx = public()) -> Response:
    response = redirect(safe_next(request.query_params.get("next")))
    if code in ("pl", "en"):
        set_cookie(request, response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


@router.get("/account/totp", include_in_schema=False)
def totp_form(ctx: Ctx = gate()) -> Response:
    """Turn on the optional second factor: the secret to type into an authenticator app."""

    user = ctx.need_user()
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name="Kustosz")
    with ctx.vault.reading() as s:
        account = accounts.account_of_readonly(s, user)
    return page(ctx, "totp.html", secret=secret, uri=uri,
                enabled=bool(account and account.totp_secret))


@router.post("/account/totp", include_in_schema=False)
async def totp_enable(request: Request, ctx: Ctx = gate()) -> Response:
    user = ctx.need_user()
    form = await request.form()
    secret, code = str(form.get("secret", "")), str(form.get("code", "")).strip()
    # counted like a failed login: a stolen session must not guess its way in
    try:
        wrong = await login_pool.pool().run(ctx.client, partial(
            _confirm, ctx.vault, user.id, str(form.get("password", "")), ctx.client,
            "user.totp_refused"), office=_office(ctx))
    except Busy as busy:
        return _busy_page(ctx, busy, "totp.html", secret=secret, enabled=False,
                          uri=pyotp.TOTP(pyotp.random_base32()).provisioning_uri(
                              name=user.name, issuer_name="Kustosz"),
                          errors={"password": busy_words(busy)})
    errors: dict[str, str] = {}
    if wrong is not None:
        errors["password"] = wrong if wrong != WRONG_CURRENT_PL else (
            "Podaj swoje obecne hasło — bez niego nie można zmienić drugiego składnika.")
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
