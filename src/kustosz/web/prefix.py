"""The office's path prefix: where its app is mounted in an installation's web (`/o/<slug>`,
kustosz.web.installation_app), empty for a single office's vault served alone.

Starlette's Mount keeps the whole path in scope["path"] and puts the prefix in
scope["root_path"] (the ASGI rule). So the app's own logic asks `route_path` (the path inside
the app: "/api/…", "/media/…") and every address it writes is `at(path)`: the templates
through the `root()` global (`href="{{ root() }}/copies"`), the redirects through
common.redirect, the API's Location headers and URLs in JSON through `at`.

The prefix is read once per request, from the scope, by `RootPath` (a plain ASGI
middleware of the office's app) into a context variable: a template rendered by a helper
that has no request at hand (an htmx fragment, an imported macro) writes the same prefix, and
a concurrent request of another office, on its own task, has its own."""

from __future__ import annotations

from contextvars import ContextVar

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

_ROOT: ContextVar[str] = ContextVar("kustosz_root_path", default="")


def root() -> str:
    """The prefix of the office this request is for: "/o/mops", or "" served alone."""
    return _ROOT.get()


def at(path: str) -> str:
    """``path`` of the office's app ("/copies/1") as the browser must ask for it. Only a path
    of this site is prefixed: "" and "#…" and anything with a scheme stay as they are."""
    if path.startswith("/") and not path.startswith("//"):
        return _ROOT.get() + path
    return path


def route_path(scope: Scope) -> str:
    """The path inside the office's app, without its prefix ("/api/x" under /o/mops/api/x)."""
    return get_route_path(scope) or "/"


def cookie_path() -> str:
    """Where the office's cookies are sent: only to its own prefix in an installation (a
    browser then sends office B nothing of office A's session), "/" served alone."""
    return f"{_ROOT.get()}/"


class RootPath:
    """Sets the context variable from the scope for the request's whole handling."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _ROOT.set(str(scope.get("root_path", "")).rstrip("/"))
        try:
            await self.app(scope, receive, send)
        finally:
            _ROOT.reset(token)
