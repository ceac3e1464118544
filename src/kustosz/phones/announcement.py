"""The callers' announcement, confirmed by a person (issue 49 item 6).

Before a recorded call begins the caller must hear that it is recorded [001 §1 ust. 3-4;
004 §8 ust. 2; art. 13 RODO]. Kustosz plays nothing to a caller (it takes the exchange's
recordings or a copy of the media), so it cannot hear whether the exchange plays the message:
a person who called the lines and heard it says so, and that is on the record — who, when and
which lines (an audit entry; the latest also kept as a setting to read it back). A line added
afterwards is not covered until someone confirms again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Setting, Source
from kustosz.db.settings import put_setting
from kustosz.documents.announcements import own_clause
from kustosz.errors import InputError
from kustosz.kinds import SourceKind
from kustosz.policy import Policy

KEY = "calls.announcement_confirmed"
ACTION = "calls.announcement_confirmed"


@dataclass(frozen=True)
class Confirmation:
    by: str  # the account that confirmed
    at: datetime
    lines: tuple[str, ...]  # the phone lines there were then


def lines(session: Session) -> list[str]:
    """Every phone line of the office, enabled or not (a disabled one is enabled later)."""
    return list(session.execute(select(Source.name).where(Source.kind == SourceKind.PHONE)
                                .order_by(Source.name)).scalars())


def records_calls(session: Session, policy: Policy) -> bool:
    """Whether the office records calls: its policy keeps them, or a phone line exists."""
    return policy.retention.get(SourceKind.PHONE) is not None or bool(lines(session))


def basis(policy: Policy) -> str:
    """What obliges the office: its own regulation's clause where it has one, and art. 13."""
    clause = own_clause(policy)
    return f"{clause}; art. 13 RODO" if clause else "art. 13 RODO"


def confirmed(session: Session) -> Confirmation | None:
    stored = session.get(Setting, KEY)
    if stored is None:
        return None
    data = json.loads(stored.value)
    return Confirmation(data["by"], datetime.fromisoformat(data["at"]), tuple(data["lines"]))


def not_covered(session: Session) -> list[str]:
    """The lines no confirmation covers yet."""
    done = confirmed(session)
    return [n for n in lines(session) if done is None or n not in done.lines]


def confirm(session: Session, policy: Policy, by: str,
            now: datetime | None = None) -> Confirmation:
    """Record that ``by`` heard the announcement on every phone line there is now."""
    if not records_calls(session, policy):
        raise InputError("this office records no calls: there is no announcement to confirm",
                         pl="Urząd nie nagrywa rozmów — nie ma komunikatu do potwierdzenia.")
    if not not_covered(session):
        raise InputError("no phone line awaits confirmation: add the lines first",
                         pl="Żadna linia telefoniczna nie czeka na potwierdzenie — najpierw "
                            "dodaj linie.")
    done = Confirmation(by, (now or datetime.now(UTC)).astimezone(UTC), tuple(lines(session)))
    audit(session, by, ACTION, "all phone lines",
                 {"lines": list(done.lines), "basis": basis(policy)}, at=done.at)
    put_setting(session, KEY, json.dumps(
        {"by": by, "at": done.at.isoformat(), "lines": list(done.lines)}, ensure_ascii=False))
    return done
