"""Maintenance contractors (004 §6.3): "w przypadku wystąpienia problemów technicznych osoby
świadczące usługi konserwacji urządzeń rejestrujących na podstawie umowy powierzenia".

A contractor is a user who carries the processing agreement's reference (umowa powierzenia)
and its last day. Without an agreement there is no contractor account; once the agreement's
last day has passed, everything that proves the person ends with it: the login is refused
with the reason, sessions and API tokens stop working, and authorisations open nothing.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from kustosz.access.accounts import end_credentials
from kustosz.access.agreements import (
    OFFICE_TZ,
    agreement_problems,
    ended,
    ended_pl,
    is_contractor,
)
from kustosz.audit import append as audit
from kustosz.db.custody import User
from kustosz.errors import FieldError

__all__ = ["OFFICE_TZ", "agreement_problems", "ended", "ended_pl", "is_contractor",
           "parse_day", "set_agreement"]


def set_agreement(session: Session, user: User, agreement: str | None, until: date | None,
                  actor: str, now: datetime | None = None, tz: tzinfo | None = None) -> User:
    """Record (or renew) a contractor's processing agreement; FieldError and nothing changed
    when it is missing or already over. What proved the person under the old terms ends."""
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
