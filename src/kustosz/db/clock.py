"""Jumps of the server's clock and of the cameras' clocks (issue 14 item 9, kustosz.clock)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kustosz.db.models import Base
from kustosz.db.types import BigId, UTCDateTime


class ClockJump(Base):
    """One step of a clock: the server's wall clock against its steady clock, or a camera's
    clock (RTCP) against the server's. ``delta_s`` > 0: the clock moved forward."""

    __tablename__ = "clock_jumps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())  # by the clock after the jump
    clock: Mapped[str] = mapped_column(String(20))  # server | camera | restart
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    delta_s: Mapped[float] = mapped_column()
    before_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last reading before
    rebased: Mapped[int] = mapped_column(default=0)  # recordings whose retention base moved
    # A correction (the clock back on a time line it left by a jump forward): that forward
    # jump (issue 27 item 7 c; kustosz.clock.undo). No foreign key: migration 0030.
    corrects_id: Mapped[int | None] = mapped_column(BigId)


class ClockRebased(Base):
    """A recording's retention base as one jump (or an approved undo, under the correction's
    id) changed it: the value before and the value set, so that an undo puts back exactly
    what that jump moved, and only where nothing has changed it since (kustosz.clock.undo)."""

    __tablename__ = "clock_rebased"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    jump_id: Mapped[int] = mapped_column(BigId, ForeignKey("clock_jumps.id"))
    recording_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("recordings.id", ondelete="CASCADE"))
    retain_from_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retain_from_after: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_clock_rebased_jump", "jump_id", "recording_id"),
        Index("ix_clock_rebased_recording", "recording_id"),
    )
