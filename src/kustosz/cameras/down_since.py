"""Since when a camera has not recorded: one time for every page and alarm (issue 65).

A dead camera showed two times (the dashboard 03:45, /cameras 03:43): the recorders' table
read its status row's `since`, which moves at every change of state — and a recorder
retrying a dead camera changes state at each try ("connecting", then "down"), so it said
the last try, or serve's restart. The time that is true is where the recording stopped: the
start of the camera's open gap, which the recorder opens at the end of its last stored
segment (kustosz.ingest.camera.health.open_gap) and which restarts of serve keep. A recorder
reported down with no gap row (the database was away when it failed) has only its status's
time, which is then the best there is.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.states import RecorderState

# A recorder in these states records nothing: without a gap row, its status says since when.
NOT_RECORDING = frozenset({RecorderState.DOWN, RecorderState.DISK_FULL})
# ... and the states a recorder goes through while it tries again: the camera's row says since
# when it has not recorded, not since the last try
TRYING = NOT_RECORDING | {RecorderState.CONNECTING}


def down_since(s: Session, source_ids: Collection[int] | None = None
               ) -> dict[int, tuple[datetime, str | None]]:
    """Each camera that does not record now: since when, and its open gap's cause (None
    when there is no gap row yet)."""
    gaps = select(Gap.source_id, Gap.start_at, Gap.cause).where(Gap.end_at.is_(None))
    status = select(RecorderStatus.source_id, RecorderStatus.since).where(
        RecorderStatus.state.in_(list(NOT_RECORDING)))
    if source_ids is not None:
        gaps = gaps.where(Gap.source_id.in_(list(source_ids)))
        status = status.where(RecorderStatus.source_id.in_(list(source_ids)))
    out: dict[int, tuple[datetime, str | None]] = {}
    for source_id, start, cause in s.execute(gaps.order_by(Gap.start_at)).all():
        out.setdefault(source_id, (start, cause))  # the earliest open one: one hole
    for source_id, since in s.execute(status).all():
        out.setdefault(source_id, (since, None))
    return out


def shown_since(state: str, status_since: datetime,
                down: tuple[datetime, str | None] | None) -> datetime:
    """The "since" of a recorder's row in a table: while its recorder tries a camera that
    does not record, since when it has not (retries and restarts do not move it); otherwise
    since when it is in its state (stopped, switched off, waiting for its hours)."""
    if down is not None and state in TRYING:
        return down[0]
    return status_since
