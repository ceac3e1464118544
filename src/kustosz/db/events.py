"""Tables of e-mail journal metadata and IT-activity events (R1.9, R1.10).

The material itself is the chunk file (JSONL, one line per message or event) stored as a
`Recording`; these rows are its search index. Every row points at the chunk that holds it,
with ON DELETE CASCADE, so when the retention sweep deletes a chunk its index rows go with
it and nothing about the mail or the event outlives the period (R2.2). Bodies are never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime


class MailMessage(Base):
    """Metadata of one journalled message (never its body)."""

    __tablename__ = "mail_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("recordings.id", ondelete="CASCADE"))
    # The full message (.eml) when the policy keeps bodies for it; none by default (R1.9).
    eml_recording_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("recordings.id", ondelete="SET NULL"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    line: Mapped[int] = mapped_column()  # line number inside the chunk file
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    date_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the Date header
    message_id: Mapped[str] = mapped_column(String(400))
    env_from: Mapped[str] = mapped_column(String(320))
    header_from: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    private: Mapped[bool] = mapped_column(default=False)
    journal: Mapped[str] = mapped_column(String(20))  # bcc | exchange
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. MIME defects

    __table_args__ = (
        Index("ix_mail_messages_recording", "recording_id"),
        Index("ix_mail_messages_eml", "eml_recording_id"),
        Index("ix_mail_messages_received", "received_at"),
        Index("ix_mail_messages_message_id", "message_id"),
        Index("ix_mail_messages_header_from", "header_from", "received_at"),
    )


class MailAddress(Base):
    """One address of a message in canonical form (lower case), for search by person."""

    __tablename__ = "mail_addresses"
    mail_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)  # from|to|cc|bcc|env_*
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")  # display name, if any

    __table_args__ = (Index("ix_mail_addresses_address", "address"),)


class MonitoringEvent(Base):
    """One IT-activity or security event as the office's tool reported it (R1.10)."""

    __tablename__ = "monitoring_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("recordings.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    line: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # the event's own time, else receipt
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    host: Mapped[str] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(255))
    app: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[int | None] = mapped_column(SmallInteger)  # syslog 0 (emerg) .. 7 (debug)
    message: Mapped[str] = mapped_column(String(500))  # excerpt; the whole line is in the chunk

    __table_args__ = (
        Index("ix_monitoring_events_recording", "recording_id"),
        Index("ix_monitoring_events_at", "at"),
        Index("ix_monitoring_events_host_at", "host", "at"),
        Index("ix_monitoring_events_user_at", "user", "at"),
        Index("ix_monitoring_events_category_at", "category", "at"),
        Index("ix_monitoring_events_source_at", "source_id", "at"),
    )


class IntakeCounter(Base):
    """How many items a mailbox or endpoint source took, refused or repaired, by reason."""

    __tablename__ = "monitoring_counters"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
