"""One-time unlock links (issue 28 item 9): the administrator lets one person past login waits.

A person kept out by the waits of kustosz.access.throttle — at a shared address where someone
guesses, or after their own typos — gets a link from the administrator (the users page or
`kustosz users unlock-link`). Opened in a browser it shows the login form for that account
alone; the right password typed there signs in whatever waits stand, once:

- only for the account it was issued for (another name typed with it is refused, audited);
- not in a browser signed in as someone else (refused, audited: a link passed on must not
  let another person's session take it over);
- ended by its use, by ``TRIES`` wrong passwords typed with it (each still counted and
  audited as a failed login), by a newer link for the same person, or at its expiry;
- only its SHA-256 is kept; issuing, using and refusing are audited, the link itself never.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access import throttle
from kustosz.audit import append as audit
from kustosz.db.access import LoginUnlock
from kustosz.db.custody import User
from kustosz.digests import token_digest as digest
from kustosz.errors import InputError, NotFound

PATH = "/unlock/"
DEFAULT_HOURS = 8  # a working day: issued in the morning, used at the new desk
MAX_HOURS = 72
TRIES = throttle.FREE
INVALID_PL = ("Ten link odblokowujący jest nieważny: został już wykorzystany, wygasł albo "
              "administrator wydał nowszy. Poproś administratora o nowy link albo zaloguj się "
              "zwykłym formularzem.")
OTHER_ACCOUNT_PL = ("Ten link odblokowujący wydano dla innego konta. Zaloguj się przez niego "
                    "tylko jako osoba, dla której go wydano.")
OTHER_SESSION_PL = ("W tej przeglądarce jest zalogowana inna osoba. Link odblokowujący działa "
                    "tylko dla osoby, dla której go wydano — najpierw się wyloguj.")


def check_hours(hours: object, most: int = MAX_HOURS) -> int:
    """A whole number of hours from 1 to ``most`` (a link's validity; support.py's grant
    words its own refusal over this one)."""
    try:
        value = int(str(hours).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise InputError(f"the link's validity must be a whole number of hours from 1 to "
                         f"{most}",
                         pl=f"Ważność linku: liczba godzin od 1 do {most}.")
    return value


def issue(session: Session, name: str, actor: str, hours: object = DEFAULT_HOURS,
          now: datetime | None = None) -> tuple[str, LoginUnlock]:
    """A new link for ``name`` (older unused ones of that person end); the token is returned
    once and kept nowhere."""
    now = now or datetime.now(UTC)
    valid_for = check_hours(hours)
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {name!r}",
                       pl=f"Nie ma użytkownika „{name}”.")
    if not user.active:
        raise InputError(f"the account {name} is disabled: enable it first",
                         pl=f"Konto {name} jest wyłączone — najpierw je włącz.")
    older = list(session.execute(select(LoginUnlock).where(
        LoginUnlock.user_id == user.id, LoginUnlock.ended_at.is_(None))).scalars())
    for row in older:
        row.ended_at, row.ended_why = now, "replaced"
    token = secrets.token_urlsafe(32)
    row = LoginUnlock(digest=digest(token), user_id=user.id, issued_by=actor[:200],
                      issued_at=now, expires_at=now + timedelta(hours=valid_for), failures=0)
    session.add(row)
    session.flush()
    audit(session, actor, "login.unlock_issued", user.name,
          {"link": row.id, "hours": valid_for, "expires_at": row.expires_at.isoformat(),
           "replaced": [r.id for r in older]})
    return token, row


def valid(session: Session, token: str, now: datetime | None = None,
          lock: bool = False) -> tuple[LoginUnlock, User] | None:
    """The link and its person, while it can still be used."""
    if not token or len(token) > 100:
        return None
    now = now or datetime.now(UTC)
    query = select(LoginUnlock).where(LoginUnlock.digest == digest(token))
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def refused(session: Session, row: LoginUnlock, user: User, client: str, why: str,
            typed: str | None = None) -> None:
    details: dict[str, object] = {"link": row.id, "client": client, "why": why}
    if typed is not None:
        details["typed"] = typed[:100]
    audit(session, "web", "login.unlock_refused", user.name, details)


def used(session: Session, row: LoginUnlock, user: User, client: str,
         now: datetime | None = None) -> None:
    row.ended_at, row.ended_why = now or datetime.now(UTC), "used"
    session.flush()
    audit(session, user.name, "login.unlocked", user.name, {"link": row.id, "client": client})


def failed(session: Session, row: LoginUnlock, user: User, client: str,
           now: datetime | None = None) -> None:
    """A wrong password typed with the link (the failed login itself is counted and audited
    as any other); ``TRIES`` of them end it."""
    row.failures += 1
    if row.failures >= TRIES:
        row.ended_at, row.ended_why = now or datetime.now(UTC), "wrong passwords"
        audit(session, "web", "login.unlock_ended", user.name,
              {"link": row.id, "client": client, "why": "wrong passwords"})
    session.flush()
