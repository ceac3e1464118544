"""Tables of the custody work: users (until the web work adds login), requests (wnioski),
decisions, copies (kopie nagrań as evidence bundles), handovers, destructions and the register
of actions in the monitoring system (R2.4–R2.6, R4, R5.1–R5.3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime
from kustosz.kinds import Material, check_in
from kustosz.states import CopyState, RequestKind, RequestStatus


class User(Base):
    """A person the paperwork names: approver, commission member, custodian, …"""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # login name
    display_name: Mapped[str] = mapped_column(String(200))  # as printed on documents
    title: Mapped[str | None] = mapped_column(String(200))  # stanowisko służbowe, as printed
    # The position as the office's regulation names it where a preset lists the positions that
    # may view recordings [003 §3.4] (access.positions); matched exactly, unlike the title.
    position: Mapped[str | None] = mapped_column(String(200))
    # A maintenance contractor's processing agreement (umowa powierzenia) [004 §6.3]: its
    # reference and last day; the person's access ends with it. Both NULL for staff.
    contractor_agreement: Mapped[str | None] = mapped_column(String(200))
    contractor_until: Mapped[date | None] = mapped_column(Date)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # for the web login, later
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Request(Base):
    """Wniosek: of an authority, an interested person, a data subject, or an internal case."""

    __tablename__ = "custody_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # authority|interested|data_subject|internal
    material: Mapped[str] = mapped_column(String(10))  # video | calls | mail | events
    requester: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)  # data złożenia wniosku
    event_date: Mapped[date] = mapped_column(Date)  # dokładna data zdarzenia
    approx_time: Mapped[str | None] = mapped_column(String(20))  # przybliżony czas, as given
    place: Mapped[str | None] = mapped_column(String(400))  # site or site/zone
    # whom a mail/events request concerns: a person, an address, a host or a user name
    who: Mapped[str | None] = mapped_column(String(400))
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # source names resolved
    caller: Mapped[str | None] = mapped_column(String(32))  # canonical numbers (calls)
    callee: Mapped[str | None] = mapped_column(String(32))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the window the request means
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The period the requester asked for (issue 29 item 2, migration 0031): what a copy holds.
    # start_at/end_at above is what the hold keeps, the office's margin on each side of a
    # period "od–do"; an approximate hour has no narrower period than that window. NULL on a
    # request registered before: its copy holds the window, as it did then.
    asked_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    asked_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    items: Mapped[list[int]] = mapped_column(JSON, default=list)  # recordings found at intake
    description: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    case_ref: Mapped[str | None] = mapped_column(String(200))
    # registered -> approved | refused; approved -> copied
    status: Mapped[str] = mapped_column(String(12))
    status_reason: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(default=False)
    warning: Mapped[str | None] = mapped_column(Text)  # told to the requester (policy "warn")
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    extends_copy: Mapped[str | None] = mapped_column(String(20))  # copy number (R2.5)
    # A data subject's deadline extended by two months (art. 12 ust. 3 RODO, migration 0022):
    # the day the person was told, why, and who recorded it.
    extended_on: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extended_by: Mapped[str | None] = mapped_column(String(200))
    # A data subject's video (issue 17 item 2, migration 0023): the manual masks and the
    # requester's boxes a person marked before the copy is made (custody.subject_review).
    subject_regions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # A data subject answered that no data of theirs are processed (art. 15 ust. 1 RODO,
    # migration 0033): the day and who signs the letter; and how the person chose to receive
    # the copy (art. 15 ust. 3): in_person | post | electronic (custody.requests.DELIVERY).
    no_data_on: Mapped[date | None] = mapped_column(Date)
    no_data_by: Mapped[str | None] = mapped_column(String(200))
    delivery: Mapped[str | None] = mapped_column(String(20))
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (
        Index("ix_custody_requests_received", "received_on"),
        CheckConstraint(check_in("kind", RequestKind), name="ck_custody_requests_kind"),
        CheckConstraint(check_in("material", Material), name="ck_custody_requests_material"),
        CheckConstraint(check_in("status", RequestStatus), name="ck_custody_requests_status"),
    )


class Decision(Base):
    """Decyzja: wyrażam zgodę / nie wyrażam zgody — by a position the office's policy lists
    ([disclosure] approvers); with approval "all" each position records its own, once."""

    __tablename__ = "custody_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("custody_requests.id"))
    agree: Mapped[bool] = mapped_column()
    decided_by: Mapped[str] = mapped_column(String(100))  # users.name
    # the position's key: head | deputy | a [positions] key — the policy checks it, not the
    # database, since each office declares its own (migration 0044)
    capacity: Mapped[str] = mapped_column(String(40))
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))  # the actor, as in the audit log
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who keyed it in: the office account (users.name) that entered the decision; NULL when it
    # was entered from the server's command line, which has no account (recorded_by says who).
    keyed_by: Mapped[str | None] = mapped_column(String(100))
    # A decision taken on paper and entered by someone else names its document (znak pisma).
    paper_ref: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("request_id", "capacity",
                                       name="uq_custody_decisions_request_capacity"),)


class Copy(Base):
    """Kopia nagrania: a numbered evidence bundle in the copy store."""

    __tablename__ = "custody_copies"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # "7/2026"
    year: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()
    request_id: Mapped[int] = mapped_column(ForeignKey("custody_requests.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    items: Mapped[list[int]] = mapped_column(JSON, default=list)  # recordings copied
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    made_by: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bundle: Mapped[str] = mapped_column(String(400))  # folder relative to the data folder
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # kept | destroyed
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A data subject's masked copy is reviewed before it is handed over (issue 17 item 2,
    # migration 0023): NULL for copies that need no review, else awaiting | approved |
    # sent_back (custody.subject_review).
    review_state: Mapped[str | None] = mapped_column(String(12))
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("year", "seq", name="uq_custody_copies_year_seq"),
                      CheckConstraint(check_in("state", CopyState),
                                      name="ck_custody_copies_state"))


class Handover(Base):
    """Przekazanie kopii uprawnionemu organowi (protokół przekazania, pokwitowanie)."""

    __tablename__ = "custody_handovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("custody_copies.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("custody_requests.id"))
    receiver: Mapped[str] = mapped_column(Text)  # person and body receiving
    handed_by: Mapped[str] = mapped_column(String(100))  # users.name
    handed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    medium: Mapped[str | None] = mapped_column(Text)  # e.g. "pendrive, ZIP szyfrowany"
    recorded_by: Mapped[str] = mapped_column(String(200))
    # How the commission destroyed this medium, or that it stays with its receiver, recorded
    # with the copy's destruction (004 §7.9; 002 zał.5 §8.2; migration 0034).
    medium_destroyed: Mapped[str | None] = mapped_column(Text)


class ReviewPlay(Base):
    """How far one reviewer watched a masked copy through the media gate: the furthest
    position reached without skipping ahead, and when the video played to its end."""

    __tablename__ = "custody_review_plays"
    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("custody_copies.id"))
    user_name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400))  # the masked file in the bundle
    # the served bytes below, played out at no more than real time on the server's clock
    watched_s: Mapped[float] = mapped_column(default=0.0)
    furthest_s: Mapped[float] = mapped_column(default=0.0)  # the player's position, in order
    skipped: Mapped[bool] = mapped_column(default=False)  # a report jumped ahead of watched_s
    # served by the media gate, in order from the file's start (issue 28 item 2), and the
    # media time those bytes hold
    served_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    served_s: Mapped[float] = mapped_column(default=0.0, server_default="0")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("copy_id", "user_name", "path",
                                       name="uq_custody_review_plays_copy_user"),)


class Destruction(Base):
    """Zniszczenie kopii: two confirmations by two different commission members."""

    __tablename__ = "custody_destructions"
    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("custody_copies.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    first_by: Mapped[str] = mapped_column(String(100))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    second_by: Mapped[str | None] = mapped_column(String(100))
    second_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ActionEntry(Base):
    """Wpis w Rejestrze działań w systemie monitoringu (002 zał.5 §8.3); Polish text."""

    __tablename__ = "custody_actions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Text)  # names as printed
    request_id: Mapped[int | None] = mapped_column(ForeignKey("custody_requests.id"))
    copy_id: Mapped[int | None] = mapped_column(ForeignKey("custody_copies.id"))
    __table_args__ = (Index("ix_custody_actions_at", "at"),)


class CommissionAppointment(Base):
    """Wyznaczenie do komisji niszczącej nośniki (002 zał.5 §8.2): who, from when (to when), by
    which order (zarządzenie) of the head, recorded by which approver."""

    __tablename__ = "custody_commission_appointments"
    id: Mapped[int] = mapped_column(primary_key=True)
    member: Mapped[str] = mapped_column(String(100))  # users.name
    order_ref: Mapped[str] = mapped_column(String(200))  # "zarządzenie nr 12/2026"
    appointed_on: Mapped[date] = mapped_column(Date)  # the order's date, effective from
    ends_on: Mapped[date | None] = mapped_column(Date)  # last day; NULL: until ended
    approver: Mapped[str] = mapped_column(String(100))  # users.name of the head who appointed
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_custody_commission_member", "member"),)
