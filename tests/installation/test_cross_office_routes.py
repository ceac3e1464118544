"""The cross-office attack suite (issue 67 item 3), generated from the office app's own route
list so that a route added tomorrow is attacked too: office A's signed-in session (its cookie
copied by hand under B's path, past the browser's path rule), A's CSRF token, and A's API token
holding every scope, sent to every route and method of office B — pages, API, media, the
events' SSE, CSV registers, the camera search, jobs, metrics. Nothing of B answers, nothing of
B changes. Real HTTP against the installation's one server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from tests.conftest import snapshot
from tests.installation.install_helpers import Install
from tests.installation.web_install import Served, cookie_of, csrf_in, login, served
from tests.web.web_helpers import user

from kustosz.access import tokens
from kustosz.db.custody import User
from kustosz.web import create_app
from kustosz.web.app import iter_routes
from kustosz.web.common import SESSION_COOKIE
from kustosz.web.gate import SCOPES

B_SECRET = "Bartłomiej Ćwik"  # B's person: no answer to A's credentials may name him
REFUSED = {302, 303, 400, 401, 403, 404, 405, 422}


@pytest.fixture
def web(inst: Install) -> Iterator[Served]:
    with served(inst) as made:
        yield made


def _concrete(path: str) -> str:
    # ids that exist in B as well as in A: 1 is every office's first row
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(web: Served) -> list[tuple[str, str]]:
    """(method, address) of every route of an office's app."""
    app = create_app(web.vaults[web.b])
    found = [(m, _concrete(r.path)) for r in iter_routes(list(app.routes))
             if isinstance(r, APIRoute) for m in sorted(r.methods - {"HEAD"})]
    assert len(found) > 100, "the office app's route list was not read"
    return found


def _a_token(web: Served) -> str:
    vault = web.vaults[web.a]
    with vault.transaction() as s:
        anna = s.execute(select(User).where(User.name == "anna")).scalar_one()
        token, _ = tokens.create(s, anna, "atak", list(SCOPES), 30, SCOPES)
    return token


def _b_state(web: Served) -> dict[str, object]:
    state = snapshot(web.vaults[web.b])
    return {"tables": state["tables"], "head": state["head"], "files": state["files"]}


def test_every_route_of_b_refuses_everything_of_a(web: Served) -> None:
    user(web.vaults[web.b], "bozena", ["administrator", "dpo", "approver"],
         display="Bożena Ślęczka 🙂")
    with web.client() as c:
        session, _ = cookie_of(login(c, web.a, "anna"), SESSION_COOKIE)
        csrf = csrf_in(c.get(f"/o/{web.a}/holds").text)  # a real form token of A's session
    token = _a_token(web)
    credentials = {
        "A's cookie": {"Cookie": f"{SESSION_COOKIE}={session}"},
        "A's API token": {"Authorization": f"Bearer {token}"},
    }
    before = _b_state(web)
    answered: list[tuple[str, str, str, int]] = []
    checked = 0
    with httpx.Client(base_url=web.base, follow_redirects=False, timeout=60) as c:
        for how, headers in credentials.items():
            for method, path in _routes(web):
                url = f"/o/{web.b}{path}"
                form = {"csrf": csrf, "name": "atak", "reason": "atak"}
                r = c.request(method, url, headers=headers,
                              data=None if method == "GET" else form)
                checked += 1
                # refused, or answered only as it answers no one: A's credentials add nothing
                # (the sign-in and the accessibility statement answer anyone, /metrics this
                # machine as [web] metrics_from allows; a public page refuses a token outright)
                bare = c.request(method, url, data=None if method == "GET" else form)
                wrong = r.status_code not in REFUSED and r.status_code != bare.status_code
                if wrong or B_SECRET in r.text or "Bożena" in r.text:
                    answered.append((how, method, path, r.status_code))
                if r.status_code in (302, 303):  # B's sign-in, or a public B page (/lang)
                    assert r.headers["location"].startswith(f"/o/{web.b}/"), (how, path)
    assert checked > 200
    assert answered == [], "\n".join(map(str, answered))
    assert _b_state(web) == before  # not one row, file or audit entry of B
    # A's credentials are still A's: the attack ended nothing of A's
    with httpx.Client(base_url=web.base, follow_redirects=False, timeout=60,
                      headers={"Cookie": f"{SESSION_COOKIE}={session}"}) as c:
        assert c.get(f"/o/{web.a}/").status_code == 200


def test_an_offices_metrics_name_only_its_own_sources(web: Served) -> None:
    """Each office's /metrics is its own app's registry, read from its own database: B's
    cameras are not counted in A's scrape (both number their sources from 1)."""
    from tests.custody.custody_helpers import setup_camera

    for name in ("cam-a1", "cam-a2"):
        setup_camera(web.vaults[web.a], name)
    for name in ("cam-b1", "cam-b2", "cam-b3"):
        setup_camera(web.vaults[web.b], name)
    with web.client() as c:  # from this machine: [web] metrics_from's default
        scraped = {slug: c.get(f"/o/{slug}/metrics") for slug in (web.a, web.b)}
    for slug, count in ((web.a, 2), (web.b, 3)):
        r = scraped[slug]
        assert r.status_code == 200, r.text
        ups = [line for line in r.text.splitlines()
               if line.startswith("kustosz_source_up{") and 'kind="camera"' in line]
        assert len(ups) == count, (slug, ups)
