"""What keeps bad requests from becoming server errors or stored garbage: a cap on the body
size (checked before the body is read) and the safety net for ids the database cannot hold.

No form or JSON body of the app comes near the cap (the longest free-text field is a few
thousand characters, kustosz.limits); a 20 MB body is refused with 413 before a byte of it is
parsed. Starlette caps each multipart part at 1 MB but not an urlencoded form, which is what
the pages post, so the cap is here, for every method and content type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, StatementError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kustosz.web.common import error_html
from kustosz.web.outage import DatabaseAway
from kustosz.web.prefix import route_path

MAX_BODY = 1024 * 1024  # bytes of one request body
TOO_LARGE_PL = ("Żądanie jest za duże (najwyżej 1 MB). Skróć wpisany tekst i wyślij "
                "formularz ponownie.")


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body over ``limit``: at once from Content-Length, or as soon as a chunked
    body passes it (the app never sees the rest)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        try:
            too_big = declared is not None and int(declared) > self.limit
        except ValueError:
            too_big = False  # the server refuses a malformed Content-Length itself
        if too_big:
            await _refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, receive, send)


def _wants_json(path: str) -> bool:
    # the same split as kustosz.web.app: the API and media URLs answer JSON, pages text
    return path.startswith(("/api/", "/media/")) and path != "/media/start"


def _page(request: Request, status: int, title: str, message: str) -> Response:
    """The Polish error page (error.html) for a person; the caller is not looked up: the
    refusal comes before the app, and a page of plain text would do as well for a robot."""

    return error_html(request, status, title, message)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    if _wants_json(route_path(scope)):
        response: Response = JSONResponse({"detail": "request body too large (limit 1 MB)"},
                                          status_code=413)
    else:
        response = _page(Request(scope), 413, "Za duże żądanie", TOO_LARGE_PL)
    response.headers["Connection"] = "close"  # the unread rest of the body is not awaited
    await response(scope, receive, send)


def _overflow(exc: BaseException) -> bool:
    """A number too large for the database (SQLite: OverflowError from the driver;
    PostgreSQL: NumericValueOutOfRange, SQLSTATE 22003)."""
    if isinstance(exc, OverflowError):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "22003"


def install(app: FastAPI) -> None:
    """The body cap, the database away answered 503, and the database-overflow safety net
    (ids are bounded in the route declarations already, kustosz.web.params: this catches
    what a new route forgets)."""
    app.add_middleware(BodyLimit)
    # The database away: a 503 with Retry-After, never a 500 and a traceback (web.outage).
    app.add_middleware(DatabaseAway)

    async def not_found(request: Request, exc: Exception) -> Response:
        wants_json = _wants_json(route_path(request.scope))
        if isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError):
            # a value, not an id, out of the database's range: e.g. a date in year 1 that
            # becomes year 0 in UTC (issue 11 re-test: a hold from 0001-01-01 gave 500)
            return JSONResponse({"detail": "a value is out of range"}, status_code=422) \
                if wants_json else _page(request, 422, "Niepoprawna wartość",
                                         "Wpisana wartość (np. data) jest poza zakresem.")
        if _overflow(exc):
            return JSONResponse({"detail": "not found"}, status_code=404) if wants_json \
                else _page(request, 404, "Nie znaleziono",
                           "Nie znaleziono — ta pozycja nie istnieje albo adres jest błędny.")
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "22001":
            # text longer than its column (PostgreSQL): a field kustosz.limits does not cover
            return JSONResponse({"detail": "a text value is too long"}, status_code=422) \
                if wants_json else _page(request, 422, "Niepoprawna wartość",
                                         "Wpisany tekst jest za długi.")
        raise exc

    handler: Any = not_found
    app.add_exception_handler(OverflowError, handler)
    app.add_exception_handler(DataError, handler)
    app.add_exception_handler(StatementError, handler)
