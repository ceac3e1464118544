"""The JSON API's custody verbs: copy, handover, destruction by two members, registers —
422 with the field named and nothing half-saved; the pages' role checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from tests.conftest import snapshot
from tests.office_day import office_today
from web_helpers import Material, signed_in, undecided_request, user

from kustosz.db.custody import Copy


def test_api_makes_a_copy_and_names_bad_fields(sqlite_material: Material) -> None:
    m = sqlite_material
    req_id = undecided_request(m)
    c = signed_in(m.vault, "informatyk", api=True)
    before = snapshot(m.vault)["tables"]
    for body, field in (({"request": 9999}, "request"), ({"request": req_id}, "request"),
                        ({"request": req_id, "by": "nikt"}, "by"),
                        ({"request": "jutro"}, "request")):
        r = c.post("/api/copies", json=body)
        assert r.status_code == 422, r.text
        assert field in r.json()["detail"][0]["loc"], r.text
    assert snapshot(m.vault)["tables"] == before
    # The custodian enters the head's decision, which was taken on paper (issue 11: only the
    # head himself records it without naming the document).
    d = c.post(f"/api/requests/{req_id}/decision",
               json={"agree": True, "on": office_today().isoformat(),
                     "by": "burmistrz", "paper_ref": "OR.0012.3.2026"})
    assert d.status_code == 201, d.text
    r = c.post("/api/copies", json={"request": req_id, "by": "burmistrz"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "by"  # not a custodian
    r = c.post("/api/copies", json={"request": req_id})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    with m.vault.reading() as s:
        assert s.execute(select(Copy).where(Copy.number == number)).scalar_one().state == "kept"
    viewer = user(m.vault, "ola", ["viewer"])
    assert viewer and signed_in(m.vault, "ola", api=True).post(
        "/api/copies", json={"request": req_id}).status_code == 403


def test_api_hands_over_a_copy(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk", api=True)
    before = snapshot(m.vault)["tables"]
    r = c.post(f"/api/copies/{m.copy_number}/handover", json={"receiver": " "})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "receiver"
    r = c.post(f"/api/copies/{m.copy_number}/handover", json={"receiver": "asp. Jan Kowalski, "
                                                              "KPP Pleszew", "request": 9999})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "request"
    assert c.post("/api/copies/NIE-MA/handover", json={"receiver": "x"}).status_code == 404
    assert snapshot(m.vault)["tables"] == before
    r = c.post(f"/api/copies/{m.copy_number}/handover",
               json={"receiver": "asp. Jan Kowalski, KPP Pleszew", "medium": "pendrive"})
    assert r.status_code == 201, r.text
    assert r.json()["number"] == m.copy_number


def test_api_destruction_needs_two_distinct_commission_members(sqlite_material: Material
                                                               ) -> None:
    m = sqlite_material
    first = signed_in(m.vault, "komisja1", api=True)
    second = signed_in(m.vault, "komisja2", api=True)
    url = f"/api/copies/{m.copy_number}/destroy"
    r = first.post(url, json={"confirm": "zły numer"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "confirm"
    # A custodian may reach custody routes but is not on the commission.
    r = signed_in(m.vault, "informatyk", api=True).post(url, json={"confirm": m.copy_number})
    assert r.status_code == 422 and "commission" in r.text
    r = first.post(url, json={"confirm": m.copy_number, "reason": "upływ terminu"})
    assert r.status_code == 200 and r.json()["destroyed"] is False, r.text
    r = first.post(url, json={"confirm": m.copy_number})  # the same member again
    assert r.status_code == 422
    with m.vault.reading() as s:
        assert s.execute(select(Copy.state).where(Copy.number == m.copy_number)).scalar_one() \
            == "kept"
    r = second.post(url, json={"confirm": m.copy_number})
    assert r.status_code == 200 and r.json()["destroyed"] is True and \
        r.json()["state"] == "destroyed", r.text


def test_api_registers_csv_pdf_and_bad_input(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "burmistrz", api=True)
    today = datetime.now(m.vault.policy.timezone).date()
    q = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    r = c.get("/api/registers/copies", params={**q, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert m.copy_number in r.text
    r = c.get("/api/registers/disclosures", params={**q, "format": "pdf"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    for params, field, kind in (({**q, "from": "wczoraj"}, "from", "copies"),
                                ({**q, "to": "2000-01-01"}, "to", "copies"),
                                ({**q, "format": "docx"}, "format", "copies"),
                                (q, "kind", "wszystko")):
        r = c.get(f"/api/registers/{kind}", params=params)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    user(m.vault, "ola", ["viewer"])
    outsider = signed_in(m.vault, "ola", api=True)
    assert outsider.get("/api/registers/copies", params=q).status_code == 403
