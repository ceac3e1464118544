"""Jumps of the server's clock and of the cameras' clocks (issue 14 item 9, kustosz.clock)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
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
