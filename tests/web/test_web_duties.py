"""Separation of duties through the pages and the JSON API (issue 11, item 4; R3.2, R4.1,
R2.6): the same rules as the command line, each refusal shown at its field (pages) or as 422
naming the field (API), and nothing changed. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import Material, csrf_of, signed_in, undecided_request, user

from kustosz.db.custody import Copy, Decision, User


def _today(m: Material) -> str:
    return datetime.now(m.vault.policy.timezone).date().isoformat()


def test_page_refuses_self_authorisation_at_the_holder_field(material: Material) -> None:
    m = material
    user(m.vault, "sekretarz", ["approver", "viewer"], password=None)
    c = signed_in(m.vault, "sekretarz")
    before = snapshot(m.vault)
    now = datetime.now(m.vault.policy.timezone)
    r = c.post("/authorisations", data={
        "csrf": csrf_of(m.vault, c), "holder": "sekretarz", "actions": "playback",
        "sources": "cam-hol", "valid_from": now.strftime("%Y-%m-%dT%H:%M"),
        "valid_to": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 422
    holder = r.text.split('id="f-holder"')[1].split("</div>")[0]
    assert "samemu sobie" in holder
    assert snapshot(m.vault) == before


def test_api_refuses_self_authorisation_naming_the_holder(material: Material) -> None:
    m = material
    user(m.vault, "sekretarz", ["approver", "viewer"], password=None)
    c = signed_in(m.vault, "sekretarz", api=True)
    before = snapshot(m.vault)
    now = datetime.now(UTC)
    r = c.post("/api/authorisations", json={
        "holder": "sekretarz", "actions": ["playback"], "sources": ["cam-hol"],
        "valid_from": now.isoformat(), "valid_to": (now + timedelta(days=365)).isoformat()})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "holder"
    assert snapshot(m.vault) == before


def test_page_refuses_a_decision_keyed_for_the_head_without_paper(material: Material) -> None:
    """The finding: a custodian recorded the head's decision 'by' the head."""
    m = material
    rid = undecided_request(m)
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post(f"/requests/{rid}/decide", data={"csrf": csrf_of(m.vault, c), "agree": "yes",
                                                "on": _today(m), "by": "burmistrz"})
    assert r.status_code == 422
    assert "na papierze" in r.text.split('id="f-paper_ref"')[1].split("</div>")[0]
    assert snapshot(m.vault) == before
    r = c.post(f"/requests/{rid}/decide", data={
        "csrf": csrf_of(m.vault, c), "agree": "yes", "on": _today(m), "by": "burmistrz",
        "paper_ref": "OR.0012.9.2026"})
    assert r.status_code == 303
    page = c.get(f"/requests/{rid}").text
    # by name, as on paper: the keyer (informatyk) and the head (burmistrz)
    assert "OR.0012.9.2026" in page and "Piotr Wiśniewski" in page and "Jan Kowalski" in page
    with m.vault.reading() as s:
        d = s.execute(select(Decision).where(Decision.request_id == rid)).scalar_one()
    assert (d.decided_by, d.keyed_by, d.paper_ref) == ("burmistrz", "informatyk",
                                                        "OR.0012.9.2026")


def test_api_decision_for_someone_else_needs_a_nonempty_paper_ref(material: Material) -> None:
    m = material
    rid = undecided_request(m)
    c = signed_in(m.vault, "informatyk", api=True)
    before = snapshot(m.vault)
    for extra in ({}, {"paper_ref": ""}, {"paper_ref": "   "}):
        r = c.post(f"/api/requests/{rid}/decision",
                   json={"agree": True, "on": _today(m), "by": "burmistrz", **extra})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "paper_ref", r.text
    assert snapshot(m.vault) == before
    r = c.post(f"/api/requests/{rid}/decision",
               json={"agree": True, "on": _today(m), "by": "burmistrz", "paper_ref": "OR.5"})
    assert r.status_code == 201
    assert r.json()["keyed_by"] == "informatyk" and r.json()["paper_ref"] == "OR.5"


def test_the_head_decides_from_his_own_account(material: Material) -> None:
    m = material
    rid = undecided_request(m)
    r = signed_in(m.vault, "burmistrz", api=True).post(f"/api/requests/{rid}/decision",
                                           json={"agree": True, "on": _today(m)})
    assert r.status_code == 201 and r.json()["keyed_by"] == "burmistrz"
    assert r.json()["paper_ref"] is None


def _copier_on_commission(m: Material) -> None:
    """informatyk made the material's copy; here he also sits on the commission."""
    with m.vault.transaction() as s:
        u = s.execute(select(User).where(User.name == "informatyk")).scalar_one()
        u.roles = sorted({*u.roles, "commission"})
    from tests.custody.custody_helpers import appoint_commission

    appoint_commission(m.vault, "informatyk")


def test_page_refuses_the_copier_as_second_destroyer(material: Material) -> None:
    m = material
    _copier_on_commission(m)
    n = m.copy_number
    first = signed_in(m.vault, "komisja1")
    first.post("/copies/destroy", data={"csrf": csrf_of(m.vault, first), "number": n,
                                        "confirm": n, "reason": "sprawa zakończona"})
    copier = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = copier.post("/copies/destroy", data={"csrf": csrf_of(m.vault, copier), "number": n,
                                             "confirm": n})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert "inny członek komisji" in r.text
    assert snapshot(m.vault) == before


def test_api_refuses_the_copier_as_second_destroyer(material: Material) -> None:
    m = material
    _copier_on_commission(m)
    url = f"/api/copies/{m.copy_number}/destroy"
    assert signed_in(m.vault, "komisja1", api=True).post(url, json={
        "confirm": m.copy_number, "reason": "sprawa zakończona"}).status_code == 200
    copier = signed_in(m.vault, "informatyk", api=True)
    before = snapshot(m.vault)
    r = copier.post(url, json={"confirm": m.copy_number})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "by"
    assert snapshot(m.vault) == before
    r = signed_in(m.vault, "komisja2", api=True).post(url, json={"confirm": m.copy_number})
    assert r.status_code == 200 and r.json()["destroyed"] is True
    with m.vault.reading() as s:
        assert s.execute(select(Copy.state)).scalar_one() == "destroyed"
