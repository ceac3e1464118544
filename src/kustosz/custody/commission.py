"""The destruction commission's appointments (002 zał.5 §8.2): "Niszczenie nośników …
wykonywane jest komisyjnie w obecności min. dwóch osób wyznaczonych przez Burmistrza".

The head (an approver) appoints a person with the commission role by an order (zarządzenie):
its number, its date, optionally the last day. Where the policy says so
(``commission.appointed``), a member without a current appointment does not confirm a
destruction (kustosz.custody.destruction._check), and the destruction protocol names the
orders the commission acted under.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.db.custody import CommissionAppointment
from kustosz.errors import FieldError, InputError, NotFound


def appoint(session: Session, *, member: str, order_ref: str, appointed_on: date | None,
            ends_on: date | None = None, approver: str, actor: str,
            now: datetime | None = None) -> CommissionAppointment:
    """Record the head's appointment of ``member``; FieldError and nothing written when a
    detail is missing or wrong."""
    now = now or datetime.now(UTC)
    member = (member or "").strip()
    order = (order_ref or "").strip()
    try:
        require_role(session, member, "commission", "sit on the destruction commission")
    except NotFound:
        raise FieldError("member", f"Nie ma użytkownika {member or '(nie podano)'}.") from None
    except InputError as exc:
        raise FieldError("member", str(exc.pl)) from None
    if not order:
        raise FieldError("order_ref", "Podaj numer zarządzenia (lub innego polecenia), którym "
                                      "kierownik jednostki wyznaczył członka komisji "
                                      "(002 zał. 5 §8 ust. 2).")
    if len(order) > 200:
        raise FieldError("order_ref", "Numer zarządzenia może mieć najwyżej 200 znaków.")
    if appointed_on is None:
        raise FieldError("appointed_on", "Podaj datę zarządzenia.")
    if ends_on is not None and ends_on < appointed_on:
        raise FieldError("ends_on", "Koniec wyznaczenia nie może być przed datą zarządzenia.")
    try:
        require_role(session, (approver or "").strip(), "approver",
                     "appoint the destruction commission")
    except (NotFound, InputError):
        raise FieldError("approver", "Komisję niszczącą wyznacza kierownik jednostki lub jego "
                                     "zastępca (rola: zatwierdzający) — "
                                     f"{approver or '(nie podano)'} nie ma tej roli "
                                     "(002 zał. 5 §8 ust. 2).") from None
    row = CommissionAppointment(member=member, order_ref=order, appointed_on=appointed_on,
                                ends_on=ends_on, approver=approver.strip(), recorded_by=actor,
                                recorded_at=now)
    session.add(row)
    session.flush()
    audit(session, actor, "commission.appoint", member, {
        "appointment": row.id, "order": order, "on": appointed_on.isoformat(),
        "until": ends_on.isoformat() if ends_on else None, "approver": row.approver})
    return row


def end(session: Session, appointment_id: int, ends_on: date | None, actor: str,
        now: datetime | None = None) -> CommissionAppointment:
    """End an appointment on ``ends_on`` (its last day)."""
    now = now or datetime.now(UTC)
    row = session.get(CommissionAppointment, appointment_id)
    if row is None:
        raise NotFound(f"no commission appointment {appointment_id}",
                       pl=f"Nie ma wyznaczenia do komisji nr {appointment_id}.")
    if ends_on is None:
        raise FieldError("ends_on", "Podaj ostatni dzień wyznaczenia.")
    if ends_on < row.appointed_on:
        raise FieldError("ends_on", "Koniec wyznaczenia nie może być przed datą zarządzenia.")
    if row.ends_on is not None and row.ends_on <= ends_on:
        raise InputError(f"appointment {appointment_id} already ends on {row.ends_on}",
                         pl=f"Wyznaczenie nr {appointment_id} kończy się już "
                            f"{row.ends_on:%d.%m.%Y}.")
    row.ends_on, row.ended_by = ends_on, actor
    session.flush()
    audit(session, actor, "commission.end", row.member,
          {"appointment": row.id, "until": ends_on.isoformat()})
    return row


def current(session: Session, member: str, on: date) -> CommissionAppointment | None:
    """The member's appointment in force on ``on`` (the newest), or None."""
    rows = session.execute(select(CommissionAppointment).where(
        CommissionAppointment.member == member, CommissionAppointment.appointed_on <= on)
        .order_by(CommissionAppointment.appointed_on.desc(),
                  CommissionAppointment.id.desc())).scalars()
    for row in rows:
        if row.ends_on is None or on <= row.ends_on:
            return row
    return None


def words(row: CommissionAppointment) -> str:
    """'zarządzenie nr 12/2026 z dnia 02.03.2026' — as the destruction protocol prints it."""
    order = row.order_ref
    if not order.lower().startswith(("zarządzenie", "polecenie", "decyzja", "pismo")):
        order = f"zarządzenie nr {order}"
    return f"{order} z dnia {row.appointed_on:%d.%m.%Y}"


def list_appointments(session: Session) -> list[CommissionAppointment]:
    return list(session.execute(select(CommissionAppointment).order_by(
        CommissionAppointment.appointed_on.desc(), CommissionAppointment.id.desc())).scalars())
