"""The JSON API and the custody pages: 422 with the field named, forms that keep what was
typed, nothing half-saved; scoped tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, client, csrf_of, session_for

from kustosz.db.custody import Request
from kustosz.db.models import Hold


def _token(m: Material, c, scopes: list[str]) -> str:  # type: ignore[no-untyped-def]
    r = c.post("/api/tokens", json={"name": "skrypt", "scopes": scopes},
               headers={"X-CSRF-Token": csrf_of(m.vault, c)})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_api_holds_422_names_the_field_and_saves_nothing(sqlite_material: Material) -> None:
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    token = _token(m, c, ["custody", "read"])
    api = client(m.vault)
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=auth).status_code == 200  # records the token's use
    before = snapshot(m.vault)["tables"]
    now = datetime.now(UTC)
    good = {"sources": ["cam-hol"], "from": (now - timedelta(hours=1)).isoformat(),
            "to": now.isoformat(), "basis": "wniosek Policji"}
    for bad, field in (({**good, "basis": ""}, "basis"), ({**good, "sources": []}, "sources"),
                       ({**good, "from": "wczoraj"}, "from"),
                       ({**good, "sources": ["nie-ma"]}, "sources")):
        r = api.post("/api/holds", json=bad, headers=auth)
        assert r.status_code == 422, r.text
        assert field in r.text
    assert snapshot(m.vault)["tables"] == before
    r = api.post("/api/holds", json=good, headers=auth)
    assert r.status_code == 201
    assert any(h["id"] == r.json()["id"] for h in api.get("/api/holds", headers=auth).json())
    # a token without the scope cannot place holds; a wrong token is nobody
    read_only = _token(m, c, ["read"])
    assert api.post("/api/holds", json=good,
                    headers={"Authorization": f"Bearer {read_only}"}).status_code == 403
    assert api.get("/api/holds", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_forms_keep_what_was_typed_and_decide_a_request(sqlite_material: Material) -> None:
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "burmistrz")
    csrf = csrf_of(m.vault, c)
    before = snapshot(m.vault)["tables"]
    r = c.post("/holds", data={"csrf": csrf, "sources": "cam-hol", "from": "2026-01-01T10:00",
                               "to": "2026-01-01T09:00", "basis": "", "case_ref": "KPP/77"})
    assert r.status_code == 422
    assert "Podaj podstawę zabezpieczenia." in r.text
    assert "Koniec okresu jest przed jego początkiem." in r.text
    assert 'value="KPP/77"' in r.text and 'value="2026-01-01T10:00"' in r.text
    r = c.post("/requests", data={"csrf": csrf, "kind": "interested", "material": "video",
                                  "requester": "Jan <b>Nowak</b>", "purpose": ""})
    assert r.status_code == 422 and "Podaj cel uzyskania nagrania." in r.text
    assert "Jan &lt;b&gt;Nowak&lt;/b&gt;" in r.text
    assert snapshot(m.vault)["tables"] == before
    today = datetime.now(m.vault.policy.timezone).date().isoformat()
    r = c.post("/requests", data={
        "csrf": csrf, "kind": "authority", "material": "video", "requester": "Prokuratura",
        "received_on": today, "event_date": today, "approx_time": "00:00",
        "camera": "cam-hol", "description": "bójka", "purpose": "postępowanie"})
    assert r.status_code == 303, r.text
    req_id = int(r.headers["location"].split("/")[2].split("?")[0])
    r = c.post(f"/requests/{req_id}/decide", data={"csrf": csrf, "agree": "yes", "on": today,
                                                   "by": "burmistrz"})
    assert r.status_code == 303
    with m.vault.reading() as s:
        assert s.get(Request, req_id).status == "approved"
        assert s.execute(select(Hold).where(Hold.case_ref == f"wniosek {req_id}")).first()
    assert "wyrażam zgodę" in c.get(f"/requests/{req_id}").text


def test_camera_locations_only_for_roles_granted_them(sqlite_material: Material) -> None:
    m = sqlite_material
    from web_helpers import user

    user(m.vault, "ola", ["viewer"], password=None)
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    page = c.get("/cameras").text
    assert "cam-hol" in page and "Ratusz" not in page and "hol parter" not in page
    c2 = client(m.vault)
    session_for(m.vault, c2, "burmistrz")
    assert "Ratusz" in c2.get("/cameras").text


def test_copy_destruction_needs_two_different_members(sqlite_material: Material) -> None:
    m = sqlite_material
    from kustosz.db.custody import Copy

    with m.vault.transaction() as s:
        copy = s.execute(select(Copy)).scalar_one()
        copy.expires_at = datetime.now(UTC) - timedelta(days=1)
    first, second = client(m.vault), client(m.vault)
    session_for(m.vault, first, "komisja1")
    session_for(m.vault, second, "komisja2")
    n = m.copy_number
    r = first.post("/copies/destroy", data={"csrf": csrf_of(m.vault, first), "number": n,
                                            "confirm": "zly numer"})
    assert r.status_code == 422 and "przepisz numer" in r.text  # at the row's field
    first.post("/copies/destroy", data={"csrf": csrf_of(m.vault, first), "number": n,
                                        "confirm": n})
    again = first.post("/copies/destroy", data={"csrf": csrf_of(m.vault, first), "number": n,
                                                "confirm": n})
    with m.vault.reading() as s:
        assert s.execute(select(Copy)).scalar_one().state == "kept"
    assert again.status_code == 422 and "inny członek komisji" in again.text
    second.post("/copies/destroy", data={"csrf": csrf_of(m.vault, second), "number": n,
                                         "confirm": n})
    with m.vault.reading() as s:
        assert s.execute(select(Copy)).scalar_one().state == "destroyed"


def test_dashboard_audit_verify(sqlite_material: Material) -> None:
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "burmistrz")
    r = c.post("/audit/verify", data={"csrf": csrf_of(m.vault, c)})
    assert r.status_code == 303
    page = c.get("/").text
    assert "łańcuch nienaruszony" in page
    assert "<b>0</b><span>wniosków czekających na decyzję</span>" in page  # 0: "many"
