"""Slowing down password guessing without handing anyone a way to lock others out.

Every failed login (wrong password, wrong or reused TOTP code, unknown account) is counted
three times: against the account name typed — known or not, so the answer never tells which
accounts exist — against the client address, and against the pair of both. Past `FREE`
failures each one doubles the wait before the next attempt is even checked, up to a cap.

Which counts apply depends on where the attempt comes from. From an address this person has
signed in from in the last 90 days (their own workstation) only the pair's count applies:
someone guessing the administrator's password elsewhere in the building, or guessing other
people's passwords from behind the same NAT or terminal server, slows down himself, not her
(at worst, guessing *her* password from her own address costs her the pair's short wait).
From anywhere else the address's count applies (and the pair's, which it contains): the
account's own count is kept — the administrator sees who is being guessed at — but holds
nobody back, since whoever guesses elsewhere kept a new account's first login, or a person at
a new workstation, out for as long as he kept guessing (issue 28 item 9). What slows the
guessing of one account from many addresses is each address's own wait and the few checks
the server makes at once (kustosz.web.login_pool). An administrator can lift a wait (`kustosz
users unthrottle`, or the users page) or give the person a one-time unlock link
(kustosz.access.unlock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kustosz.db.access import LoginThrottle, WebSession
from kustosz.words import plural

FREE = 3  # failures that cost nothing (typos)
BASE_SECONDS = 2.0
ACCOUNT_CAP = timedelta(minutes=5)
ADDRESS_CAP = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a count with no new failure for this long starts again
KNOWN_ADDRESS = timedelta(days=90)


def account_key(name: str) -> str:
    return "account:" + (name or "").strip().lower()[:150]


def address_key(client: str) -> str:
    return "address:" + (client or "")[:150]


def pair_key(name: str, client: str) -> str:
    return "pair:" + (name or "").strip().lower()[:90] + "@" + (client or "")[:100]


def _wait(failures: int, cap: timedelta) -> timedelta | None:
    if failures <= FREE:
        return None
    exponent = min(failures - FREE - 1, 30)
    return min(timedelta(seconds=BASE_SECONDS * 2 ** exponent), cap)


def _row(session: Session, key: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, key)


def known_address(session: Session, user_id: int | None, client: str, now: datetime) -> bool:
    if user_id is None or not client:
        return False
    return session.execute(select(WebSession.id).where(
        WebSession.user_id == user_id, WebSession.client == client[:100],
        WebSession.created_at >= now - KNOWN_ADDRESS).limit(1)).first() is not None


@dataclass(frozen=True)
class Waiting:
    seconds: int

    @property
    def message(self) -> str:
        """The same words whoever is asking (existing account or not)."""
        return (f"Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za {self.seconds} "
                f"{plural(self.seconds, 'sekundę', 'sekundy', 'sekund')}.")


def waiting(session: Session, name: str, client: str, user_id: int | None,
            now: datetime | None = None) -> Waiting | None:
    """Whether this attempt must wait; checked before the password is."""
    now = now or datetime.now(UTC)
    if known_address(session, user_id, client, now):
        keys = [pair_key(name, client)]
    else:
        keys = [address_key(client), pair_key(name, client)]
    until = None
    for key in keys:
        row = _row(session, key)
        if row is not None and row.wait_until is not None and row.wait_until > now:
            until = max(until or row.wait_until, row.wait_until)
    if until is None:
        return None
    return Waiting(max(1, math.ceil((until - now).total_seconds())))


def failed(session: Session, name: str, client: str, now: datetime | None = None) -> int:
    """Count a failure on all three keys; returns the account name's failures so far."""
    now = now or datetime.now(UTC)
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - FORGET_AFTER))
    counts = {}
    for key, cap in ((account_key(name), ACCOUNT_CAP), (address_key(client), ADDRESS_CAP),
                     (pair_key(name, client), ACCOUNT_CAP)):
        row = _row(session, key)
        if row is None:
            session.flush()
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
        elif row.last_failure_at + FORGET_AFTER <= now:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = _wait(row.failures, cap)
        row.wait_until = now + wait if wait else None
        counts[key] = row.failures
    session.flush()
    return counts[account_key(name)]


def succeeded(session: Session, name: str, client: str) -> None:
    """A correct login clears the account's and the pair's counts (the address's stays: it
    may be guessing other accounts)."""
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.key.in_((account_key(name), pair_key(name, client)))))


def lift(session: Session, *, name: str | None = None, client: str | None = None) -> int:
    """Remove the counts of an account name (its pairs included) or of an address."""
    wanted_name = account_key(name).removeprefix("account:") if name else None
    wanted_client = address_key(client).removeprefix("address:") if client else None
    lifted = 0
    for row in session.execute(select(LoginThrottle)).scalars():
        kind, _, rest = row.key.partition(":")
        if kind == "pair":
            who, _, where = rest.rpartition("@")
        else:
            who, where = (rest, None) if kind == "account" else (None, rest)
        if (wanted_name is not None and who == wanted_name) or \
                (wanted_client is not None and where == wanted_client):
            session.delete(row)
            lifted += 1
    session.flush()
    return lifted


def waits(session: Session, now: datetime | None = None) -> list[LoginThrottle]:
    """Counts that hold someone back now (for the administrator's page)."""
    now = now or datetime.now(UTC)
    return list(session.execute(select(LoginThrottle).where(
        LoginThrottle.wait_until > now).order_by(LoginThrottle.key)).scalars())
