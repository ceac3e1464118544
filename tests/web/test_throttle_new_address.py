"""Throttling that keeps guessers slow without keeping the right person out (issue 28 item 9).

Whoever kept guessing a new account's name from elsewhere kept its first login — and a person
at a workstation they never used — out for as long as he went on (a correct one-time
password refused 18 times in 150 s): the account's own count held every new address. Now a
new address waits only for its own count. The password-change form's "current password" was
neither throttled nor audited (30 silent guesses, then a change): it is now, as a login.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from login_clock import hold_login_clock
from sqlalchemy import select
from web_helpers import PASSWORD, client, login, session_for, user

from kustosz.access import accounts, throttle
from kustosz.db.custody import User
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

ATTACKER = ("10.66.6.6", 1)
NEW_DESK = ("10.7.7.7", 1)
NEW_PASSWORD = "Zupełnie-nowe-hasło-2"


def audited(vault: Vault, action: str) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry.details).where(
            AuditEntry.action == action).order_by(AuditEntry.seq)).scalars())


def test_a_new_accounts_first_login_gets_in_while_someone_guesses_it(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = hold_login_clock(monkeypatch)
    with sqlite_vault.transaction() as s:  # a new account: a one-time password, never used
        from kustosz.access.users import add_user

        u = add_user(s, "nowa", "Nowa Osoba", ["viewer"], "test")
        accounts.set_password(s, u, PASSWORD, "test", one_time=True, check=False)
    attacker = client(sqlite_vault, ATTACKER)
    for _ in range(20):  # patient guesses: the account's count stays at its cap
        clock.advance(throttle.ADDRESS_CAP)
        assert login(attacker, "nowa", "zgadywane-haslo").status_code == 401
    with sqlite_vault.reading() as s:
        row = s.get(throttle.LoginThrottle, throttle.account_key("nowa"))
        assert row is not None and row.wait_until is not None and row.wait_until > clock.now
    desk = client(sqlite_vault, NEW_DESK)
    r = login(desk, "nowa")  # the person, at a desk never used, the right password
    assert r.status_code == 303 and r.headers["location"] == "/account/password"


def test_a_new_address_waits_for_its_own_count_alone(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = hold_login_clock(monkeypatch)
    user(sqlite_vault, "ania", ["viewer"])
    attacker = client(sqlite_vault, ATTACKER)
    desk = client(sqlite_vault, NEW_DESK)
    for _ in range(12):  # someone guesses her account elsewhere: its count at its cap
        clock.advance(throttle.ADDRESS_CAP)
        assert login(attacker, "ania", "zgadywane-haslo").status_code == 401
    for _ in range(throttle.FREE + 1):  # her own typos at the new desk: its wait starts
        assert login(desk, "ania", "literowka-w-hasle").status_code == 401
    r = login(desk, "ania")  # the desk's own wait, not the account's five minutes
    assert "Zbyt wiele nieudanych prób" in r.text and "za 2 sekundy" in r.text
    clock.advance(timedelta(seconds=throttle.BASE_SECONDS))  # the desk's own wait passes
    with sqlite_vault.reading() as s:
        row = s.get(throttle.LoginThrottle, throttle.account_key("ania"))
        assert row.wait_until - clock.now >= timedelta(minutes=1)  # the account's wait runs
    assert login(desk, "ania").status_code == 303
    # the attacker's own address still waits, right password or not
    assert "Zbyt wiele nieudanych prób" in login(attacker, "ania").text


def change(c: object, csrf: str, current: str, new: str = NEW_PASSWORD) -> object:
    return c.post("/account/password", data={  # type: ignore[attr-defined]
        "csrf": csrf, "current": current, "new": new, "again": new})


def test_guessing_the_current_password_is_throttled_and_audited(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The finding: a session left open let anyone try 30 current passwords silently and
    then change it."""
    clock = hold_login_clock(monkeypatch)
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    for i in range(throttle.FREE + 1):
        r = change(c, csrf, f"zgadywane-{i}")
        assert r.status_code == 422 and "Obecne hasło jest nieprawidłowe" in r.text
    r = change(c, csrf, PASSWORD)  # the right one, within the wait: not even checked
    assert r.status_code == 422 and "Zbyt wiele błędnych haseł" in r.text
    assert "za 2 sekundy" in r.text
    refused = audited(sqlite_vault, "user.password_refused")
    assert len(refused) == throttle.FREE + 1
    assert "wrong password" in refused[-1] and PASSWORD not in "".join(refused)
    with sqlite_vault.reading() as s:  # counted as failed logins of hers, from here
        pair = s.get(throttle.LoginThrottle, throttle.pair_key("ania", "127.0.0.1"))
        assert pair is not None and pair.failures == throttle.FREE + 1
    clock.advance(timedelta(seconds=throttle.BASE_SECONDS))
    r = change(c, csrf, PASSWORD)
    assert r.status_code == 303
    assert len(audited(sqlite_vault, "user.password")) == 2  # set by the test, then changed
    assert login(client(sqlite_vault, NEW_DESK), "ania", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize("form, field_words", [
    ({"current": "", "new": NEW_PASSWORD, "again": NEW_PASSWORD}, "Podaj obecne hasło"),
    ({"current": "zle-haslo-123", "new": "krotkie", "again": "krotkie"},
     "Obecne hasło jest nieprawidłowe"),
    ({"current": PASSWORD, "new": NEW_PASSWORD, "again": "inne-hasło-12345"},
     "Hasła się różnią"),
])
def test_bad_password_forms_change_nothing(sqlite_vault: Vault, form: dict[str, str],
                                           field_words: str) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    with sqlite_vault.reading() as s:
        before = s.execute(select(User.password_hash).where(User.name == "ania")).scalar_one()
    r = c.post("/account/password", data={"csrf": csrf, **form})
    assert r.status_code == 422 and field_words in r.text
    with sqlite_vault.reading() as s:
        after = s.execute(select(User.password_hash).where(User.name == "ania")).scalar_one()
    assert after == before
    # only a wrong current password is a guess (counted, audited); an empty one is no guess
    wrong = form["current"] not in ("", PASSWORD)
    assert len(audited(sqlite_vault, "user.password_refused")) == int(wrong)
