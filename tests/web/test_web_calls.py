"""The call register behind the gate (issue 11, item 5; R3.2, R3.5, DESIGN invariant 2).

Numbers, times and durations of calls are personal data: /calls lists the phone lines only;
a search needs an individual authorisation for the action "calls" on that line, active now,
from an allowed workstation, inside a viewing session opened with purpose, case and period;
every answer leaves exactly one access entry. "calls" and "listening" open each other
nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.conftest import snapshot
from web_helpers import STRANGER, Material, authorise, client, csrf_of, session_for, user

from kustosz.access.authorisations import FieldError, issue
from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

NUMBER = "600100200"  # the caller of the material's call, as the digits appear on any page


def _entries(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(AccessEntry)).scalar_one()


def _sessions(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(func.count()).select_from(ViewingSession)).scalar_one()


def _audit(vault: Vault, action: str) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry.details).where(AuditEntry.action == action))
                    .scalars())


def _local(m: Material, value: datetime) -> str:
    return value.astimezone(m.vault.policy.timezone).strftime("%Y-%m-%dT%H:%M:%S")


def _person(m: Material, name: str, roles: list[str], address=None):  # type: ignore[no-untyped-def]
    user(m.vault, name, roles, password=None)
    c = client(m.vault, address) if address else client(m.vault)
    session_for(m.vault, c, name)
    return c


def _open(m: Material, c, line: str = "centrala"):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    return c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "calls", "source": line,
        "from": _local(m, now - timedelta(hours=3)), "to": _local(m, now),
        "purpose": "skarga na pracownika", "case_ref": "SK.152.3.2026"})


@pytest.mark.parametrize("role", ["operator", "auditor", "viewer", "custodian", "approver"])
def test_the_calls_page_lists_lines_and_no_calls(material: Material, role: str) -> None:
    """The leak: /calls showed every call (numbers, times) to every role."""
    m = material
    c = _person(m, f"u-{role}", [role])
    before = _entries(m.vault)
    day = _local(m, m.call.start_at)[:10]
    for url in ("/calls", f"/calls?number={NUMBER}", f"/calls?day={day}"):
        page = c.get(url)
        assert page.status_code == 200 and "centrala" in page.text
        # the header's PL/EN links keep the person's own search (issue 65); below it, no
        # call's number
        shown = page.text.split("</header>", 1)[1]
        assert NUMBER not in shown and "746640800" not in page.text
    assert _entries(m.vault) == before


def test_calls_search_without_authorisation_is_refused(material: Material) -> None:
    m = material
    c = _person(m, "ola", ["viewer"])
    before = snapshot(m.vault)["tables"]
    r = _open(m, c)
    assert r.status_code == 403 and NUMBER not in r.text
    after = snapshot(m.vault)["tables"]
    assert {t for t in after if after[t] != before[t]} == {"audit_log"}  # the refusal, only
    assert any("no active authorisation" in d for d in _audit(m.vault, "access.refused"))


def test_calls_search_from_a_workstation_off_the_allow_list_is_refused(
        material: Material) -> None:
    m = material
    far = _person(m, "ola", ["viewer"], address=STRANGER)
    authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    sessions = _sessions(m.vault)
    assert _open(m, far).status_code == 403
    assert _sessions(m.vault) == sessions
    # A session opened at an office PC does not answer a stranger's address either.
    near = client(m.vault)
    session_for(m.vault, near, "ola")
    token = _open(m, near).headers["location"].rsplit("/", 1)[1]
    session_for(m.vault, far, "ola")
    before = _entries(m.vault)
    r = far.get(f"/media/{token}/calls?number={NUMBER}")
    assert r.status_code == 403 and NUMBER not in r.text
    assert _entries(m.vault) == before
    assert any("10.9.9.9" in d for d in _audit(m.vault, "access.blocked_address"))


@pytest.mark.parametrize("days", [(1, 30), (-30, -1)], ids=["not_yet", "expired"])
def test_calls_search_outside_the_authorisation_period_is_refused(
        material: Material, days: tuple[int, int]) -> None:
    m = material
    c = _person(m, "ola", ["viewer"])
    authorise(m.vault, "ola", ["calls"], sources=["centrala"], days=days)
    sessions, entries = _sessions(m.vault), _entries(m.vault)
    r = _open(m, c)
    assert r.status_code == 403 and NUMBER not in r.text
    assert (_sessions(m.vault), _entries(m.vault)) == (sessions, entries)


def test_an_authorised_search_shows_the_line_s_calls_and_records_each_answer(
        material: Material) -> None:
    m = material
    c = _person(m, "ola", ["viewer"])
    authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    r = _open(m, c)
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    view = c.get(f"/view/{token}")
    assert view.status_code == 303 and view.headers["location"] == f"/media/{token}/calls"
    before = _entries(m.vault)
    page = c.get(f"/media/{token}/calls")
    assert page.status_code == 200 and NUMBER in page.text and "SK.152.3.2026" in page.text
    assert _entries(m.vault) == before + 1
    hit = c.get(f"/media/{token}/calls", params={"number": "600 100 200", "format": "json"})
    rows = hit.json()["rows"]
    assert [r["recording_id"] for r in rows] == [m.call.id] and rows[0]["seconds"] == 1
    miss = c.get(f"/media/{token}/calls", params={"number": "+48 501 000 000",
                                                 "format": "json"})
    assert miss.json()["rows"] == []
    assert _entries(m.vault) == before + 3
    # The session's period bounds every search: narrowing past the call finds nothing.
    late = c.get(f"/media/{token}/calls", params={
        "from": _local(m, m.call.start_at + timedelta(minutes=5)), "format": "json"})
    assert late.json()["rows"] == []
    bad = c.get(f"/media/{token}/calls", params={"number": "anonymous", "format": "json"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "number"
    assert _entries(m.vault) == before + 4  # the refused query served nothing


def test_calls_and_listening_open_each_other_nothing(material: Material) -> None:
    m = material
    lister = _person(m, "ola", ["viewer"])
    authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    r = lister.post("/media/start", data={
        "csrf": csrf_of(m.vault, lister), "action": "listening", "recording": str(m.call.id),
        "purpose": "p", "case_ref": "c"})
    assert r.status_code == 403
    assert _open(m, lister, line="centrala-2").status_code == 403  # nor another line
    hearer = _person(m, "ela", ["viewer"])
    authorise(m.vault, "ela", ["listening"], kinds=["phone"])
    assert _open(m, hearer).status_code == 403


def test_security_staff_and_auditors_cannot_be_authorised_for_the_register(
        material: Material) -> None:
    m = material
    for name, role in (("ochrona", "operator"), ("kontrola", "auditor")):
        user(m.vault, name, [role], password=None)
        before = snapshot(m.vault)
        now = datetime.now(UTC)
        with pytest.raises(FieldError, match="nie pozwala") as err, \
                m.vault.transaction() as s:
            issue(s, holder=name, actions=["calls"], sources=["centrala"], source_kinds=[],
                  valid_from=now, valid_to=now + timedelta(days=30), by="burmistrz",
                  actor="t", policy=m.vault.policy)
        assert err.value.field == "actions"
        assert snapshot(m.vault) == before


def test_the_api_opens_a_calls_review_and_answers_json(material: Material) -> None:
    m = material
    c = _person(m, "ola", ["viewer"])
    c.headers["X-CSRF-Token"] = csrf_of(m.vault, c)
    authorise(m.vault, "ola", ["calls"], kinds=["phone"])
    now = datetime.now(UTC)
    r = c.post("/api/media/sessions", json={
        "action": "calls", "source": "centrala", "purpose": "skarga", "case_ref": "SK.1",
        "from": (now - timedelta(hours=3)).isoformat(), "to": now.isoformat()})
    assert r.status_code == 201, r.text
    rows = c.get(r.json()["urls"], params={"format": "json", "number": NUMBER}).json()["rows"]
    assert rows and rows[0]["caller"].endswith(NUMBER)
    missing = c.post("/api/media/sessions", json={"action": "calls", "source": "centrala",
                                                  "purpose": "skarga", "case_ref": "SK.1"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "from"


def test_the_printed_authorisation_names_the_calls_action(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    aid = authorise(m.vault, "ola", ["calls"], sources=["centrala"])
    from kustosz.custody.papers import authorisation_doc_data as document_data
    from kustosz.db.access import Authorisation

    with m.vault.reading() as s:
        data = document_data(s, m.vault.policy, s.get(Authorisation, aid))
    assert "przegląd wykazu rozmów telefonicznych" in data["scope"]
    assert "źródło centrala" in data["scope"]


def test_a_calls_authorisation_over_cameras_is_refused(material: Material) -> None:
    """Issuing refuses by kind: the register of calls is about phone lines only."""
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    before = snapshot(m.vault)
    now = datetime.now(UTC)
    for scope, field in (({"sources": ["cam-hol"], "source_kinds": []}, "sources"),
                         ({"sources": [], "source_kinds": ["camera"]}, "source_kinds")):
        with pytest.raises(FieldError, match="nie dotyczy") as err, \
                m.vault.transaction() as s:
            issue(s, holder="ola", actions=["calls"], **scope, valid_from=now,
                  valid_to=now + timedelta(days=30), by="burmistrz", actor="t",
                  policy=m.vault.policy)
        assert err.value.field == field
    assert snapshot(m.vault) == before
