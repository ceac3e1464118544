"""The database away while a request is handled (issue 27): 503 with Retry-After, not a crash.

Every request that needs the database (who is asking, what the page shows, the access record
of every media byte) fails when it is cut or silent; the engine bounds each wait
(kustosz.db.deadline: connect_timeout, a deadline for every answer), so the failure comes
within that time. Caught here, around the whole app: a person gets the Polish page "Baza
danych jest niedostępna" (English through the site's language switch, as every page), the API
and media routes an RFC 9457 problem in JSON, /metrics a line of text; each with Retry-After.
The log gets one warning a minute with the count, not a traceback per request.

The gate's rule is unchanged by this: media bytes go out only after the transaction holding
the access record committed (web.media.guarded); a database that is away fails that commit
(or the caller's lookup before it), the exception lands here, and the answer is this 503 —
never the media.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kustosz.db.outage import is_database_away
from kustosz.web.common import error_html
from kustosz.web.prefix import route_path

log = logging.getLogger(__name__)
RETRY_AFTER_S = 30
LOG_EVERY_S = 60.0
TITLE_PL = "Baza danych jest niedostępna"
MESSAGE_PL = ("Kustosz nie może teraz połączyć się ze swoją bazą danych, więc tej strony nie da "
              "się wyświetlić. Spróbuj ponownie za chwilę. Jeśli to potrwa dłużej, powiadom "
              "administratora systemu.")
DETAIL = "the database is unavailable; try again later"


def _kind(path: str) -> str:
    if path == "/metrics":
        return "text"
    # the same split as kustosz.web.app: the API and media URLs answer JSON, pages HTML
    if path.startswith(("/api/", "/media/")) and path != "/media/start":
        return "json"
    return "html"


def answer(scope: Scope) -> Response:
    """The 503 for this request."""
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    kind = _kind(route_path(scope))
    if kind == "json":
        return JSONResponse({"type": "about:blank", "title": "Service Unavailable",
                             "status": 503, "detail": DETAIL, "detail_pl": TITLE_PL + ".",
                             "retry_after": RETRY_AFTER_S}, status_code=503,
                            media_type="application/problem+json", headers=headers)
    if kind == "text":
        return PlainTextResponse(DETAIL + "\n", status_code=503, headers=headers)

    # No caller looked up (that needs the database): the page without signed-in navigation.
    return error_html(Request(scope), 503, TITLE_PL, MESSAGE_PL, headers=headers)


class DatabaseAway:
    """ASGI middleware: an exception that `is_database_away` becomes `answer`; any other
    goes on as before. When the response had already begun (a stream), nothing more can be
    said: the connection is closed and the warning counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._since = 0  # refused since the last warning
        self._logged = -LOG_EVERY_S

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if not is_database_away(exc):
                raise
            self._note(route_path(scope), exc)
            if not started:
                await answer(scope)(scope, receive, send)

    def _note(self, path: str, exc: BaseException) -> None:
        with self._lock:
            self._since += 1
            now = time.monotonic()
            if now - self._logged < LOG_EVERY_S:
                return
            count, self._since, self._logged = self._since, 0, now
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.warning("the database is unavailable: %d request(s) answered 503 since the last "
                    "note (latest %s: %s)", count, path, first[:300])
