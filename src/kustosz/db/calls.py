"""Tables of call recordings: the calls index and each phone source's intake state.

`calls` holds one row per stored call recording (its numbers in canonical form, so that a
search for any writing of a number is an index range scan; a number with no canonical form
under its digits, and as written beside them, issue 64 item 9). The `phone_*` tables are the
intake's memory: where it stopped reading Master.csv, which spool files it has already dealt
with, call records still waiting for their recording, counters and problems to show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime
from kustosz.kinds import check_in
from kustosz.states import SpoolOutcome


class Call(Base):
    """One stored call recording, as the PBX's call record (or its file name) describes it."""

    __tablename__ = "calls"
    # CASCADE: when the retention sweep deletes the recording, the numbers go with it (R2.2).
    recording_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The search key (phone_numbers.keep): canonical, else the digits (else the text) of the
    # number as written; "" for an unknown caller only.
    caller: Mapped[str] = mapped_column(String(32))
    callee: Mapped[str] = mapped_column(String(32))
    # The number as its source wrote it, where it has no canonical form; shown instead of the
    # key (migration 0048)
    caller_written: Mapped[str] = mapped_column(String(64), default="", server_default="")
    callee_written: Mapped[str] = mapped_column(String(64), default="", server_default="")
    direction: Mapped[str] = mapped_column(String(10))  # incoming|outgoing|internal|unknown
    uniqueid: Mapped[str] = mapped_column(String(64))
    disposition: Mapped[str] = mapped_column(String(20))  # "" when no call record was found
    no_cdr: Mapped[bool] = mapped_column(default=False)  # taken with what the file name tells

    @property
    def caller_shown(self) -> str:
        return self.caller_written or self.caller

    @property
    def callee_shown(self) -> str:
        return self.callee_written or self.callee

    __table_args__ = (
        Index("ix_calls_caller_start", "caller", "start_at"),
        Index("ix_calls_callee_start", "callee", "start_at"),
        Index("ix_calls_source_uniqueid", "source_id", "uniqueid"),
    )


class PhoneIntakeState(Base):
    """Counters and the Master.csv read position of one phone source (numbers only)."""

    __tablename__ = "phone_intake_state"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    cdr_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    cdr_lines: Mapped[int] = mapped_column(BigInteger, default=0)  # lines before cdr_offset
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_scope: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    waiting: Mapped[int] = mapped_column(default=0)  # files seen but not yet taken, last pass
    last_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_file_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # newest spool mtime
    last_intake_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PhoneSpoolItem(Base):
    """A spool file the intake has dealt with, so a rescan neither retakes nor recounts it.

    The file is named by a keyed hash of its path, never in clear: the path of an out-of-scope
    call holds its numbers, which must not be kept (R1.4).
    """

    __tablename__ = "phone_spool_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    item: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))  # SpoolOutcome (kustosz.states)
    # For skipped files: a file that changes afterwards is looked at again.
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("source_id", "item", name="uq_phone_spool_items"),
        CheckConstraint(check_in("outcome", SpoolOutcome), name="ck_phone_spool_items_outcome"),
    )


class PhoneCdrRecord(Base):
    """A Master.csv line read but not yet paired with its recording (kept only until paired
    or until it is too old to have one)."""

    __tablename__ = "phone_cdr_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    uniqueid: Mapped[str] = mapped_column(String(64))
    recordingfile: Mapped[str] = mapped_column(String(400))  # base name, "" when not logged
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())
    record: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_phone_cdr_uniqueid", "source_id", "uniqueid"),
        Index("ix_phone_cdr_file", "source_id", "recordingfile"),
        Index("ix_phone_cdr_read", "source_id", "read_at"),
    )


class PhoneProblem(Base):
    """An item the intake skipped, with the one-line reason shown in `phones status`."""

    __tablename__ = "phone_problems"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    item: Mapped[str] = mapped_column(String(400))
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_phone_problems_source_at", "source_id", "at"),)
