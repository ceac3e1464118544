"""How long the disk lasts (R6.3 dashboard): the last week's intake against the last week's
deletions, projected onto the free space of the data folder's disk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.db.deleted import Which, bytes_recorded_since, deleted_totals
from kustosz.db.models import Recording
from kustosz.states import RecordingState
from kustosz.words import count_pl

WINDOW_DAYS = 7
# Beyond a year a count of days says nothing an office can act on ("ok. 1224797 dni" on a
# nearly empty vault): the dashboard says "ponad rok".
HORIZON_DAYS = 366


@dataclass(frozen=True)
class Forecast:
    free_bytes: int
    total_bytes: int
    stored_bytes: int
    in_per_day: float
    out_per_day: float

    @property
    def net_per_day(self) -> float:
        return self.in_per_day - self.out_per_day

    @property
    def days_left(self) -> float | None:
        """Days until the disk is full at the present net growth; None when it does not grow
        (retention already deletes as much as comes in)."""
        if self.net_per_day <= 0:
            return None
        return self.free_bytes / self.net_per_day

    @property
    def lasts_pl(self) -> str:
        """How long the free space lasts, in the dashboard's words."""

        days = self.days_left
        if days is None:
            return "przyrost równoważony usuwaniem"
        if days > HORIZON_DAYS:
            return "wystarczy na ponad rok"
        if days < 1:
            return "wystarczy na mniej niż dobę"
        return f"wystarczy na ok. {count_pl(round(days), 'dzień', 'dni', 'dni')}"


def forecast(session: Session, free_bytes: int, total_bytes: int, now: datetime) -> Forecast:
    since = now - timedelta(days=WINDOW_DAYS)
    stored = session.execute(select(func.coalesce(func.sum(Recording.size), 0))
                             .where(Recording.state == RecordingState.STORED)).scalar_one()
    # Intake is material *recorded* in the window, whether still stored or already deleted
    # again (disk pressure); a backfill of old material is a one-off, not a rate.
    came_in = int(session.execute(select(func.coalesce(func.sum(Recording.size), 0)).where(
        Recording.state == RecordingState.STORED, Recording.start_at >= since)).scalar_one())
    came_in += bytes_recorded_since(session, since)
    went_out = deleted_totals(session, Which(deleted_from=since))[1]
    return Forecast(free_bytes, total_bytes, int(stored), came_in / WINDOW_DAYS,
                    went_out / WINDOW_DAYS)
