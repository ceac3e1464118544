"""The headers every answer carries unless it set its own (CSP, framing, sniffing, referrer,
no caching outside /static/, HSTS under TLS).

A plain ASGI middleware, not Starlette's `BaseHTTPMiddleware`: that one re-streams every
answer's body through a memory stream and a task of its own, and passes on only body
messages, so a stored file could not go out by sendfile (web/zerocopy.py) behind it. This
one changes the start message and hands every other message on as it is."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kustosz.web.prefix import route_path

CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")
HSTS = "max-age=31536000"


def defaults(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The headers an answer to ``scope`` gets where it has none of that name."""
    found = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
             (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    if not route_path(scope).startswith("/static/"):
        found.append((b"cache-control", b"no-store"))
    if scope.get("scheme") == "https":  # a browser remembers it: only ever under TLS
        found.append((b"strict-transport-security", HSTS.encode()))
    return found


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _value in headers}
                headers += [(n, v) for n, v in defaults(scope) if n not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
