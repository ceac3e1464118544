"""The web of an installation (issue 67): every office's own app (web.app.create_app) mounted
at /o/<slug>/ in one ASGI app, /static shared, and at `/` a page naming the offices with a
link to each one's sign-in — nothing of any office's data.

Why a path prefix (docs/design.md, "Installations"): a cookie naming the office would make two
tabs of one person in two offices share it, the second silently acting in the wrong office; a
host name per office needs DNS and a certificate name each. Under a prefix each office's
session cookie has Path=/o/<slug>/ (web.prefix.cookie_path): a browser sends office B nothing
of office A's sign-in, and A's media tokens are rows of A's database, unknown to B's.

An office whose vault could not be opened (its kustosz.toml refused, its database role
refused) is that office's outage alone: its line on `/` says it is not served, its addresses
answer 503, and the other offices are served as ever."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kustosz.collation import polish_key
from kustosz.vault import Vault
from kustosz.web.app import create_app
from kustosz.web.common import TEMPLATES
from kustosz.web.security_headers import SecurityHeaders
from kustosz.web.tls import Network, Tls

log = logging.getLogger(__name__)
PREFIX = "/o"


@dataclass(frozen=True)
class OfficeLink:
    """An office as the installation's pages name it: its slug, its name from its preset
    (the slug when its preset could not be read) and whether it is served."""

    slug: str
    name: str
    served: bool = True

    @property
    def root(self) -> str:
        return f"{PREFIX}/{self.slug}"


@dataclass(frozen=True)
class Switcher:
    """What an office's page header says of the installation: its name, which office this
    page acts for, and the way to the others (a browser sends each office only its own
    cookie, so a page cannot know where else the person is signed in: it links to all)."""

    installation: str
    here: str
    offices: tuple[OfficeLink, ...] = field(default_factory=tuple)

    @property
    def others(self) -> list[OfficeLink]:
        return [o for o in self.offices if o.slug != self.here and o.served]


@dataclass
class Office:
    """One office to serve: its vault, or why it could not be opened."""

    slug: str
    vault: Vault | None
    name: str = ""
    refused: str = ""  # for the server's log; the public page says only "not served"


def office_app(vault: Vault, tls: Tls | None = None, trusted_proxies: tuple[Network, ...] = (),
               secure_cookies: bool = False) -> Any:
    """One office's FastAPI app as `kustosz serve` configures it."""
    app = create_app(vault, secure_cookies=secure_cookies or tls is not None)
    app.state.trusted_proxies = trusted_proxies
    app.state.tls_self_signed = bool(tls and tls.self_signed)
    return app


def _root_page(name: str, links: tuple[OfficeLink, ...]) -> Any:
    async def listing(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(request, "installation.html", {
            "installation": name, "offices": links})
    return listing


def _not_served(office: OfficeLink) -> Any:
    async def answer(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(request, "installation_office_down.html", {
            "office": office}, status_code=503, headers={"Retry-After": "60"})
    return answer


def _to_slash(target: str) -> Any:
    async def answer(request: Request) -> Response:
        return RedirectResponse(target, status_code=308)
    return answer


NO_SUCH_PAGE = ('<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>Nie ma takiej '
                'strony</title><link rel="stylesheet" href="/static/kustosz.css"></head><body>'
                '<main><section class="card narrow"><h1>Nie ma takiej strony</h1><p>Sprawdź '
                'adres albo wybierz urząd z <a href="/">listy urzędów instalacji</a>.</p>'
                '<p class="hint" lang="en">No such page: check the address or choose an '
                'office from the list.</p></section></main></body></html>')


async def _no_such_page(request: Request, exc: Exception) -> Response:
    # an address outside every office (/o/<unknown>/…): a page in words, not "Not Found"
    return HTMLResponse(NO_SUCH_PAGE, status_code=404)


def create_installation_app(name: str, offices: list[Office],
                            tls: Tls | None = None,
                            trusted_proxies: tuple[Network, ...] = (),
                            secure_cookies: bool = False) -> Starlette:
    """The installation's ASGI app. ``offices``: every office, opened or not, by slug."""
    # in the order of their names, as a person looks one up (Polish alphabet)
    ordered = sorted(offices, key=lambda o: (polish_key(o.name or o.slug), o.slug))
    links = tuple(OfficeLink(o.slug, o.name or o.slug, o.vault is not None) for o in ordered)
    apps: dict[str, Any] = {}
    routes: list[BaseRoute] = [Route("/", _root_page(name, links), methods=["GET", "HEAD"])]
    static = resources.files("kustosz.web") / "static"
    routes.append(Mount("/static", StaticFiles(directory=str(static)), name="static"))
    for link, office in zip(links, ordered, strict=True):
        routes.append(Route(link.root, _to_slash(link.root + "/")))
        if office.vault is None:
            log.error("office %s is not served: %s", office.slug, office.refused)
            routes.append(Mount(link.root, routes=[Route("/{rest:path}", _not_served(link))]))
            continue
        app = office_app(office.vault, tls, trusted_proxies, secure_cookies)
        app.state.switcher = Switcher(name, office.slug, links)
        apps[office.slug] = app
        routes.append(Mount(link.root, app))
    whole = Starlette(routes=routes, exception_handlers={404: _no_such_page})
    whole.state.office_apps = apps
    whole.add_middleware(SecurityHeaders)
    return whole
