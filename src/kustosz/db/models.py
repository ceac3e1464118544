"""The index of recorded material and everything that governs it."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kustosz.db.dependents import drop_dependents
from kustosz.db.types import BigId, UTCDateTime
from kustosz.kinds import SourceKind, check_in
from kustosz.states import AlertRow, RecordingState, SweepMode


class Base(DeclarativeBase):
    pass


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # SourceKind (kustosz.kinds)
    retention: Mapped[str | None] = mapped_column(String(40))  # overrides the policy's kind
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Longest item seen; bounds the index scan of "what overlaps [a, b)" queries.
    max_duration_s: Mapped[float] = mapped_column(default=0.0)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (CheckConstraint(check_in("kind", SourceKind), name="ck_sources_kind"),)


SESSION_MAX = 200  # longer session names are not copied out of meta (migration 0024)


def session_of(meta: dict[str, Any] | None) -> str | None:
    """meta["session"], the recorder session of a camera segment, as `Recording.session`
    keeps it."""
    value = (meta or {}).get("session") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and len(value) <= SESSION_MAX else None


def _session_default(context: Any) -> str | None:
    # Core inserts (the recorders' batches, the intake) give meta and no session.
    return session_of(context.get_current_parameters().get("meta"))


class Recording(Base):
    """One stored piece of material: a video segment, a call, a mail or event chunk."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    kind: Mapped[str] = mapped_column(String(20))  # its source's kind
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(400), unique=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending: file being written; stored: whole and indexed; deleting: the sweep has begun.
    state: Mapped[str] = mapped_column(String(12), default=RecordingState.PENDING)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the server's clock was found wrong while this was recorded (kustosz.clock):
    # the later reading of its start, from which retention counts instead of start_at.
    retain_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sweep_id: Mapped[int | None] = mapped_column(BigInteger)
    # The object store's version of the content (StoredFile.version_id): deletes and the lock
    # name it. None on the local folder and for material stored before migration 0019.
    version_id: Mapped[str | None] = mapped_column(String(255))
    # The local file as it was when its content was last hashed and found to be `sha256`
    # (kustosz.storage.proof): served on it without hashing again while it is unchanged.
    file_stamp: Mapped[str | None] = mapped_column(String(120))
    # meta["session"] copied (session_of; set on insert and whenever meta is assigned): the
    # only part of meta the camera timeline and the playlists read, so that the index below
    # holds all they read and a camera-hour never touches the table (bench/retention.py:
    # rows written as 100 recorders write them put an hour on ~360 table pages).
    session: Mapped[str | None] = mapped_column(String(SESSION_MAX), default=_session_default)

    __table_args__ = (
        # Covers `index.recordings.spans` (timeline, playlists) at any history length; its
        # prefix serves every other (source, time) query. PostgreSQL has no implicit row id in
        # an index, so `id` is in it; SQLite keeps the rowid there anyway.
        Index("ix_recordings_source_span", "source_id", "start_at", "end_at", "state",
              "session", "id"),
        Index("ix_recordings_state_expires", "state", "expires_at"),
        Index("ix_recordings_sweep", "sweep_id"),
        CheckConstraint(check_in("kind", SourceKind), name="ck_recordings_kind"),
        CheckConstraint(check_in("state", RecordingState), name="ck_recordings_state"),
    )


@event.listens_for(Recording, "before_delete")
def _dependents_first(_mapper: Any, connection: Any, target: Recording) -> None:
    """On a partitioned index no foreign key cascades (migration 0062): what referenced the
    row goes first, as `ON DELETE CASCADE` did (kustosz.db.dependents)."""
    drop_dependents(connection, [target.id])


@event.listens_for(Recording.meta, "set")
def _meta_set(target: Recording, value: Any, _old: Any, _initiator: Any) -> None:
    target.session = session_of(value)


class Hold(Base):
    """Zabezpieczenie nagrania (R2.3): keeps material until explicitly released."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    basis: Mapped[str] = mapped_column(Text)
    case_ref: Mapped[str | None] = mapped_column(String(200))
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)


class HoldSource(Base):
    __tablename__ = "hold_sources"
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    __table_args__ = (Index("ix_hold_sources_source", "source_id"),)


class HoldItem(Base):
    __tablename__ = "hold_items"
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), primary_key=True)
    recording_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    __table_args__ = (Index("ix_hold_items_recording", "recording_id"),)


class Deletion(Base):
    """What was deleted, when and by which rule — never the content (R2.2)."""

    __tablename__ = "deletions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int] = mapped_column(BigInteger)
    recording_id: Mapped[int] = mapped_column(BigInteger)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The messages or events a deleted chunk held (its meta "lines"; migration 0042): what the
    # accountability report counts once the file is gone. NULL for any other file.
    entries: Mapped[int | None] = mapped_column(default=None)
    __table_args__ = (Index("ix_deletions_sweep", "sweep_id"),)



class DeletionDay(Base):
    """A whole local day of one source deleted at once (issue 68 item 3, PostgreSQL): how
    many, their bytes and span, and the list itself — `id:sha256:size:start:end` per line,
    sorted by id, gzip — whose SHA-256 the row and the sweep's audit entry carry (R2.2)."""

    __tablename__ = "deletion_days"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int] = mapped_column(BigInteger)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_start: Mapped[datetime] = mapped_column(UTCDateTime())
    last_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rule: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    list_sha256: Mapped[str] = mapped_column(String(64))
    listing: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (UniqueConstraint("sweep_id", "source_id", "day", name="uq_deletion_days"),
                      Index("ix_deletion_days_source_day", "source_id", "day"))


class PartitionSweep(Base):
    """A day partition a sweep detached, and how far its removal got (`detached`,
    `recorded`, `dropped`): what crash recovery finishes (docs/design.md)."""

    __tablename__ = "partition_sweeps"
    sweep_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))

class Sweep(Base):
    __tablename__ = "sweeps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    mode: Mapped[str] = mapped_column(String(20))  # SweepMode (kustosz.states)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted: Mapped[int] = mapped_column(default=0)
    __table_args__ = (CheckConstraint(check_in("mode", SweepMode), name="ck_sweeps_mode"),)


class AuditEntry(Base):
    """Append-only, hash-chained (DESIGN invariant 3)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(400))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(60))  # AlertRow (kustosz.alert_kinds)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    message: Mapped[str] = mapped_column(Text)  # Polish, as the raiser wrote it: the record
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The same in English, when the raiser words it so; a device's or program's own detail
    # (English, as its log says it), kept apart from the Polish sentence (migration 0052).
    message_en: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint(check_in("kind", AlertRow), name="ck_alerts_kind"),)


class AlertDelivery(Base):
    """One attempt to tell someone about alert rows: one message through one channel
    (kustosz.alerts.deliveries). Kept for good, unlike the notifier's queues, so that the
    accountability report can say who was told of each alert and when (issue 53)."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the rows it covered
    event: Mapped[str] = mapped_column(String(20))  # start, repeat, clear, once, past, digest
    channel: Mapped[str] = mapped_column(String(60))  # its name in [alerts.<name>]
    channel_kind: Mapped[str] = mapped_column(String(60))  # the sender's kind
    # as the channel addresses them: e-mail addresses, a webhook's host, host:port of syslog;
    # never a password, a token nor a URL's path or query
    recipients: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(10))  # "sent" or "failed"
    reason: Mapped[str | None] = mapped_column(String(60))  # ChannelError.reason when failed
    # sent while the database was away, written once it answered again
    from_memory: Mapped[bool] = mapped_column(default=False)
    __table_args__ = (CheckConstraint("outcome IN ('sent', 'failed')",
                                      name="ck_alert_deliveries_outcome"),)


class InputRefusal(Base):
    """What one outside device sent that Kustosz refused — or, for senders anyone could forge,
    one class of them for one reason (migration 0046): counted for /metrics, and the alert
    row the refusals of the last hour are folded into (kustosz.ingest.refusals)."""

    __tablename__ = "input_refusals"
    id: Mapped[int] = mapped_column(primary_key=True)
    device: Mapped[str] = mapped_column(String(200))  # a known device, or a class of senders
    reason: Mapped[str] = mapped_column(String(300), default="")  # "": a known device's row
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    alert_count: Mapped[int] = mapped_column(BigInteger)  # refusals folded into alert_id
    # Of a class of forgeable senders, within alert_id's interval: how many distinct addresses
    # (per process, added up), the first few by name and the last (migration 0046).
    addresses: Mapped[int] = mapped_column(BigInteger, default=0)
    sample: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_address: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("device", "reason",
                                       name="uq_input_refusals_device_reason"),)


class Setting(Base):
    """Small facts the vault keeps about itself (e.g. the digest of the policy in force)."""

    __tablename__ = "vault_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
