"""Where a link that comes back sends the browser: the language switch, the login and the
session's extension each take a `next` from the address or a form, and follow it only when
it is a path of this site.

The switch keeps the page as the browser holds it (issue 50 item 6, issue 65 item 6): its
path and whole query — the day, the zoom, a register's search with the number and the person
searched for — less a one-time flash. That query is already in the address bar and the
history; the app writes no access log and sends no Referer (Referrer-Policy: no-referrer), so
carrying it through /lang/… and back exposes nothing the page did not.

The one rule (`safe_next`) refuses, rather than repairs, whatever a browser could read as
another origin: no scheme or host, no "//" start, and no backslash, whitespace or control
character anywhere (browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil" and
"/\\t/evil" are "//evil"; Starlette's redirect happens to quote them, and the rule does not
lean on it).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.requests import Request

from kustosz.web.common import TEMPLATES
from kustosz.web.prefix import route_path

# the flash of a redirect (web/common.flash_url): shown once, never carried on
ONE_TIME = frozenset({"msg", "sig"})
# what quote() leaves of a path: its separators and RFC 3986's sub-delimiters
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this site, else the start page."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def written(path: str, query: list[tuple[str, str]]) -> str:
    """A path and its query as one address: percent-encoded, so that no letter of a name
    searched for (Polish, an emoji, a space) reads as anything but itself."""
    address = quote(path, safe=_PATH_SAFE)
    return address + ("?" + urlencode(query) if query else "")


def back_here(request: Request) -> str:
    """This page's address to come back to: a GET page's path and query (less a flash); a
    page answering a form, its path alone (the form is not sent again)."""
    query = [] if request.method != "GET" else [
        (k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True)
        if k not in ONE_TIME]
    return written(route_path(request.scope), query)


TEMPLATES.env.globals["back_here"] = back_here
