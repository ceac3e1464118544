"""The app factory: `create_app(vault)` gives the FastAPI app `kustosz serve` runs."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kustosz.errors import NotFound
from kustosz.ingest.camera.live_relay import Relays
from kustosz.vault import Vault
from kustosz.web import (
    accessibility,
    admin,
    alarms_live,
    alert_settings,
    api,
    api_cameras,
    api_custody,
    auth,
    calls,
    cameras_find,
    cameras_page,
    employees,
    first_day,
    jobs_pages,
    live_state,
    media_downloads,
    media_live_stream,
    media_live_sub,
    media_playlists,
    media_start,
    media_streams,
    media_view,
    metrics,
    monitoring,
    pages,
    reports_pages,
    requests_pages,
    residual_pages,
    robust,
    subject_review_pages,
    support_pages,
    tokens,
)
from kustosz.web.common import (
    TEMPLATES,
    BadCsrf,
    Forbidden,
    MustChangePassword,
    NeedLogin,
    context,
    error_html,
    redirect,
)
from kustosz.web.gate import TokenRefused, check_declared
from kustosz.web.prefix import RootPath, route_path
from kustosz.web.security_headers import (  # noqa: F401 - CSP, HSTS: named here by others
    CSP,
    HSTS,
    SecurityHeaders,
)


def _wants_json(request: Request) -> bool:
    path = route_path(request.scope)
    return path.startswith(("/api/", "/media/")) and path != "/media/start"


NO_PAGE_PL = "Sprawdź, czy w adresie nie ma literówki, albo wróć do pulpitu."
BAD_ADDRESS_PL = ("Adres zawiera niepoprawną wartość (np. litery tam, gdzie powinien być "
                  "numer). Sprawdź adres albo wróć do pulpitu.")
BAD_FORM_PL = ("Formularz zawiera niepoprawną wartość. Wróć, odśwież stronę i spróbuj "
               "ponownie.")


NOT_ALLOWED_PL = ("Pod tym adresem nie można wykonać tej operacji (np. adres formularza "
                  "otwarto bezpośrednio). Wróć do pulpitu i skorzystaj z przycisków na stronie.")
EXPIRED_FORM_PL = ("Formularz wygasł — odśwież stronę i wyślij go ponownie. (Formularz nie "
                   "zawierał ważnego znacznika sesji: strona była otwarta zbyt długo, "
                   "nastąpiło wylogowanie albo formularz nie pochodzi z tej strony.)")
REQUEST_FAILED_PL = "Nie można obsłużyć tego żądania. Wróć do pulpitu i spróbuj ponownie."


def error_page(request: Request, status: int, title: str, message: str,
               headers: dict[str, str] | None = None) -> Response:
    """error.html for a person in a browser: Polish title and message, the usual navigation."""
    return error_html(request, status, title, message, context(request), headers)


def create_app(vault: Vault, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(title="Kustosz", version="0.1.0",
                  description="The monitoring vault of a public office: JSON API.",
                  # Swagger UI would load its scripts from a CDN: offices may have no internet,
                  # and the CSP forbids it. The schema itself is served.
                  docs_url=None, openapi_url="/api/openapi.json", redoc_url=None)
    app.state.vault, app.state.secure_cookies = vault, secure_cookies
    # live view from cameras' sub-streams (issue 34): started by an authorised live session,
    # stopped by WebServer.stop (and each one after IDLE_S unwatched)
    app.state.live_relays = vault and Relays(vault.root, media_live_sub.unreadable_alert(vault))
    static = resources.files("kustosz.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (auth, media_playlists, media_streams, media_downloads, media_start,
                   media_view, media_live_sub, media_live_stream, monitoring, calls, pages,
                   requests_pages, admin, employees, tokens, api, api_custody, api_cameras,
                   metrics, alert_settings, jobs_pages, subject_review_pages, residual_pages,
                   first_day, accessibility, cameras_find, cameras_page, reports_pages,
                   alarms_live, live_state, support_pages):
        app.include_router(module.router)
    check_declared(iter_routes(list(app.routes)))
    robust.install(app)  # body size cap, ids beyond the database's range

    # outermost: every answer, a refusal of the body cap or the database's absence too
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RootPath)  # outermost: the office's prefix for all (web.prefix)

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, _exc: NeedLogin) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "not authenticated"}, status_code=401)
        return redirect(f"/login?next={route_path(request.scope)}")

    @app.exception_handler(MustChangePassword)
    async def must_change(request: Request, _exc: MustChangePassword) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "the one-time password must be changed first"},
                                status_code=403)
        return redirect("/account/password")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "forbidden"}, status_code=403)
        ctx = context(request)
        return TEMPLATES.TemplateResponse(request, "error.html", {
            "ctx": ctx, "user": ctx.user, "csrf": ctx.csrf, "_": ctx._, "form": {},
            "errors": {}, "office": vault.policy.office_name, "message": exc.message},
            status_code=403)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        # a row named in the address that does not exist (or no longer does): never a 500
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return error_page(request, 404, "Nie znaleziono",
                          "Nie znaleziono — ta pozycja nie istnieje albo adres jest błędny.")

    @app.exception_handler(StarletteHTTPException)
    async def no_such_page(request: Request, exc: StarletteHTTPException) -> Response:
        # a mistyped address or a method the address does not take: a Polish page for a
        # person, FastAPI's JSON for the API and media
        if _wants_json(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        if exc.status_code == 404:
            return error_page(request, 404, "Nie ma takiej strony", NO_PAGE_PL)
        if exc.status_code == 405:
            return error_page(request, 405, "Niedozwolona operacja", NOT_ALLOWED_PL,
                              headers=exc.headers)
        return error_page(request, exc.status_code, "Błąd żądania", REQUEST_FAILED_PL,
                          headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_value(request: Request, exc: RequestValidationError) -> Response:
        # the API keeps FastAPI's 422 body: its schema is in the OpenAPI document
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        in_address = all((e.get("loc") or ("body",))[0] in ("path", "query")
                         for e in exc.errors())
        return error_page(request, 422, "Niepoprawna wartość",
                          BAD_ADDRESS_PL if in_address else BAD_FORM_PL)

    @app.exception_handler(TokenRefused)
    async def token_refused(request: Request, exc: TokenRefused) -> Response:
        return JSONResponse({"detail": exc.message}, status_code=403)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _exc: BadCsrf) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "CSRF token missing or wrong"}, status_code=403)
        return error_page(request, 403, "Formularz wygasł", EXPIRED_FORM_PL)

    return app


def iter_routes(routes: list) -> list:  # type: ignore[type-arg]
    """Every route of the app, flattened (FastAPI keeps included routers as wrappers)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            out.extend(iter_routes(list(inner.routes)))
        else:
            out.append(r)
    return out
