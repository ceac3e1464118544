"""An installation of two offices served by the real web server (uvicorn on a free port), for
the tests of its web: the town hall and its MOPS, each with its own users, Polish letters and
an emoji in their names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from tests.installation.install_helpers import Install
from tests.support.onvif_camera import free_port
from tests.web.web_helpers import PASSWORD, user

from kustosz import installation_layout as layout
from kustosz.cli.serve_installation import open_offices
from kustosz.vault import Vault
from kustosz.web.installation_app import create_installation_app
from kustosz.web.server import WebServer

GMINA = "Gmina Żółkiewka — wspólna obsługa"
TOWN = "Urząd Gminy Żółkiewka 🏛️"
MOPS = "Miejski Ośrodek Pomocy Społecznej w Żółkiewce"


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    a: str  # the town hall's slug
    b: str  # the MOPS's slug
    vaults: dict[str, Vault]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=60)


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(c: httpx.Client, slug: str, name: str, password: str = PASSWORD) -> httpx.Response:
    page = c.get(f"/o/{slug}/login")
    assert page.status_code == 200, page.text
    return c.post(f"/o/{slug}/login", data={"username": name, "password": password,
                                            "csrf": csrf_in(page.text), "next": "/"})


def addresses(html: str) -> list[str]:
    """Every href, src, action and data-…-url-like value of a page that names a path."""
    return re.findall(r'(?:href|src|action|formaction|hx-get|hx-post|data-[a-z-]+)="(/[^"]*)"',
                      html)


@contextmanager
def served(inst: Install) -> Iterator[Served]:
    inst.init(GMINA)
    a = inst.add("urzad", TOWN)
    b = inst.add("mops", MOPS)
    offices = open_offices(inst.root, "test")
    vaults = {o.slug: o.vault for o in offices if o.vault is not None}
    try:
        user(vaults[a], "anna", ["custodian"], display="Anna Żółtowska")
        user(vaults[b], "bartek", ["custodian"], display="Bartłomiej Ćwik")
        app = create_installation_app(layout.read(inst.root).installation.name, offices)
        web = WebServer(None, "127.0.0.1", free_port(), app=app)
        web.start()
        try:
            yield Served(web.url.rstrip("/"), a, b, vaults)
        finally:
            web.stop()
    finally:
        for vault in vaults.values():
            vault.close()


def cookie_of(response: httpx.Response, name: str) -> tuple[str, str]:
    """(value, the Set-Cookie line) of the cookie ``name`` the answer sets."""
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{name}="):
            return line.split(";", 1)[0].split("=", 1)[1], line
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")
