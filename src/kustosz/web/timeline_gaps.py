"""The gaps (przerwy) a camera's bar on /cameras draws and lists (issue 50 item 1).

A camera that stopped recording has nothing stored in the period shown, which is exactly when
its gap matters: the recorder's gap rows are read whatever the recordings are, a gap still open
is said to last ("— trwa") with the time it began even when that was days before the window,
and a recorder reported down with no gap row written (the database was away when it failed)
still shows one from the status's "since". Holes between stored segments are added as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.cameras.gap_causes import CAUSES_PL
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.models import Source
from kustosz.index.recordings import Span
from kustosz.states import RecorderState
from kustosz.web.media_playlists import GAP_TOLERANCE_S

HOLE_PL = "brak nagrań"
# A recorder in these states records nothing and is retried: a gap that lasts.
NOT_RECORDING = {RecorderState.DOWN: "rejestrator nie nagrywa",
                 RecorderState.DISK_FULL: CAUSES_PL["disk_full"]}


@dataclass(frozen=True)
class BarGap:
    """One gap on a bar: where it is drawn (percent of the window), the part inside the window,
    why, and when it began and ended — ``until`` None while it lasts."""

    left: float
    width: float
    start: datetime
    end: datetime
    why: str
    since: datetime
    until: datetime | None
    since_pl: str  # "12:42" on the day shown, "23.11 12:42" when it began before


def _since_pl(at: datetime, day: date, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%H:%M}" if local.date() == day else f"{local:%d.%m %H:%M}"


def bar_gaps(s: Session, source: Source, window: tuple[datetime, datetime], now: datetime,
             recs: Sequence[Span], shortest: float,
             pct: Callable[[datetime, datetime], tuple[float, float]], day: date,
             tz: tzinfo) -> list[BarGap]:
    """The gaps of ``source`` inside ``window`` up to ``now`` (nothing is drawn into the
    future), longest-ago first; a closed one shorter than ``shortest`` seconds is left out at
    this scale, an open one never."""
    start, end = window
    stop = min(end, now)
    if stop <= start:
        return []
    found: list[tuple[datetime, datetime | None, str]] = [
        (g.start_at, g.end_at, CAUSES_PL.get(g.cause, g.cause))
        for g in s.execute(select(Gap).where(
            Gap.source_id == source.id, Gap.start_at < stop,
            (Gap.end_at.is_(None)) | (Gap.end_at > start))).scalars()]
    status = s.get(RecorderStatus, source.id)
    if (status is not None and status.state in NOT_RECORDING and status.since < stop
            and not any(until is None for _, until, _ in found)):
        found.append((status.since, None, NOT_RECORDING[RecorderState(status.state)]))
    if recs:
        edge = recs[0].start_at
        for r in recs:
            if (r.start_at - edge).total_seconds() > GAP_TOLERANCE_S:
                found.append((edge, r.start_at, HOLE_PL))
            edge = max(edge, r.end_at)
    out = []
    for since, until, why in sorted(found, key=lambda g: g[0]):
        a, b = max(since, start), min(until or stop, stop)
        if b <= a or (until is not None and (b - a).total_seconds() < shortest):
            continue
        out.append(BarGap(*pct(a, b), a, b, why, since, until, _since_pl(since, day, tz)))
    return out
