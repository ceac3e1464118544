"""Maintenance contractors (004 §6.3): "w przypadku wystąpienia problemów technicznych osoby
świadczące usługi konserwacji urządzeń rejestrujących na podstawie umowy powierzenia".

A contractor is a user who carries the processing agreement's reference (umowa powierzenia)
and its last day. Without an agreement there is no contractor account; once the agreement's
last day has passed, everything that proves the person ends with it: the login is refused
with the reason, sessions and API tokens stop working, and authorisations open nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.custody import User
from kustosz.errors import FieldError

# The offices are Polish; a contractor's last day ends at midnight in Poland unless the caller
# passes the office's own time zone.
OFFICE_TZ = ZoneInfo("Europe/Warsaw")


def _today(now: datetime | None, tz: tzinfo | None) -> date:
    return (now or datetime.now(UTC)).astimezone(tz or OFFICE_TZ).date()


def is_contractor(user: User) -> bool:
    return user.contractor_agreement is not None


def ended(user: User, now: datetime | None = None, tz: tzinfo | None = None) -> bool:
    """True when ``user`` is a contractor whose agreement is over (or has no last day)."""
    if not is_contractor(user):
        return False
    return user.contractor_until is None or _today(now, tz) > user.contractor_until


def ended_pl(user: User) -> str:
    """Why a contractor's access is over, in Polish (the login page, refusals)."""
    until = user.contractor_until.strftime("%d.%m.%Y") if user.contractor_until else "?"
    return (f"Umowa powierzenia nr {user.contractor_agreement} obowiązywała do {until}; "
            "dostęp konserwatora zakończył się razem z nią (004 §6.3). Jeśli umowę "
            "przedłużono, administrator systemu wpisze nowy termin.")


def agreement_problems(agreement: str | None, until: date | None,
                       now: datetime | None = None, tz: tzinfo | None = None
                       ) -> list[FieldError]:
    """Everything wrong with a contractor's agreement, one error per field."""
    problems = []
    if not (agreement or "").strip():
        problems.append(FieldError(
            "contractor_agreement", "Konserwator ma dostęp tylko na podstawie umowy powierzenia "
                                    "(004 §6.3) — podaj jej numer lub znak."))
    if until is None:
        problems.append(FieldError("contractor_until",
                                   "Podaj datę, do której obowiązuje umowa powierzenia."))
    elif until < _today(now, tz):
        problems.append(FieldError(
            "contractor_until", f"Umowa powierzenia obowiązująca do {until:%d.%m.%Y} już "
                                "wygasła — konserwator nie może dostać na jej podstawie "
                                "dostępu."))
    return problems


def set_agreement(session: Session, user: User, agreement: str | None, until: date | None,
                  actor: str, now: datetime | None = None, tz: tzinfo | None = None) -> User:
    """Record (or renew) a contractor's processing agreement; FieldError and nothing changed
    when it is missing or already over. What proved the person under the old terms ends."""
    from kustosz.access.accounts import end_credentials

    if len(agreement or "") > 200:
        raise FieldError("contractor_agreement", "Numer umowy powierzenia może mieć najwyżej "
                                                 f"200 znaków (podano {len(agreement or '')}).")
    problems = agreement_problems(agreement, until, now, tz)
    if problems:
        raise problems[0]
    before = {"agreement": user.contractor_agreement,
              "until": user.contractor_until.isoformat() if user.contractor_until else None}
    user.contractor_agreement = (agreement or "").strip()
    user.contractor_until = until
    session.flush()
    ended_now = end_credentials(session, user, "contractor agreement changed", now)
    audit(session, actor, "user.contractor", user.name,
          {"before": before, "agreement": user.contractor_agreement,
           "until": until.isoformat() if until else None, **ended_now})
    return user


def parse_day(text: str | None, field: str) -> date | None:
    """A date typed as YYYY-MM-DD or DD.MM.YYYY; None when empty; FieldError when unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FieldError(field, f"Nie rozumiem daty „{text[:40]}” — podaj ją jako RRRR-MM-DD "
                            "lub DD.MM.RRRR.")
