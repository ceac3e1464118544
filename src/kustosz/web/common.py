"""What every route shares: who is asking (session cookie or API token), CSRF, roles,
templates, and errors shown in Polish."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import select

from kustosz.access import accounts, tokens
from kustosz.access.authorisations import ACTIONS, SOURCE_KINDS
from kustosz.access.users import ROLE_SHORT, printed
from kustosz.cameras.register import onvif_notes, recorder_notes
from kustosz.custody.copy_dates import kept_until
from kustosz.db.custody import User
from kustosz.documents import render
from kustosz.errors import KustoszError, for_people
from kustosz.masking import residual
from kustosz.vault import Vault
from kustosz.web.i18n import LANGS, english, plural_in, translate
from kustosz.web.prefix import at, cookie_path, root
from kustosz.web.tls import client_address

SESSION_COOKIE = "kustosz_session"
PRE_COOKIE = "kustosz_pre"  # CSRF token of the login form (double submit, before a session)
LANG_COOKIE = "kustosz_lang"

# Which roles reach which part of the app. A role never opens material by itself: the media
# routes ask for an individual authorisation (kustosz.access.authorisations).
PERMS: dict[str, frozenset[str]] = {
    "admin": frozenset({"administrator"}),
    "authorise": frozenset({"approver"}),
    "custody": frozenset({"administrator", "dpo", "approver", "custodian", "commission"}),
    "custody_read": frozenset({"administrator", "dpo", "approver", "custodian", "commission",
                               "auditor", "supervisor"}),
    "locations": frozenset({"administrator", "dpo", "approver"}),  # R1.7
    # the supervisor of monitoring (001 §4: Sekretarz Miasta; R6.3) reads, opens nothing
    "oversight": frozenset({"administrator", "dpo", "approver", "auditor", "supervisor"}),
}

TEMPLATES = Jinja2Templates(directory=str(resources.files("kustosz.web") / "templates"))


@pass_context
def _role_short(context: Any, role: str) -> str:
    return translate(ROLE_SHORT.get(role, role), _lang_of(context))


@pass_context
def _plural(context: Any, n: int, one: str, few: str, many: str) -> str:
    """{{ n|plural("plik", "pliki", "plików") }}: English from i18n.EN_N on English pages."""
    return plural_in(_lang_of(context), n, one, few, many)


def _lang_of(context: Any) -> str:
    ctx = context.get("ctx")
    return getattr(ctx, "lang", "pl")


def scope_in(a: Any, lang: str) -> str:
    """An authorisation's scope (access.authorisations.scope_pl) composed in ``lang`` from
    its parts: the whole sentence, a list of several actions and sources, is in no
    catalogue."""
    what = ", ".join(translate(ACTIONS.get(x, x), lang) for x in a.actions)
    where = ", ".join([*(translate("źródło {name}", lang, name=n) for n in a.sources),
                       *(translate("wszystkie {kinds}", lang,
                                   kinds=translate(SOURCE_KINDS.get(k, k), lang))
                         for k in a.source_kinds)])
    return f"{what} — {where}"


def polish_marked(text: str, lang: str) -> Markup:
    """Text stored in Polish (an alert row's message, written when it was raised; what a
    person typed): as it is on a Polish page; on an English one the catalogue's English when
    it has some, else marked ``lang="pl"`` so a screen reader reads it in Polish (WCAG
    3.1.2)."""
    if lang == "pl" or not text:
        return escape(text)
    said = english(text)
    if said != text:
        return escape(said)
    return Markup('<span lang="pl">{}</span>').format(text)


@pass_context
def _scope_words(context: Any, a: Any) -> str:
    return scope_in(a, _lang_of(context))


@pass_context
def _stored_pl(context: Any, text: str | None) -> Markup:
    return polish_marked(text or "", _lang_of(context))


@pass_context
def _review_reason(context: Any, copy: Any) -> Markup:
    """Why a copy was withheld or sent back at review, in the page's language: the check's
    reason is kept in both (masking.residual.stored_reason), a reviewer's is typed."""
    lang, why = _lang_of(context), copy.review_reason or ""
    if copy.review_state == residual.STATE:
        return escape(residual.reason_in(why, lang))
    return polish_marked(why, lang)


TEMPLATES.env.filters["role_short"] = _role_short
TEMPLATES.env.filters["plural"] = _plural
TEMPLATES.env.filters["scope_words"] = _scope_words
TEMPLATES.env.filters["stored_pl"] = _stored_pl
TEMPLATES.env.filters["review_reason"] = _review_reason
# the office's prefix in an installation ("/o/mops"; "" alone): href="{{ root() }}/copies"
TEMPLATES.env.globals["root"] = root


def switcher_of(request: Any) -> Any:
    """The installation around an office's page (web.installation_app.Switcher, set on the
    office's app when an installation mounts it); None for an office served alone."""
    state = getattr(getattr(request, "app", None), "state", None)
    return getattr(state, "switcher", None) if state is not None else None


TEMPLATES.env.globals["switcher_of"] = switcher_of


class NeedLogin(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str = "Brak uprawnień do tej strony.") -> None:
        super().__init__(message)
        self.message = message


class BadCsrf(Exception):
    pass


class MustChangePassword(Exception):
    pass


@dataclass
class Ctx:
    request: Request
    vault: Vault
    user: User | None
    session_id: str | None = None
    csrf: str = ""
    via_token: bool = False
    scopes: list[str] = field(default_factory=list)
    lang: str = "pl"
    must_change: bool = False
    rule: Any = None  # the gate's Rule this request passed (kustosz.web.gate)

    @property
    def client(self) -> str:
        """The address the allow-list, the login throttle and the access records use: the
        TCP peer, or — only when the peer is a trusted proxy — what it forwarded for."""
        peer = self.request.client.host if self.request.client else ""
        proxies = getattr(self.request.app.state, "trusted_proxies", ())
        if not proxies:
            return peer
        return client_address(peer, self.request.headers.getlist("x-forwarded-for"), proxies)

    def may(self, perm: str) -> bool:
        return self.user is not None and bool(set(self.user.roles) & PERMS[perm])

    def need(self, perm: str) -> User:
        self.need_user()
        if not self.may(perm):
            raise Forbidden()
        return self.user

    def need_user(self) -> User:
        if self.user is None:
            raise NeedLogin()
        if self.must_change:
            raise MustChangePassword()
        return self.user

    def _(self, text: str, **values: Any) -> str:
        return translate(text, self.lang, **values)

    def said(self, exc: BaseException) -> str:
        """A domain error in the reader's language (kustosz.errors.for_people)."""
        return for_people(exc, self.lang)


def vault_of(request: Request) -> Vault:
    return request.app.state.vault


def context(request: Request, touch: bool = True) -> Ctx:
    """The dependency every route takes: resolves the caller once per request. ``touch``
    False: a page's own background request, which does not count as the person's activity
    (gate.Rule.background)."""
    vault = vault_of(request)
    lang = request.cookies.get(LANG_COOKIE, "pl")
    lang = lang if lang in LANGS else "pl"
    auth = request.headers.get("authorization", "")
    now = datetime.now(UTC)
    if auth.lower().startswith("bearer "):
        with vault.transaction() as s:
            found = tokens.resolve(s, auth[7:], now)
            if found is None:
                return Ctx(request, vault, None, lang=lang, via_token=True)
            return Ctx(request, vault, found.user, via_token=True,
                       scopes=list(found.row.scopes), lang=lang,
                       must_change=accounts.needs_new_password(s, found.user))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with vault.transaction() as s:
            found = accounts.session_for(s, token, now, touch=touch)
            if found is not None:
                row, user = found
                return Ctx(request, vault, user, session_id=row.id, csrf=row.csrf, lang=lang,
                           must_change=accounts.needs_new_password(s, user))
    return Ctx(request, vault, None, lang=lang)


async def check_csrf(request: Request, ctx: Ctx) -> None:
    """Every state-changing request from a browser carries the session's CSRF token."""
    if ctx.via_token:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if "form" in ctype:
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
    expected = ctx.csrf if ctx.user is not None else request.cookies.get(PRE_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise BadCsrf()


def secure_cookies(request: Request) -> bool:
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict",
                        secure=secure_cookies(request), max_age=max_age, path=cookie_path())


def delete_cookie(response: Response, name: str) -> None:
    """The cookie gone from where `set_cookie` put it (its path must be the same)."""
    response.delete_cookie(name, path=cookie_path())


def pre_token(request: Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def local(value: datetime | None, vault: Vault, fmt: str = "%d.%m.%Y %H:%M:%S") -> str:
    if value is None:
        return ""
    return value.astimezone(vault.policy.timezone).strftime(fmt)


def span_pl(start: datetime, end: datetime, tz: Any, seconds: bool | None = None) -> str:
    """A period as the registers write it: "01.10.2026 14:00–16:30" within one day,
    "01.10.2026 00:00 – 22.11.2026 23:59" across days (the end's date is never left out).
    With the seconds when either end falls within a minute (a period asked to the second
    would otherwise read "11:49–11:49"), or when ``seconds`` says so."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if seconds is None:
        seconds = any(t.second or t.microsecond for t in (a, b))
    clock = "%H:%M:%S" if seconds else "%H:%M"
    if a.date() == b.date():
        return f"{a.strftime('%d.%m.%Y ' + clock)}–{b.strftime(clock)}"
    return f"{a.strftime('%d.%m.%Y ' + clock)} – {b.strftime('%d.%m.%Y ' + clock)}"


def page(ctx: Ctx, template: str, status_code: int = 200, **data: Any) -> HTMLResponse:
    data.setdefault("form", {})
    data.setdefault("errors", {})
    # A form sent back with its errors, or a refusal of the page's own (issue 50 M3): base.html
    # puts the summary first in the content, "Błąd: " in the title, and its script focuses it.
    data.setdefault("form_failed", bool(data["errors"])
                    or (bool(data.get("error")) and status_code >= 400))
    return TEMPLATES.TemplateResponse(ctx.request, template, {
        "ctx": ctx, "user": ctx.user, "csrf": ctx.csrf, "_": ctx._, "vault": ctx.vault,
        "office": ctx.vault.policy.office_name, "http_status": status_code,
        "local": lambda v, f="%d.%m.%Y %H:%M:%S": local(v, ctx.vault, f),
        "kept_until": lambda v: kept_until(v, ctx.vault.policy),
        "recorder_notes": lambda: _recorder_notes(ctx),
        "onvif_notes": lambda: _onvif_notes(ctx),
        "printed": lambda name: _printed(ctx, name),
        "span": lambda a, b, seconds=None: span_pl(a, b, ctx.vault.policy.timezone, seconds),
        **data},
        status_code=status_code)


SERVER_OPERATOR = "operator serwera (wiersz poleceń)"


def person_pl(session: Any, name: str | None) -> str:
    """A user as pages name him: display name and title (access.users.printed), never the
    login; an actor with no account ("demo", "cli:root": the server's command line) as the
    server's operator; "" for no one."""
    if not name:
        return ""

    if session.execute(select(User.id).where(User.name == name)).first() is None:
        return SERVER_OPERATOR
    return printed(session, name)


def _printed(ctx: Ctx, name: str | None) -> str:
    if not name:
        return ""
    with ctx.vault.reading() as s:
        return person_pl(s, name)


def _recorder_notes(ctx: Ctx) -> dict[int, str]:
    """The recorders' state in Polish words for the page (cameras.register.recorder_notes)."""

    with ctx.vault.reading() as s:
        return recorder_notes(s, ctx.vault.policy)


def _onvif_notes(ctx: Ctx) -> dict[int, list[str]]:
    """ONVIF reachability and the camera's own clock (cameras.register.onvif_notes)."""
    with ctx.vault.reading() as s:
        return onvif_notes(s, ctx.vault.config.cameras.clock_limit_s)


def error_html(request: Request, status: int, title: str, message: str,
               ctx: Ctx | None = None, headers: dict[str, str] | None = None) -> HTMLResponse:
    """error.html for a person in a browser: a Polish title and message with the usual page
    around them. ``ctx`` is the caller when known; without it (a refusal before the app runs,
    e.g. a body over the size cap) the page shows no signed-in navigation."""
    if ctx is None:
        lang = request.cookies.get(LANG_COOKIE, "pl")
        ctx = Ctx(request, vault_of(request), None, lang=lang if lang in LANGS else "pl")
    return TEMPLATES.TemplateResponse(request, "error.html", {
        "ctx": ctx, "user": ctx.user, "csrf": ctx.csrf, "_": ctx._, "form": {}, "errors": {},
        "office": ctx.vault.policy.office_name, "title": title, "message": message,
        "http_status": status}, status_code=status, headers=headers)


def redirect(url: str) -> RedirectResponse:
    """303 to ``url``, a path of the office's app: the office's prefix put before it."""
    return RedirectResponse(at(url), status_code=303)


# Flash messages travel in the address after a redirect; each carries an HMAC, so a link
# from outside cannot put its own words into an office page ("call this number…").
_FLASH_KEY = secrets.token_bytes(32)


def _flash_sig(message: str) -> str:
    return hmac.new(_FLASH_KEY, message.encode("utf-8"), "sha256").hexdigest()[:32]


def flash_url(url: str, message: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}msg={quote(message)}&sig={_flash_sig(message)}"


def flash_of(ctx: Ctx) -> str | None:
    """The flash message of this address, when Kustosz itself made it."""
    message = ctx.request.query_params.get("msg")
    sent = ctx.request.query_params.get("sig", "")
    if not message or not hmac.compare_digest(sent, _flash_sig(message)):
        return None
    return message


def api_error(status: int, message: str, field_name: str | None = None) -> JSONResponse:
    detail: dict[str, Any] = {"message": message}
    if field_name:
        detail["field"] = field_name
        detail["loc"] = ["body", field_name]
    return JSONResponse({"detail": [detail] if field_name else message}, status_code=status)


def paper_answer(ctx: Ctx, build: Callable[[Any], tuple[str, dict[str, Any]]], stem: str,
                 refused: Callable[[KustoszError], Response]) -> Response:
    """A custody document as an inline PDF named ``stem``: ``build(session)`` gives its
    template and data; a KustoszError (no such copy, nothing to print yet) goes to
    ``refused`` — a page for the browser routes, JSON for the API's."""

    try:
        with ctx.vault.reading() as s:
            name, data = build(s)
    except KustoszError as exc:
        return refused(exc)
    pdf = render(name, data, data_root=ctx.vault.root)
    filename = stem.replace("/", "-")
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'})

