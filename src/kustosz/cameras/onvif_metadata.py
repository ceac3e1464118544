"""What a camera added over ONVIF said, as a copy's manifest and the playback page read it:
its own clock readings (camera_clock_readings, written by cameras/onvif_clock.py — the offset
measured at the time of the recording, issue 34 item 3) and its motion and input intervals
(camera_marks, written by cameras/onvif_events.py, item 4). Apart from those two so that
making a copy or showing a page does not load the ONVIF client."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.cameras import CameraClockReading, CameraMark

MARK_WORDS = {"motion": "ruch w obrazie", "input": "wejście alarmowe kamery"}
MANIFEST_READINGS = 50  # a copy's manifest names at most this many readings of its period
BEFORE = timedelta(days=1)  # and the last one before the period, this far back at most


def readings_between(session: Session, source_id: int, start: datetime,
                     end: datetime, margin: timedelta = BEFORE) -> list[dict[str, object]]:
    """The readings a copy's manifest names: those of its period, and the last one before
    it within ``margin`` (at most MANIFEST_READINGS, the latest kept)."""
    rows = list(session.execute(
        select(CameraClockReading).where(CameraClockReading.source_id == source_id,
                                         CameraClockReading.measured_at >= start - margin,
                                         CameraClockReading.measured_at <= end)
        .order_by(CameraClockReading.measured_at.desc()).limit(MANIFEST_READINGS)).scalars())
    return [{"measured_at": r.measured_at.isoformat(), "offset_s": round(r.offset_s, 1),
             "ntp": r.ntp} for r in reversed(rows)]


def marks_between(s: Session, source_id: int, start: datetime,
                  end: datetime) -> list[CameraMark]:
    """The intervals of a camera that overlap [start, end] (an open one lasts until now)."""
    return list(s.execute(select(CameraMark).where(
        CameraMark.source_id == source_id, CameraMark.start_at <= end,
        (CameraMark.end_at.is_(None)) | (CameraMark.end_at >= start))
        .order_by(CameraMark.start_at)).scalars())
