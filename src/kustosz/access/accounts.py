"""Web login: password check with lock-out, optional TOTP, sessions and their CSRF tokens.

The session cookie carries a random token; the table keeps only its SHA-256, so a copy of
the database opens no session. Logging in always starts a new session (the id changes at
login: a planted cookie is worth nothing) and ends the one the browser presented.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import directory, passwords
from kustosz.audit import append as audit
from kustosz.db.access import Account, WebSession
from kustosz.db.custody import User
from kustosz.errors import InputError

MAX_FAILURES = 5
LOCK_MINUTES = 15
IDLE_MINUTES = 30
ABSOLUTE_HOURS = 10


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_of(session: Session, user: User) -> Account:
    account = session.get(Account, user.id)
    if account is None:
        account = Account(user_id=user.id, failed_logins=0, one_time=False)
        session.add(account)
        session.flush()
    return account


def set_password(session: Session, user: User, password: str, actor: str,
                 one_time: bool = False, check: bool = True) -> None:
    account = account_of(session, user)
    if account.directory:
        raise InputError("Hasło tego użytkownika sprawdza katalog (LDAP/Active Directory); "
                         "zmienia się je w katalogu, nie w Kustoszu.")
    if check:
        passwords.check_new(password, user.name)
    user.password_hash = passwords.hash_password(password)
    account.one_time = one_time
    account.failed_logins = 0
    account.locked_until = None
    account.password_set_at = datetime.now(UTC)
    session.flush()
    audit(session, actor, "user.password", user.name, {"one_time": one_time})


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None  # Polish, shown to the person
    needs_totp: bool = False


GENERIC = "Nieprawidłowa nazwa użytkownika lub hasło."
DIRECTORY_OFF = ("To konto loguje się przez katalog (LDAP/Active Directory), ale logowanie przez "
                 "katalog nie jest skonfigurowane. Zwróć się do administratora.")
DIRECTORY_DOWN = ("Serwer katalogu (LDAP/Active Directory) nie odpowiada, więc nie można teraz "
                  "sprawdzić hasła. Spróbuj za chwilę lub zwróć się do administratora.")


def set_directory(session: Session, user: User, on: bool, actor: str) -> None:
    """Mark a person as proven by the directory (no local password kept) or back to local."""
    account = account_of(session, user)
    account.directory = on
    account.failed_logins = 0
    account.locked_until = None
    if on:
        # The local hash would be a second, forgotten way in; the directory decides alone.
        user.password_hash = None
        account.one_time = False
    session.flush()
    audit(session, actor, "user.directory", user.name, {"directory": on})


def authenticate(session: Session, name: str, password: str, client: str,
                 totp_code: str | None = None, now: datetime | None = None) -> LoginResult:
    """Check a login; failures are counted (and committed by the caller's transaction)."""
    now = now or datetime.now(UTC)
    user = session.execute(select(User).where(User.name == (name or "").strip())) \
        .scalar_one_or_none()
    if user is None or not user.active:
        passwords.verify(None, password or "")
        audit(session, "web", "login.failed", (name or "")[:100], {"client": client,
                                                                   "why": "unknown user"})
        return LoginResult(None, GENERIC)
    account = account_of(session, user)
    if account.locked_until is not None and account.locked_until > now:
        audit(session, user.name, "login.refused", user.name,
              {"client": client, "why": "locked"})
        return LoginResult(None, "Konto jest czasowo zablokowane po zbyt wielu nieudanych "
                                 f"próbach logowania. Spróbuj ponownie po "
                                 f"{LOCK_MINUTES} minutach lub zwróć się do administratora.")
    if account.directory:
        settings = directory.current(session)
        if not settings.enabled:
            audit(session, user.name, "login.refused", user.name,
                  {"client": client, "why": "directory login not configured"})
            return LoginResult(None, DIRECTORY_OFF)
        outcome = directory.check_password(settings, user.name, password or "")
        if outcome is directory.Outcome.UNAVAILABLE:
            audit(session, user.name, "login.refused", user.name,
                  {"client": client, "why": "directory unavailable"})
            return LoginResult(None, DIRECTORY_DOWN)
        proven = outcome is directory.Outcome.OK
    else:
        proven = passwords.verify(user.password_hash, password or "")
    if not proven:
        account.failed_logins += 1
        details = {"client": client, "failures": account.failed_logins}
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            account.failed_logins = 0
            audit(session, user.name, "login.locked", user.name, details)
        else:
            audit(session, user.name, "login.failed", user.name, details)
        session.flush()
        return LoginResult(None, GENERIC)
    if account.totp_secret:
        import pyotp

        if not totp_code:
            return LoginResult(None, "Podaj kod z aplikacji uwierzytelniającej.", True)
        if not pyotp.TOTP(account.totp_secret).verify(totp_code.strip(), valid_window=1):
            account.failed_logins += 1
            session.flush()
            return LoginResult(None, "Nieprawidłowy kod jednorazowy.", True)
    account.failed_logins = 0
    account.locked_until = None
    if not account.directory and passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return LoginResult(user)


def start_session(session: Session, user: User, client: str, previous: str | None = None,
                  now: datetime | None = None) -> tuple[str, WebSession]:
    now = now or datetime.now(UTC)
    if previous:
        end_session(session, previous, now)
    token = secrets.token_urlsafe(32)
    row = WebSession(id=digest(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                     client=client[:100], created_at=now, last_seen_at=now,
                     expires_at=now + timedelta(hours=ABSOLUTE_HOURS))
    session.add(row)
    session.flush()
    audit(session, user.name, "login", user.name, {"client": client})
    return token, row


def session_for(session: Session, token: str | None, now: datetime | None = None
                ) -> tuple[WebSession, User] | None:
    if not token:
        return None
    now = now or datetime.now(UTC)
    row = session.get(WebSession, digest(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=IDLE_MINUTES) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        session.flush()
    return row, user


def end_session(session: Session, token: str, now: datetime | None = None) -> None:
    row = session.get(WebSession, digest(token))
    if row is not None and row.ended_at is None:
        row.ended_at = now or datetime.now(UTC)
        session.flush()


def needs_new_password(session: Session, user: User) -> bool:
    account = session.get(Account, user.id)
    return bool(account and account.one_time)


def account_of_readonly(session: Session, user: User) -> Account | None:
    return session.get(Account, user.id)
