"""Robustness of the web app (issue 11, item 8): ids beyond the database's range, request
bodies of any size, free text of any length. Each answer is a 4xx that names the problem and
changes nothing — never a 500, never a record stored for ever (DESIGN invariant 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, authorise, client, session_for, user

from kustosz.db.access import ViewingSession
from kustosz.db.custody import Request as CustodyRequest
from kustosz.limits import TEXT_LIMITS
from kustosz.vault import Vault
from kustosz.web import create_app
from kustosz.web.app import iter_routes
from kustosz.web.params import DB_INT_MAX
from kustosz.web.robust import MAX_BODY

ALL_ROLES = ["administrator", "dpo", "approver", "viewer", "auditor", "custodian",
             "commission", "operator", "supervisor"]
HUGE = (2**63, 2**64, 10**30)  # one past the database's integers, and far past


# -- ids --------------------------------------------------------------------------------------
def _integers(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            yield schema
        for value in schema.values():
            yield from _integers(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _integers(value)


def _unbounded(route: APIRoute) -> list[str]:
    """The route's int parameters and body fields a database id could overflow."""
    bad = []
    for f in [*route.dependant.path_params, *route.dependant.query_params,
              *route.dependant.body_params]:
        annotation = f.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            schema = annotation.model_json_schema()
        else:
            meta = f.field_info.metadata
            schema = TypeAdapter(Annotated[annotation, *meta] if meta else annotation) \
                .json_schema()
        for node in _integers(schema):
            if node.get("maximum", DB_INT_MAX + 1) > DB_INT_MAX or "minimum" not in node:
                bad.append(f"{sorted(route.methods)} {route.path}: {f.name}")
    return bad


def test_every_int_parameter_of_every_route_is_bounded(sqlite_web_vault: Vault) -> None:
    """One definition (kustosz.web.params) used everywhere: a route added with a bare `int`
    id fails here, before it can answer 500."""
    routes = [r for r in iter_routes(list(create_app(sqlite_web_vault).routes))
              if isinstance(r, APIRoute)]
    assert any(r.dependant.path_params for r in routes)  # the walk sees parameters at all
    assert [b for r in routes for b in _unbounded(r)] == []


def _everything(vault: Vault) -> tuple[Any, str]:
    """A client signed in as someone holding every role (so the gate lets each route through
    to its parameters) and the session's CSRF token."""
    user(vault, "wszystko", ALL_ROLES, password=None)
    c = client(vault)
    return c, session_for(vault, c, "wszystko")


def test_ids_beyond_the_database_range_are_422_not_500(material: Material) -> None:
    """Every route with an int in its path, on SQLite and PostgreSQL: 2⁶³ and more is 422
    and changes nothing; ids in bodies and forms likewise."""
    m = material
    c, csrf = _everything(m.vault)
    before = snapshot(m.vault)
    tried = 0
    for route in iter_routes(list(c.app.routes)):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        ints = [f.name for f in route.dependant.path_params
                if f.field_info.annotation is int]
        if not ints:
            continue
        for big in HUGE:
            path = route.path.replace(":path", "")
            for p in route.dependant.path_params:
                path = path.replace("{" + p.name + "}", str(big) if p.name in ints else "x")
            method = sorted(route.methods)[0]
            r = c.request(method, path, headers={"X-CSRF-Token": csrf},
                          json={} if method == "POST" else None)
            assert r.status_code in (404, 422), (method, path, r.status_code, r.text[:200])
            tried += 1
    assert tried >= 20
    for body in ({"request": 2**63}, {"request": -1}):
        r = c.post("/api/copies", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "request" in r.text
    r = c.post("/api/copies/1%2F2026/handover", json={"receiver": "KPP", "request": 2**64},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "request" in r.text
    r = c.post("/media/start", data={"csrf": csrf, "action": "listening",
                                     "recording": str(2**64), "purpose": "x",
                                     "case_ref": "OR.1"})
    assert r.status_code == 422 and "Nie ma takiego numeru" in r.text
    r = c.post("/api/media/sessions", json={"action": "listening", "recording": m.call.id,
                                            "purpose": "x", "request_id": 10**30},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "request_id" in r.text
    assert snapshot(m.vault) == before


def test_an_unbounded_id_still_gets_404_from_the_safety_net(web_vault: Vault) -> None:
    """Behind the declarations: a database overflow anywhere is a 404, on both databases
    (SQLite: OverflowError in the driver; PostgreSQL: NumericValueOutOfRange)."""
    app: FastAPI = create_app(web_vault)

    @app.get("/api/probe/{n}")
    def probe(n: int, request: Request) -> dict[str, Any]:  # no bound, on purpose
        with request.app.state.vault.reading() as s:
            return {"found": s.get(CustodyRequest, n) is not None}

    from fastapi.testclient import TestClient

    c = TestClient(app)
    assert c.get("/api/probe/5").json() == {"found": False}
    r = c.get(f"/api/probe/{2**63}")
    assert r.status_code == 404 and r.json() == {"detail": "not found"}


# -- body size ------------------------------------------------------------------------------
def test_a_20_mb_form_is_refused_before_it_is_read(material: Material) -> None:
    """A 20 MB "purpose" posted as a form is 413 (Polish text) at the door: nothing parsed,
    nothing stored, nothing in the audit log."""
    m = material
    c, csrf = _everything(m.vault)
    authorise(m.vault, "wszystko", ["playback"], sources=["cam-hol"])
    before = snapshot(m.vault)
    r = c.post("/media/start", data={"csrf": csrf, "action": "playback", "source": "cam-hol",
                                     "purpose": "x" * (20 * 1024 * 1024), "case_ref": "OR.1",
                                     "witness": "zastepca"})
    assert r.status_code == 413 and "za duże" in r.text
    r = c.post("/api/media/sessions", content=json.dumps({"purpose": "x" * 2 * MAX_BODY}),
               headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"].startswith("request body too large")
    assert snapshot(m.vault) == before


def test_a_chunked_body_without_length_is_cut_at_the_cap(sqlite_web_vault: Vault) -> None:
    c = client(sqlite_web_vault)

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"username=" + b"a" * 65536

    r = c.post("/login", content=chunks(),
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


# -- free text ------------------------------------------------------------------------------
def test_a_purpose_over_the_limit_is_refused_naming_the_field_and_nothing_changes(
        material: Material) -> None:
    """Just over the limit: 422 with the field and the limit in Polish, for the form and the
    API; exactly at the limit it is stored whole (never cut short)."""
    m = material
    c, csrf = _everything(m.vault)
    authorise(m.vault, "wszystko", ["playback"], sources=["cam-hol"])
    limit = TEXT_LIMITS["purpose"][0]
    tz = m.vault.policy.timezone
    form = {"action": "playback", "source": "cam-hol", "case_ref": "OR.1", "witness": "zastepca",
            "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")}
    before = snapshot(m.vault)
    r = c.post("/media/start", data={"csrf": csrf, **form, "purpose": "c" * (limit + 1)})
    assert r.status_code == 422
    assert f"Pole „cel” może mieć najwyżej {limit} znaków (podano {limit + 1})" in r.text
    r = c.post("/api/media/sessions", json={**form, "purpose": "c" * (limit + 1)},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "purpose"
    r = c.post("/api/media/sessions", json={**form, "purpose": "c", "witness": "w" * 201},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "witness"
    assert snapshot(m.vault) == before
    r = c.post("/media/start", data={"csrf": csrf, **form, "purpose": "c" * limit})
    assert r.status_code == 303
    with m.vault.reading() as s:
        assert s.execute(select(ViewingSession.purpose)).scalar_one() == "c" * limit


def test_the_api_names_the_long_field(material: Material) -> None:
    m = material
    c, csrf = _everything(m.vault)
    before = snapshot(m.vault)
    hold = {"sources": ["cam-hol"], "from": m.window[0].isoformat(),
            "to": m.window[1].isoformat(), "basis": "b" * 2001}
    r = c.post("/api/holds", json=hold, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "basis"
    assert "podstawa prawna" in r.json()["detail"][0]["msg"]
    r = c.post("/api/holds", json={**hold, "basis": "b", "case_ref": "s" * 201},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "case_ref"
    assert snapshot(m.vault) == before
