"""Web login: password check with throttling (kustosz.access.throttle), optional TOTP (a code
is good once), sessions and their CSRF tokens, and ending every credential of a person at once.

The session cookie carries a random token; the table keeps only its SHA-256, so a copy of
the database opens no session. Logging in always starts a new session (the id changes at
login: a planted cookie is worth nothing) and ends the one the browser presented.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import agreements, directory, passwords, throttle, tokens
from kustosz.audit import append as audit
from kustosz.db.access import Account, AlarmDevice, WebSession
from kustosz.db.custody import User
from kustosz.digests import token_digest as digest
from kustosz.errors import InputError

IDLE_MINUTES = 30
ABSOLUTE_HOURS = 10


def account_of(session: Session, user: User) -> Account:
    account = session.get(Account, user.id)
    if account is None:
        account = Account(user_id=user.id, one_time=False)
        session.add(account)
        session.flush()
    return account


def set_password(session: Session, user: User, password: str, actor: str,
                 one_time: bool = False, check: bool = True) -> None:
    account = account_of(session, user)
    if account.directory:
        raise InputError("this user's password is checked by the directory (LDAP/Active "
                         "Directory); change it there, not in Kustosz",
                         pl="Hasło tego użytkownika sprawdza katalog (LDAP/Active Directory); "
                            "zmienia się je w katalogu, nie w Kustoszu.")
    if check:
        passwords.check_new(password, user.name)
    user.password_hash = passwords.hash_password(password)
    account.one_time = one_time
    account.password_set_at = datetime.now(UTC)
    # A reset is what a person who lost the phone gets: the second factor starts afresh too
    # (and one planted by whoever held the session is gone).
    totp_cleared = bool(one_time and account.totp_secret)
    if one_time:
        account.totp_secret = None
        account.totp_last_step = None
    session.flush()
    ended = end_credentials(session, user, "password reset" if one_time else "password change")
    throttle.lift(session, name=user.name)
    audit(session, actor, "user.password", user.name,
          {"one_time": one_time, "totp_cleared": totp_cleared, **ended})


def confirm_password(session: Session, user: User, password: str) -> bool:
    """The person at the keyboard proves they know the password again (before changing the
    second factor): a session alone is not enough."""
    account = account_of(session, user)
    if account.directory:
        settings = directory.current(session)
        return settings.enabled and directory.check_password(
            settings, user.name, password or "") is directory.Outcome.OK
    return passwords.verify(user.password_hash, password or "")


def end_credentials(session: Session, user: User, reason: str,
                    now: datetime | None = None) -> dict[str, int]:
    """End every web session and API token of ``user`` (a password change or reset, a
    deactivation, a role change): what proved the old state must not outlive it. A caller
    that keeps the person signed in starts a new session afterwards."""
    now = now or datetime.now(UTC)
    sessions = list(session.execute(select(WebSession).where(
        WebSession.user_id == user.id, WebSession.ended_at.is_(None))).scalars())
    for row in sessions:
        row.ended_at, row.end_reason = now, reason[:200]
    ended_tokens = tokens.end_all(session, user, reason, now)
    _end_devices(session, AlarmDevice.user_id == user.id, reason, now)
    session.flush()
    return {"sessions_ended": len(sessions), "tokens_ended": ended_tokens}


def _end_devices(session: Session, which: Any, reason: str, now: datetime) -> None:
    """Alarm notifications on the devices a sign-in confirmed (web.alarm_devices) end with
    what ended it: a shared workstation signed out tells the next person's nothing of the
    last one's alarms."""
    for device in session.execute(select(AlarmDevice).where(
            which, AlarmDevice.ended_at.is_(None))).scalars():
        device.ended_at, device.end_reason = now, reason[:200]


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None  # Polish, shown to the person
    needs_totp: bool = False


GENERIC = "Nieprawidłowa nazwa użytkownika lub hasło."
DIRECTORY_DOWN = ("Serwer katalogu (LDAP/Active Directory) nie odpowiada, więc nie można teraz "
                  "sprawdzić hasła. Spróbuj za chwilę lub zwróć się do administratora.")


def set_directory(session: Session, user: User, on: bool, actor: str) -> None:
    """Mark a person as proven by the directory (no local password kept) or back to local."""
    account = account_of(session, user)
    account.directory = on
    if on:
        # The local hash would be a second, forgotten way in; the directory decides alone.
        user.password_hash = None
        account.one_time = False
    session.flush()
    ended = end_credentials(session, user, "directory login changed")
    audit(session, actor, "user.directory", user.name, {"directory": on, **ended})


@dataclass(frozen=True)
class Proof:
    """A password checked before the login's transaction (kustosz.web.auth): argon2 takes a
    third of a second and a directory may take seconds, and a transaction held open over
    them held every other writer (on SQLite every page). ``checked`` False: nothing was
    checked (the attempt had to wait); ``stored``: the hash the password was verified
    against — `authenticate` uses the proof only while the account still has that hash."""

    checked: bool
    stored: str | None = None
    verified: bool = False
    directory: directory.Outcome | None = None


Found = tuple[str | None, "directory.DirectorySettings | None", bool]


def prove(read: Session, name: str, client: str, now: datetime | None = None,
          unthrottled: bool = False) -> Found:
    """What `check` needs, read in a short read-only session: (the stored hash, the
    directory settings when the account's password is the directory's, whether to check
    at all — not while the attempt must wait)."""
    now = now or datetime.now(UTC)
    name = (name or "").strip()[:150]
    user = read.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is not None and not user.active:
        user = None
    if not unthrottled and throttle.waiting(read, name, client, user.id if user else None,
                                            now) is not None:
        return None, None, False
    if user is None:
        return None, None, True
    account = read.get(Account, user.id)
    if account is not None and account.directory:
        return None, directory.current(read), True
    return user.password_hash, None, True


def check(found: Found, name: str, password: str) -> Proof:
    """The slow part of a login, outside any transaction: argon2 (the dummy hash for an
    unknown account, so the answer takes as long) or the directory."""
    stored, settings, wanted = found
    if not wanted:
        return Proof(False)
    if settings is not None:
        if not settings.enabled:
            passwords.verify(None, password or "")
            return Proof(True, None, False, None)
        return Proof(True, None, False, directory.check_password(
            settings, (name or "").strip()[:150], password or ""))
    return Proof(True, stored, passwords.verify(stored, password or ""))


def authenticate(session: Session, name: str, password: str, client: str,
                 totp_code: str | None = None, now: datetime | None = None,
                 proof: Proof | None = None, unthrottled: bool = False) -> LoginResult:
    """Check a login; failures are counted and audited (committed by the caller's
    transaction). A waiting attempt is refused before anything is checked, with the same
    words for an existing and an unknown account. ``proof``: the password already checked
    (`prove`, `check`); what it does not cover is checked here. ``unthrottled``: no wait
    applies (a one-time unlock link the administrator issued, kustosz.access.unlock); the
    failures are still counted and audited."""
    now = now or datetime.now(UTC)
    name = (name or "").strip()[:150]
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is not None and not user.active:
        user = None
    wait = None if unthrottled else throttle.waiting(session, name, client,
                                                     user.id if user else None, now)
    if wait is not None:
        # Not audited: the failures that started the wait are, and a refusal that checks
        # nothing must not let anyone fill the audit log without signing in.
        return LoginResult(None, wait.message)
    if proof is not None and not proof.checked:
        proof = None  # the wait ended in between: checked here
    if user is None:
        if proof is None:
            passwords.verify(None, password or "")
        return _failure(session, name, client, "unknown user", now)
    account = account_of(session, user)
    if account.directory:
        settings = directory.current(session)
        if not settings.enabled:
            # The same answer as a wrong password (a distinct one told strangers that the
            # account exists); the administrator finds the reason in the audit log.
            if proof is None:
                passwords.verify(None, password or "")
            return _failure(session, name, client, "directory login not configured", now)
        outcome = proof.directory if proof is not None and proof.directory is not None \
            else directory.check_password(settings, user.name, password or "")
        if outcome is directory.Outcome.UNAVAILABLE:
            audit(session, user.name, "login.refused", user.name,
                  {"client": client, "why": "directory unavailable"})
            return LoginResult(None, DIRECTORY_DOWN)
        proven = outcome is directory.Outcome.OK
    elif proof is not None and proof.directory is None and proof.stored is not None \
            and proof.stored == user.password_hash:
        proven = proof.verified
    else:
        proven = passwords.verify(user.password_hash, password or "")
    if not proven:
        return _failure(session, name, client, "wrong password", now)
    if account.totp_secret:
        if not totp_code:
            return LoginResult(None, "Podaj kod z aplikacji uwierzytelniającej.", True)
        step = totp_step(account.totp_secret, totp_code, now)
        if step is None or (account.totp_last_step is not None
                            and step <= account.totp_last_step):
            why = "TOTP code wrong" if step is None else "TOTP code already used"
            _failure(session, name, client, why, now)
            return LoginResult(None, "Nieprawidłowy lub już użyty kod jednorazowy.", True)
        account.totp_last_step = step
    throttle.succeeded(session, name, client)
    if agreements.ended(user, now):
        # The password was right, so the person may hear why [004 §6.3]; nothing opens.
        audit(session, user.name, "login.refused", user.name,
              {"client": client, "why": "contractor agreement ended",
               "agreement": user.contractor_agreement,
               "until": user.contractor_until.isoformat() if user.contractor_until else None})
        session.flush()
        return LoginResult(None, agreements.ended_pl(user))
    if not account.directory and passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return LoginResult(user)


def _failure(session: Session, name: str, client: str, why: str,
             now: datetime) -> LoginResult:
    failures = throttle.failed(session, name, client, now)
    audit(session, "web", "login.failed", name[:100],
          {"client": client, "why": why, "failures": failures})
    return LoginResult(None, GENERIC)


TOTP_STEP_SECONDS = 30


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (one either side of now, for clock drift) whose code this is."""

    code = (code or "").strip()
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def start_session(session: Session, user: User, client: str, previous: str | None = None,
                  now: datetime | None = None) -> tuple[str, WebSession]:
    now = now or datetime.now(UTC)
    if previous:
        end_session(session, previous, now, "signed in again")
    token = secrets.token_urlsafe(32)
    row = WebSession(id=digest(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                     client=client[:100], created_at=now, last_seen_at=now,
                     expires_at=now + timedelta(hours=ABSOLUTE_HOURS))
    session.add(row)
    session.flush()
    audit(session, user.name, "login", user.name, {"client": client})
    return token, row


def session_for(session: Session, token: str | None, now: datetime | None = None,
                touch: bool = True) -> tuple[WebSession, User] | None:
    """The open session of ``token`` and its user; ``touch``: the request is the person's
    own, which moves the idle end (a page's background refresh is not)."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    row = session.get(WebSession, digest(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=IDLE_MINUTES) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or agreements.ended(user, now):
        return None
    if touch and (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        session.flush()
    return row, user


def end_session(session: Session, token: str, now: datetime | None = None,
                reason: str = "signed out") -> None:
    row = session.get(WebSession, digest(token))
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now or datetime.now(UTC), reason
        _end_devices(session, AlarmDevice.session_id == row.id, reason, row.ended_at)
        session.flush()


def needs_new_password(session: Session, user: User) -> bool:
    account = session.get(Account, user.id)
    return bool(account and account.one_time)


def account_of_readonly(session: Session, user: User) -> Account | None:
    return session.get(Account, user.id)
