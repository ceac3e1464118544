"""Support grants (issue 67 item 2): the installation's administrator and an office's material.

In an installation one IT person runs the service for several controllers (a gmina's town
hall, its MOPS, its schools). They manage nodes, storage, updates and backups; they reach no
office's material, personal data or registers — unless the office's head (the `approver`
role) grants it, for a stated reason and a bounded time, when support needs it:

- a grant is made and revoked only on the office's own pages, by its head; the command line
  is the installation administrator's own, so nothing there can grant (kustosz.cli.office_gate);
- one grant is in force at a time, from its making until ``until`` or its revocation,
  whichever comes first; every command it lets through is an entry of the office's audit
  chain (``support.used``), and so is every command refused for the want of one
  (``support.refused``): the office sees what was done in its name and what was tried.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kustosz.access import unlock
from kustosz.audit import append as audit
from kustosz.db.access import SupportGrant
from kustosz.db.models import AuditEntry
from kustosz.errors import InputError, NotFound

DEFAULT_HOURS = 8  # a working day's support visit
MAX_HOURS = 72  # a long weekend's repair; longer support is a new, stated decision
REASON_MAX = 500
GRANTED, REVOKED, USED, REFUSED = ("support.granted", "support.revoked", "support.used",
                                   "support.refused")
SUBJECT = "installation administrator"


def check_hours(hours: object) -> int:
    try:
        return unlock.check_hours(hours, MAX_HOURS)
    except InputError:
        raise InputError(f"a support grant lasts a whole number of hours from 1 to {MAX_HOURS}",
                         pl=f"Czas dostępu serwisowego: liczba godzin od 1 do {MAX_HOURS}."
                         ) from None


def check_reason(reason: object) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise InputError("say why support needs the office's material",
                         pl="Podaj powód: w jakiej sprawie serwis potrzebuje dostępu.")
    if len(text) > REASON_MAX:
        raise InputError(f"the reason is longer than {REASON_MAX} characters",
                         pl=f"Powód jest dłuższy niż {REASON_MAX} znaków.")
    return text


def in_force(session: Session, now: datetime | None = None) -> SupportGrant | None:
    """The grant in force at ``now``: made, not yet ended, not revoked."""
    now = now or datetime.now(UTC)
    return session.execute(
        select(SupportGrant).where(SupportGrant.granted_at <= now, SupportGrant.until > now,
                                   SupportGrant.revoked_at.is_(None))
        .order_by(SupportGrant.id.desc()).limit(1)).scalar_one_or_none()


def grant(session: Session, by: str, reason: object, hours: object,
          now: datetime | None = None) -> SupportGrant:
    """A new grant from the office's head ``by``; refused while another is in force (it is
    revoked first, so the record says plainly which one covered what)."""
    now = now or datetime.now(UTC)
    text, length = check_reason(reason), check_hours(hours)
    current = in_force(session, now)
    if current is not None:
        raise InputError(f"a support grant is in force already (no. {current.id}); revoke it "
                         "first",
                         pl=f"Dostęp serwisowy jest już udzielony (nr {current.id}); najpierw "
                            "go odwołaj.")
    row = SupportGrant(granted_by=by, reason=text, granted_at=now,
                       until=now + timedelta(hours=length))
    session.add(row)
    session.flush()
    audit(session, by, GRANTED, SUBJECT,
          {"grant": row.id, "reason": text, "until": row.until.isoformat(), "hours": length},
          at=now)
    return row


def revoke(session: Session, grant_id: int, by: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    row = session.get(SupportGrant, grant_id)
    if row is None:
        raise NotFound(f"no support grant {grant_id}",
                       pl=f"Nie ma dostępu serwisowego nr {grant_id}.")
    if row.revoked_at is not None or row.until <= now:
        raise InputError(f"the support grant {grant_id} has ended already",
                         pl=f"Dostęp serwisowy nr {grant_id} już się zakończył.")
    row.revoked_at, row.revoked_by = now, by
    audit(session, by, REVOKED, SUBJECT, {"grant": row.id}, at=now)


def used(session: Session, who: dict[str, str], command: str, row: SupportGrant) -> None:
    """``who``: the system's account and the actor the command was given (os_user, actor);
    the entry's actor is the system's account, which no variable can set."""
    audit(session, f"cli:{who['os_user']}", USED, SUBJECT,
          {"grant": row.id, "command": command, **who})


def refused(session: Session, who: dict[str, str], command: str) -> None:
    audit(session, f"cli:{who['os_user']}", REFUSED, SUBJECT, {"command": command, **who})


def end_all(session: Session, by: str, now: datetime | None = None) -> int:
    """Every grant still in force ended (an office restored from a backup: a grant revoked
    since the backup was made must not come back with it)."""
    now = now or datetime.now(UTC)
    ended = 0
    for row in session.execute(select(SupportGrant).where(
            SupportGrant.revoked_at.is_(None), SupportGrant.until > now)).scalars():
        row.revoked_at, row.revoked_by = now, by
        audit(session, by, REVOKED, SUBJECT, {"grant": row.id, "why": "restore"}, at=now)
        ended += 1
    return ended


def history(session: Session, limit: int = 50) -> list[SupportGrant]:
    return list(session.execute(
        select(SupportGrant).order_by(SupportGrant.id.desc()).limit(limit)).scalars())


def commands(session: Session, limit: int = 100) -> list[AuditEntry]:
    """The commands the installation administrator ran, or tried, newest first."""
    return list(session.execute(
        select(AuditEntry).where(or_(AuditEntry.action == USED, AuditEntry.action == REFUSED))
        .order_by(AuditEntry.seq.desc()).limit(limit)).scalars())
