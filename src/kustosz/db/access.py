"""Tables of access (R3): web accounts and sessions, API tokens, individual authorisations,
viewing sessions (the access record: who, what, from when to when, purpose, case, witness,
client address) and each served media request, listening protocols (001 annex 2); employees
and their acknowledgments of the monitoring notice (R6.1)."""

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
from kustosz.kinds import Action, check_in


class Account(Base):
    """The login side of a user: the optional TOTP secret and the last time step it accepted
    (a code is good once), the one-time password flag, directory login."""

    __tablename__ = "access_accounts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    one_time: Mapped[bool] = mapped_column(default=False)  # must set a new password at login
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The directory (LDAP/AD) proves this person's password; no local hash is kept or checked.
    directory: Mapped[bool] = mapped_column(default=False)


class WebSession(Base):
    """A browser session; the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "access_web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it ended: signed out, or a password change, reset, deactivation or role change of
    # its user (kustosz.access.accounts.end_credentials); a long answer it opened says so when
    # it stops (kustosz.access.lapse). NULL: still open, or ended before migration 0047.
    end_reason: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_access_web_sessions_user", "user_id"),)


class ApiToken(Base):
    """A scoped token for automation (Authorization: Bearer …); only its hash is kept."""

    __tablename__ = "access_api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it ended: revoked by a person, or a password change, reset, deactivation or role
    # change of its owner (kustosz.access.accounts.end_credentials).
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_access_api_tokens_user", "user_id"),)


class AlarmDevice(Base):
    """A browser that asked to be told of alarms by Web Push (issue 65 item 3): the push
    service's endpoint is a capability (anyone holding it may push to the device), so it is
    never shown nor logged, and found by its SHA-256; the keys its messages are encrypted to
    (RFC 8291); the language they are worded in; the web session that last confirmed it
    (signing out there ends it, as does anything that ends the user's credentials)."""

    __tablename__ = "alarm_devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64))
    p256dh: Mapped[str] = mapped_column(String(200))  # the browser's public key, base64url
    auth: Mapped[str] = mapped_column(String(100))  # its authentication secret, base64url
    lang: Mapped[str] = mapped_column(String(5))
    session_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("endpoint_hash", name="uq_alarm_devices_endpoint"),
                      Index("ix_alarm_devices_user", "user_id"))


class LoginThrottle(Base):
    """Failed logins counted per account name (known or not) and per client address; each
    failure past the free ones doubles the wait before the next attempt, up to a cap."""

    __tablename__ = "access_login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # account:NAME | address:IP
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginUnlock(Base):
    """A one-time link the administrator gives a person kept out by login waits
    (kustosz.access.unlock): only its SHA-256 is kept."""

    __tablename__ = "access_login_unlocks"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_why: Mapped[str | None] = mapped_column(String(40))  # used, wrong passwords, replaced
    __table_args__ = (Index("ix_access_login_unlocks_user", "user_id"),)


class Authorisation(Base):
    """Upoważnienie (R3.2): holder, scope (sources or source kinds × actions), issuer, dates."""

    __tablename__ = "access_authorisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # source names
    source_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # camera | phone
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)  # live|playback|...
    basis: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(100))  # users.name of the approver
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # The holder's position when issued, where the preset lists the positions that may view
    # recordings [003 §3.4]: the authorisation opens nothing once the holder's position differs.
    position: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_access_authorisations_holder", "holder_id"),)


class ViewingSession(Base):
    """The access record of one viewing or listening: stated before anything plays; every
    media URL is bound to it by its token and extends it (last_at, served, bytes)."""

    __tablename__ = "access_viewing_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(100))
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("access_authorisations.id"))
    action: Mapped[str] = mapped_column(String(12))  # Action (kustosz.kinds)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    recording_id: Mapped[int | None] = mapped_column(BigInteger)  # a call (listening)
    copy_id: Mapped[int | None] = mapped_column(ForeignKey("custody_copies.id"))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purpose: Mapped[str] = mapped_column(Text)
    case_ref: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("custody_requests.id"))
    # The person present (R3.4) as named when the session opened; since 0032 also who it is:
    # an account or an employee of the register (older rows keep the typed name only).
    witness: Mapped[str | None] = mapped_column(String(200))
    witness_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    witness_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    client: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    served: Mapped[int] = mapped_column(default=0)
    bytes_served: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        Index("ix_access_viewing_sessions_user", "user_id", "started_at"),
        CheckConstraint(check_in("action", Action), name="ck_access_viewing_sessions_action"),
    )


class AccessEntry(Base):
    """One served media request (playlist, segment, audio file, copy download).

    The rows form their own hash chain (seq, prev_hash, hash; kustosz.audit.access_chain),
    whose head each audit checkpoint seals into the main audit log."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    viewing_id: Mapped[int] = mapped_column(ForeignKey("access_viewing_sessions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    what: Mapped[str] = mapped_column(String(400))
    recording_id: Mapped[int | None] = mapped_column(BigInteger)
    client: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_access_log_viewing", "viewing_id"),
                      UniqueConstraint("seq", name="uq_access_log_seq"))


class ListeningProtocol(Base):
    """Protokół z odsłuchania rozmowy (001 annex 2), attached to the request or case."""

    __tablename__ = "access_listening_protocols"
    id: Mapped[int] = mapped_column(primary_key=True)
    viewing_id: Mapped[int] = mapped_column(ForeignKey("access_viewing_sessions.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("custody_requests.id"))
    case_ref: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pdf: Mapped[str] = mapped_column(String(400))  # relative to the data folder
    made_by: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Employee(Base):
    """A person employed by the office (R6.1): imported from CSV (or the directory)."""

    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # HR/AD id
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)  # dopuszczenie do pracy
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeAcknowledgment(Base):
    """Oświadczenie pracownika o zapoznaniu się z informacją o monitoringu (003 annex 2)."""

    __tablename__ = "notice_acknowledgments"
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    notice_version: Mapped[str] = mapped_column(String(40))
    acknowledged_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("employee_id", "notice_version",
                                       name="uq_notice_ack_employee_version"),)


class SupportGrant(Base):
    """A time-boxed authorisation an office's head gives the installation's administrator to
    reach the office's material for support (issue 67 item 2; kustosz.access.support)."""

    __tablename__ = "access_support_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(100))  # users.name of the approver
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (Index("ix_access_support_grants_until", "until"),)
