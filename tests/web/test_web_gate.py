"""The one gate (issue 11, DESIGN invariant 2, R3.2–R3.5): every route of the app declares what
it needs, and an API token is served nowhere beyond its scope. The matrices are generated from
the app's own route list, so a new route is covered the day it is added."""

from __future__ import annotations

import re
from itertools import combinations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, authorise, client, session_for, user

from kustosz.access import tokens
from kustosz.db.custody import User
from kustosz.vault import Vault
from kustosz.web import create_app
from kustosz.web.app import iter_routes
from kustosz.web.common import Ctx
from kustosz.web.gate import SCOPES, check_declared, gate, rule_of

ALL_ROLES = ["administrator", "dpo", "approver", "operator", "viewer", "auditor", "custodian",
             "commission", "supervisor"]
# Every single scope, nothing at all is not possible (a token needs one), and all of them.
SCOPE_SETS: list[tuple[str, ...]] = [(s,) for s in SCOPES] + [tuple(SCOPES)] + \
    [c for c in combinations(SCOPES, 2) if "media" in c]


def routes(vault: Vault) -> list[APIRoute]:
    app = create_app(vault)
    found = [r for r in iter_routes(list(app.routes)) if isinstance(r, APIRoute)]
    assert len(found) > 50, "the app's route list was not read"
    return found


def concrete(path: str) -> str:
    """A URL for a route pattern; the gate answers before any parameter is looked at."""
    return re.sub(r"\{[^}]+\}", "1", path)


def make_token(vault: Vault, name: str, scopes: tuple[str, ...]) -> str:
    with vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        token, _ = tokens.create(s, u, "test", list(scopes), 30, SCOPES)
    return token


def test_every_route_declares_exactly_one_rule(sqlite_vault: Vault) -> None:
    """The app's own route list: no route without a declared permission and token scope."""
    undeclared = [f"{r.methods} {r.path}" for r in routes(sqlite_vault) if rule_of(r) is None]
    assert undeclared == []


def test_an_undeclared_route_stops_the_app() -> None:
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {"material": "leaked"}

    @router.get("/declared")
    def declared(ctx: Ctx = gate()) -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(RuntimeError, match="/forgotten"):
        check_declared(iter_routes(list(app.routes)))


def test_no_route_serves_a_token_beyond_its_scope(material: Material) -> None:
    """Token × scope × route, on SQLite and PostgreSQL: a token of a person holding every role
    is refused (403, nothing changed) wherever its scope is not the route's declared one, and
    HTML routes refuse tokens altogether."""
    vault = material.vault
    user(vault, "wszystko", ALL_ROLES)
    authorise(vault, "wszystko", ["live", "playback", "listening", "export"],
              kinds=["camera", "phone"], by="burmistrz")
    c = client(vault)
    served_beyond = []
    checked = 0
    all_routes = routes(vault)
    tokens_by_set = {scopes: make_token(vault, "wszystko", scopes) for scopes in SCOPE_SETS}
    before = snapshot(vault)["tables"]
    for scopes, token in tokens_by_set.items():
        headers = {"Authorization": f"Bearer {token}"}
        for route in all_routes:
            rule = rule_of(route)
            assert rule is not None
            for method in sorted(route.methods - {"HEAD"}):
                r = c.request(method, concrete(route.path), headers=headers, json={})
                allowed = rule.scope is not None and rule.scope in scopes
                refused = r.status_code == 403 and "token" in r.text
                checked += 1
                if allowed and refused:
                    pytest.fail(f"{method} {route.path} refused a token with {scopes}")
                if not allowed and not refused:
                    served_beyond.append((scopes, method, route.path, r.status_code))
    assert served_beyond == []
    assert checked > 300
    # Only the allowed GETs ran (and at most touched a token's last use): no row changed
    # by any refused request; material routes with a made-up token left nothing either.
    after = snapshot(vault)["tables"]
    for table in before:
        if table in ("access_api_tokens", "audit_log"):
            continue
        assert after[table] == before[table], table


def test_read_token_opens_no_material_and_changes_nothing(sqlite_material: Material) -> None:
    """The finding: a `read` token opened viewing sessions and downloaded video."""
    vault = sqlite_material.vault
    user(vault, "ogladajacy", ["viewer"])
    authorise(vault, "ogladajacy", ["playback"], sources=["cam-hol"])
    c = client(vault)
    read = {"Authorization": f"Bearer {make_token(vault, 'ogladajacy', ('read',))}"}
    media = {"Authorization": f"Bearer {make_token(vault, 'ogladajacy', ('media',))}"}
    start, end = sqlite_material.window
    tz = vault.policy.timezone
    body = {"action": "playback", "source": "cam-hol", "purpose": "kontrola",
            "case_ref": "S-1", "witness": "zastepca",
            "from": start.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "to": end.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")}
    before = snapshot(vault)["tables"]
    r = c.post("/api/media/sessions", json=body, headers=read)
    assert r.status_code == 403 and "scope" in r.text
    assert snapshot(vault)["tables"]["access_viewing_sessions"] == \
        before["access_viewing_sessions"]
    r = c.post("/api/media/sessions", json=body, headers=media)
    assert r.status_code == 201, r.text
    playlist = c.get(r.json()["urls"], headers=media)
    assert playlist.status_code == 200 and "#EXTM3U" in playlist.text
    assert c.get(r.json()["urls"], headers=read).status_code == 403


def test_admin_read_token_cannot_administer_through_pages(sqlite_vault: Vault) -> None:
    """The finding: an administrator's `read` token created users, reset passwords and changed
    the allow-list through the HTML routes (which skipped CSRF for tokens)."""
    user(sqlite_vault, "admin", ["administrator"])
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    headers = {"Authorization": f"Bearer {make_token(sqlite_vault, 'admin', ('read',))}"}
    before = snapshot(sqlite_vault)["tables"]
    for path, form in [("/admin/users", {"name": "intruz", "display_name": "X",
                                         "roles": "administrator"}),
                       ("/admin/users/ania/reset", {}),
                       ("/admin/settings", {"allowlist": "0.0.0.0/0"})]:
        r = c.post(path, data=form, headers=headers)
        assert r.status_code == 403, path
        assert "hasło jednorazowe" not in r.text.lower()
    assert c.get("/admin/users", headers=headers).status_code == 403
    after = snapshot(sqlite_vault)["tables"]
    assert {k: v for k, v in after.items() if k not in ("access_api_tokens",)} == \
        {k: v for k, v in before.items() if k not in ("access_api_tokens",)}


def test_every_cookie_change_needs_the_csrf_token(sqlite_vault: Vault) -> None:
    """Every route that changes something, reached with a valid session cookie but without
    (or with a forged) CSRF token: 403 and nothing changed."""
    user(sqlite_vault, "wszystko", ALL_ROLES)
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "wszystko")
    before = snapshot(sqlite_vault)["tables"]
    changing = [r for r in routes(sqlite_vault)
                if r.methods - {"GET", "HEAD", "OPTIONS"} and not rule_of(r).public]
    assert len(changing) > 20
    for route in changing:
        for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
            for extra in ({}, {"X-CSRF-Token": "forged"}):
                r = c.request(method, concrete(route.path), headers=extra,
                              data={"csrf": "forged"} if extra else {})
                assert r.status_code == 403, (method, route.path, r.status_code)
    assert snapshot(sqlite_vault)["tables"] == before


def test_tokens_refused_on_html_routes_even_with_every_scope(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "wszystko", ALL_ROLES)
    c = client(sqlite_vault)
    headers = {"Authorization": f"Bearer {make_token(sqlite_vault, 'wszystko', SCOPES)}"}
    html = [r for r in routes(sqlite_vault) if rule_of(r).scope is None]
    assert any(r.path == "/" for r in html)
    for route in html:
        for method in sorted(route.methods - {"HEAD"}):
            r = c.request(method, concrete(route.path), headers=headers)
            assert r.status_code == 403 and "token" in r.text, (method, route.path)
