"""Whether a maintenance contractor's processing agreement (umowa powierzenia, 004 §6.3) is
in force: the rule the login, API tokens, authorisations and access records all ask. It sits
below all of them; recording or renewing an agreement (`contractors.set_agreement`) ends the
person's credentials and so lives above them."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

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
