"""What re-running issue 11's attacks found next (R3.2–R3.5, DESIGN invariants 2 and 6): one
person carrying a request alone under colleagues' names, the listening protocol outside the
workstation allow-list, and addresses that still ended in a server error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from tests.conftest import snapshot
from web_helpers import STRANGER, Material, authorise, client, csrf_of, signed_in, user

from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.access import AccessEntry
from kustosz.db.custody import Copy
from kustosz.db.models import AuditEntry
from kustosz.web.params import DB_INT_MAX


def _decided_request(m: Material) -> int:
    from kustosz.custody.decisions import decide

    tz = m.vault.policy.timezone
    now = datetime.now(UTC)
    with m.vault.transaction() as s:
        req = register_request(s, m.vault.policy, RequestSpec(
            kind="authority", material="video", requester="Prokuratura Rejonowa",
            received_on=now.astimezone(tz).date(), event_date=m.window[0].astimezone(tz).date(),
            purpose="postępowanie", description="szkoda", cameras=["cam-hol"],
            start=m.window[0] + timedelta(seconds=5), end=m.window[0] + timedelta(seconds=30),
            margin_minutes=0), "test")
        req_id = req.id
    with m.vault.transaction() as s:
        decide(s, m.vault.policy, req_id, by="burmistrz", agree=True,
               on=now.astimezone(tz).date(), actor="burmistrz", keyed_by="burmistrz")
    return req_id


def test_a_copy_is_recorded_by_whoever_makes_it_page_and_api(sqlite_material: Material
                                                             ) -> None:
    """A commission member made a copy and handed it over 'by' the custodian: the registers
    named the custodian, only the audit log knew better."""
    m = sqlite_material
    user(m.vault, "drugi", ["custodian"], display="Drugi Kustosz")
    req_id = _decided_request(m)
    c = signed_in(m.vault, "drugi")
    csrf = csrf_of(m.vault, c)
    before = snapshot(m.vault)["tables"]
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf, "by": "informatyk"})
    assert r.status_code == 422 and "w imieniu innej osoby" in r.text
    api = signed_in(m.vault, "drugi")
    api.headers["X-CSRF-Token"] = csrf_of(m.vault, api)
    r = api.post("/api/copies", json={"request": req_id, "by": "informatyk"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "by"
    assert snapshot(m.vault)["tables"]["custody_copies"] == before["custody_copies"]
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf})
    assert r.status_code == 303
    with m.vault.reading() as s:
        copy = s.execute(select(Copy).where(Copy.request_id == req_id)).scalar_one()
    assert copy.made_by == "drugi"
    r = c.post(f"/requests/{req_id}/handover", data={"csrf": csrf, "by": "informatyk",
                                                     "receiver": "sierż. Jan Kowalski, KPP"})
    assert r.status_code == 422 and "w imieniu innej osoby" in r.text


def test_the_listening_protocol_is_behind_the_allow_list(material: Material) -> None:
    """The protocol form showed the call's numbers to a workstation off the allow-list and
    left no trace."""
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["listening"], kinds=["phone"])
    here = signed_in(m.vault, "ola")
    r = here.post("/media/start", data={"csrf": csrf_of(m.vault, here), "action": "listening",
                                        "recording": str(m.call.id), "purpose": "skarga",
                                        "case_ref": "S-1"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    far = client(m.vault, STRANGER)
    far.cookies.set("kustosz_session", here.cookies.get("kustosz_session"),
                    domain="testserver.local")
    with m.vault.reading() as s:
        entries = s.execute(select(func.count()).select_from(AccessEntry)).scalar_one()
    for form in ({}, {"listeners": "Ola", "breach": "groźby"}):
        r = far.post(f"/view/{token}/protocol", data={"csrf": csrf_of(m.vault, here), **form})
        assert r.status_code == 403 and "+48600100200" not in r.text
    with m.vault.reading() as s:
        assert s.execute(select(func.count()).select_from(AccessEntry)).scalar_one() == entries
        blocked = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "access.blocked_address")).scalar_one()
    assert blocked == 2


def test_addresses_of_nothing_are_404_and_bad_values_422_never_500(sqlite_material: Material
                                                                  ) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    csrf = csrf_of(m.vault, c)
    req_id = _decided_request(m)
    before = snapshot(m.vault)["tables"]
    r = c.post(f"/requests/{req_id}/handover", data={"csrf": csrf, "receiver": "KPP"})
    assert r.status_code == 409 and "nie sporządzono jeszcze kopii" in r.text
    for path in (f"/requests/{DB_INT_MAX}/copy", f"/requests/{DB_INT_MAX}/decide"):
        r = c.post(path, data={"csrf": csrf, "agree": "yes"})
        assert r.status_code == 404 and "Nie znaleziono" in r.text, path
    assert c.get("/copies/NIE-MA/get").status_code == 404
    r = c.post("/holds", data={"csrf": csrf, "sources": "cam-hol", "from": "0001-01-01T00:00",
                               "to": "9999-12-31T23:59", "basis": "test"})
    assert r.status_code in (303, 422), r.status_code
    assert snapshot(m.vault)["tables"]["custody_copies"] == before["custody_copies"]


def test_a_link_cannot_put_its_own_words_into_a_page(sqlite_material: Material) -> None:
    """`?msg=` showed any text from a link inside the office's own page."""
    from kustosz.web.common import flash_url

    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    forged = c.get("/holds?msg=Twoje%20has%C5%82o%20wygas%C5%82o%2C%20zadzwo%C5%84%20pod%20123")
    assert forged.status_code == 200 and "zadzwoń pod 123" not in forged.text
    genuine = c.get(flash_url("/holds", "Zabezpieczenie zapisane."))
    assert "Zabezpieczenie zapisane." in genuine.text
