"""The administrator's one-time unlock link (issue 28 item 9): a person kept out by login waits
signs in with it once — only as the account it was issued for, not in a browser signed in as
someone else, not after it expired or was used — and every step is in the audit log, the
link itself never."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from login_clock import hold_login_clock
from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import PASSWORD, client, csrf_in, session_for, user

from kustosz.access import throttle, unlock
from kustosz.db.access import LoginUnlock
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

SHARED = ("10.5.5.5", 1)  # a terminal server: someone there guesses, she waits with him


def audit_of(vault: Vault, action: str) -> list[tuple[str, str, str]]:
    with vault.reading() as s:
        return [tuple(r) for r in s.execute(select(
            AuditEntry.actor, AuditEntry.subject, AuditEntry.details).where(
            AuditEntry.action == action).order_by(AuditEntry.seq)).all()]


def issue_on_page(vault: Vault, name: str, hours: str | None = None) -> tuple[int, str]:
    admin = client(vault)
    csrf = session_for(vault, admin, "admin")
    data = {"csrf": csrf} | ({"hours": hours} if hours is not None else {})
    r = admin.post(f"/admin/users/{name}/unlock", data=data)
    found = re.search(r"http://testserver(/unlock/[A-Za-z0-9_-]+)", r.text)
    return r.status_code, found.group(1) if found else r.text


def login_with(c: TestClient, path: str, name: str, password: str = PASSWORD,
               code: str | None = None) -> object:
    page = c.get(path)
    assert page.status_code == 200, page.text
    link = re.search(r'name="unlock" value="([^"]+)"', page.text)
    assert link, "no unlock field in the page"
    data = {"username": name, "password": password, "csrf": csrf_in(page.text), "next": "/",
            "unlock": link.group(1)}
    return c.post("/login", data=data | ({"totp": code} if code else {}))


@pytest.fixture
def kept_out(sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Vault:
    """ania, at the shared address, waits because someone there guessed."""
    hold_login_clock(monkeypatch)
    user(sqlite_vault, "admin", ["administrator"])
    user(sqlite_vault, "ania", ["viewer"])
    user(sqlite_vault, "bartek", ["viewer"])
    guesser = client(sqlite_vault, SHARED)
    for i in range(throttle.FREE + 1):
        page = guesser.get("/login")
        guesser.post("/login", data={"username": f"ktos{i}", "password": "zgadywane-haslo",
                                     "csrf": csrf_in(page.text), "next": "/"})
    c = client(sqlite_vault, SHARED)
    page = c.get("/login")
    r = c.post("/login", data={"username": "ania", "password": PASSWORD,
                               "csrf": csrf_in(page.text), "next": "/"})
    assert r.status_code == 401 and "Zbyt wiele nieudanych prób" in r.text
    return sqlite_vault


def test_the_link_lets_its_person_in_once_and_is_audited(kept_out: Vault) -> None:
    vault = kept_out
    status, path = issue_on_page(vault, "ania")
    assert status == 200 and path.startswith("/unlock/"), path
    token = path.removeprefix("/unlock/")
    c = client(vault, SHARED)
    form = c.get(path)
    assert "Link odblokowujący od administratora" in form.text and 'value="ania"' in form.text
    r = login_with(c, path, "ania")
    assert r.status_code == 303, r.text
    assert c.get("/").status_code == 200  # signed in
    # once: the page and the form both refuse it now, and it skips no wait any more
    again = client(vault, SHARED)
    assert again.get(path).status_code == 410
    page = again.get("/login")
    r = again.post("/login", data={"username": "ania", "password": PASSWORD, "unlock": token,
                                   "csrf": csrf_in(page.text), "next": "/"})
    assert r.status_code == 401 and "link odblokowujący jest nieważny" in r.text
    [(actor, subject, details)] = audit_of(vault, "login.unlock_issued")
    assert actor == "admin" and subject == "ania" and token not in details
    [(actor, subject, details)] = audit_of(vault, "login.unlocked")
    assert (actor, subject) == ("ania", "ania") and "10.5.5.5" in details
    with vault.reading() as s:  # only its digest is kept
        row = s.execute(select(LoginUnlock)).scalar_one()
        assert row.digest == unlock.digest(token) and row.ended_why == "used"
    everything = "".join(d for a in ("login.unlock_issued", "login.unlocked", "login")
                         for _, _, d in audit_of(vault, a))
    assert token not in everything


def test_the_link_is_for_its_account_alone(kept_out: Vault) -> None:
    vault = kept_out
    _status, path = issue_on_page(vault, "ania")
    c = client(vault, SHARED)
    r = login_with(c, path, "bartek")  # bartek's right password, with ania's link
    assert r.status_code == 401 and "wydano dla innego konta" in r.text
    assert "kustosz_session" not in r.headers.get("set-cookie", "")
    [(_a, subject, details)] = audit_of(vault, "login.unlock_refused")
    assert subject == "ania" and "another account" in details and "bartek" in details
    assert login_with(c, path, "ania").status_code == 303  # still good for her


def test_a_browser_signed_in_as_someone_else_cannot_use_it(kept_out: Vault) -> None:
    vault = kept_out
    _status, path = issue_on_page(vault, "ania")
    token = path.removeprefix("/unlock/")
    c = client(vault, SHARED)
    session_for(vault, c, "bartek")
    r = c.get(path)
    assert r.status_code == 403 and "zalogowana inna osoba" in r.text
    pre = client(vault, SHARED).get("/login")
    c.cookies.set("kustosz_pre", pre.cookies["kustosz_pre"], domain="testserver.local")
    r = c.post("/login", data={"username": "ania", "password": PASSWORD, "unlock": token,
                               "csrf": csrf_in(pre.text), "next": "/"})
    assert r.status_code == 403 and "zalogowana inna osoba" in r.text
    refused = audit_of(vault, "login.unlock_refused")
    assert len(refused) == 2 and all("someone else's session" in d for _, _, d in refused)
    with vault.reading() as s:
        assert s.execute(select(LoginUnlock)).scalar_one().ended_at is None  # not spent


def test_the_link_expires_and_a_newer_one_replaces_it(kept_out: Vault) -> None:
    vault = kept_out
    with vault.transaction() as s:
        old, _ = unlock.issue(s, "ania", "admin", 1,
                              now=datetime.now(UTC) - timedelta(hours=1, seconds=1))
    assert client(vault, SHARED).get(f"/unlock/{old}").status_code == 410
    _status, first = issue_on_page(vault, "ania")
    _status, second = issue_on_page(vault, "ania")
    assert client(vault, SHARED).get(first).status_code == 410  # replaced
    assert login_with(client(vault, SHARED), second, "ania").status_code == 303


def test_wrong_passwords_with_the_link_end_it(kept_out: Vault) -> None:
    vault = kept_out
    _status, path = issue_on_page(vault, "ania")
    c = client(vault, SHARED)
    failed_before = len(audit_of(vault, "login.failed"))
    for _ in range(unlock.TRIES):
        r = login_with(c, path, "ania", "zle-haslo-zle-haslo")
        assert r.status_code == 401 and "Nieprawidłowa nazwa użytkownika lub hasło" in r.text
    assert len(audit_of(vault, "login.failed")) == failed_before + unlock.TRIES
    assert c.get(path).status_code == 410
    assert len(audit_of(vault, "login.unlock_ended")) == 1


def test_the_command_line_issues_a_link_that_works(kept_out: Vault, cli: object) -> None:
    out = cli("users", "unlock-link", "ania", "--hours", "2")  # type: ignore[operator]
    found = re.search(r"(/unlock/[A-Za-z0-9_-]+)", out.output)
    assert found and "Link odblokowujący dla ania" in out.output
    assert login_with(client(kept_out, SHARED), found.group(1), "ania").status_code == 303


@pytest.mark.parametrize("args, message", [
    (("users", "unlock-link", "ania", "--hours", "0"), "from 1 to 72"),
    (("users", "unlock-link", "ania", "--hours", "73"), "from 1 to 72"),
    (("users", "unlock-link", "ania", "--hours", "osiem"), "from 1 to 72"),
    (("users", "unlock-link", "nikt"), "no user"),
    (("users", "unlock-link", "wylaczona"), "disabled"),
])
def test_bad_cli_input_changes_nothing(sqlite_vault: Vault, cli: object,
                                       args: tuple[str, ...], message: str) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    user(sqlite_vault, "admin", ["administrator"])
    user(sqlite_vault, "wylaczona", ["viewer"])
    cli("users", "disable", "wylaczona")  # type: ignore[operator]
    before = snapshot(sqlite_vault)["tables"]
    out = cli(*args, ok=False)  # type: ignore[operator]
    assert out.exit_code == 2 and message in out.output, out.output
    assert snapshot(sqlite_vault)["tables"] == before


@pytest.mark.parametrize("hours, words", [("0", "od 1 do 72"), ("100", "od 1 do 72"),
                                          ("-3", "od 1 do 72"), ("8h", "od 1 do 72")])
def test_bad_page_input_changes_nothing(sqlite_vault: Vault, hours: str, words: str) -> None:
    user(sqlite_vault, "admin", ["administrator"])
    user(sqlite_vault, "ania", ["viewer"])
    before = snapshot(sqlite_vault)["tables"]
    status, text = issue_on_page(sqlite_vault, "ania", hours)
    assert status == 422 and words in text
    after = snapshot(sqlite_vault)["tables"]
    assert after["access_login_unlocks"] == before["access_login_unlocks"] == []
    status, text = issue_on_page(sqlite_vault, "nikt")
    assert status == 404


@pytest.mark.parametrize("token", ["zmyslony", "x" * 500, "%00", "..%2F..%2Fadmin"])
def test_made_up_links_are_refused_unaudited(sqlite_vault: Vault, token: str) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    before = snapshot(sqlite_vault)
    r = client(sqlite_vault).get(f"/unlock/{token}")
    assert r.status_code in (404, 410) and "Wyloguj" not in r.text
    assert snapshot(sqlite_vault) == before  # nothing written, not even an audit entry
