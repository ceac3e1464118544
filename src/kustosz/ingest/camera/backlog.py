"""What a camera's recorder owes the database while it is away (issue 27).

Recording never waits for the database: ffmpeg writes on into the session folder, and what
needs a row waits here, in the order it happened, until the database answers again.

- `Waiting`: the recorder's backlog, one ordered queue of its time line across sessions — a
  closed segment to index, a session to settle once its segments are in (ffmpeg ended), a gap
  to open where the camera stopped. In order, so that every segment is stamped and every gap
  placed exactly as if the database had never been away (the times come from the files and
  ffmpeg's stream times, never from when the row is written). The files stay in their session
  folders, and ffmpeg's list in each folder names them, so a serve that stops or dies meanwhile
  leaves them to the next start's recovery, as after a crash. It does not grow with the
  tries of a camera that is down: a session that left no segment file is settled at once (it
  needs no database and holds no place on the time line), and a gap already waiting is not
  queued again, only its cause brought up to date (the recorder).
- `OwedWrites`: the recorder's status, gap and alert rows that could not be written: best
  effort, never a reason to stop recording; written in order once the database answers or
  has room again (a status only as the latest one, an alert as the last word on it, a gap
  opened once however often the camera is tried).
- `Retry`: when to ask again (a bounded back-off, `db.outage.Backoff`), shared by both, and
  what the log says of the database: once that it is away, once that it answers again. Only a
  call the database answered ends an outage: a step that needed no call (a session that
  recorded nothing settled, a row owed rather than written, a row dropped for an error of its
  own) says nothing of the database, so it neither resets the pause nor is logged as its
  return.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kustosz.db.outage import Backoff, is_database_away, is_disk_full
from kustosz.ingest.camera.health import Failure
from kustosz.ingest.camera.segments import ListedSegment
from kustosz.ingest.camera.spool import Session

log = logging.getLogger(__name__)


GAP_OPEN = "gap-open"  # an owed open_gap (OwedWrites' key)


@dataclass
class OwedGap:
    """An open_gap owed while the database is away: a camera still down at the next try
    brings only its failure up to date."""

    since: datetime
    failure: Failure


@dataclass
class Waiting:
    """One step of a camera's time line that needs the database: a segment (``seg``), the
    settling of a session whose ffmpeg has ended (neither), a gap to open (``down``)."""

    session: Session | None
    seg: ListedSegment | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the session's facts when it closed
    down: tuple[datetime, Failure] | None = None
    before_gap: bool = False  # a segment recorded before the gap opened while it waited


class Retry:
    """When to ask the database again after it failed: now, until it fails; then after a
    pause that doubles up to ``limit_s``; now again once it answered. ``waiting``: how many
    segments wait for it (for the log)."""

    def __init__(self, first_s: float, limit_s: float, name: str = "?",
                 waiting: Callable[[], int] = lambda: 0) -> None:
        self._backoff = Backoff(first_s, limit_s)
        self._at = 0.0
        self.name, self._waiting = name, waiting
        self.failing_since: float | None = None  # time.monotonic() of the first failure
        self.full = False  # the last failure was no room to write (said once until it passes)
        self.silent = "database"  # what the failing calls wait on (its log lines name it)

    def due(self) -> bool:
        return time.monotonic() >= self._at

    def left_s(self) -> float:
        return max(0.0, self._at - time.monotonic())

    def failed(self, exc: BaseException) -> None:
        """The database did not answer (``exc``): asked again after a pause; the first
        failure since it last answered is logged."""
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            # what did not answer: the database, or the object store the segments go to
            # (index_batch.StoreTimeout) — a silent store is not told as the database's
            self.silent = getattr(exc, "waits_on", "database")
            log.warning("camera %s: the %s is away (%s); recording goes on, its "
                        "segments wait in the spool and its status and gaps are written when "
                        "it answers", self.name, self.silent, exc)
        self._at = time.monotonic() + self._backoff.delay()

    def no_room(self, exc: BaseException) -> None:
        """A write found no room (this disk's or the database's): asked again after a pause,
        like an outage, but said for what it is: the database answered, the disk is full
        (the disk watch raises the alarm and frees room)."""
        if not self.full:
            self.full = True
            log.warning("camera %s: no room to write its status and gaps (%s); they are "
                        "written when there is room again", self.name, exc)
        self._at = time.monotonic() + self._backoff.delay()

    def answered(self) -> None:
        """The database answered a call (nothing else may say so): asked at once from now on;
        the end of an outage is logged."""
        since, self.failing_since, self._at = self.failing_since, None, 0.0
        self.full = False
        self._backoff.reset()
        if since is not None:
            waiting = self._waiting()
            log.info("camera %s: the %s answers again after %.0f s%s", self.name,
                     self.silent, time.monotonic() - since,
                     f"; taking in the {waiting} segments that wait" if waiting else "")


Write = Callable[[], None]


class OwedWrites:
    """A recorder's health rows, written now if the database answers, else owed, in order."""

    def __init__(self, name: str, retry: Retry) -> None:
        self.name, self.retry = name, retry
        self.items: list[tuple[str, Write]] = []

    def write(self, key: str, fn: Write, latest: bool = False) -> None:
        """Write now, or owe it (the database away, or no room to write; or others owed
        before it: after them), so that the rows of a time line are written in the order it
        happened — a gap's close never before its opening, never dropped.
        ``latest``: only the last write of ``key`` matters (a status, an alert's state).
        Any other error is the caller's."""
        if latest:
            self.items = [item for item in self.items if item[0] != key]
        if self.items or not self.retry.due():
            self.items.append((key, fn))
            self.flush()
            return
        try:
            fn()
        except Exception as exc:
            if is_disk_full(exc):
                self.items.append((key, fn))
                self.retry.no_room(exc)
                return
            if not is_database_away(exc):
                raise
            self.items.append((key, fn))
            self.retry.failed(exc)
            return
        self.retry.answered()

    def owes_last(self, key: str, then: tuple[str, ...]) -> bool:
        """An item of ``key`` is owed, and nothing after it but items of ``then``."""
        for owed, _ in reversed(self.items):
            if owed == key:
                return True
            if owed not in then:
                return False
        return False

    def flush(self) -> None:
        """What is owed, oldest first, if it is time to ask again."""
        if not self.items or not self.retry.due():
            return
        while self.items:
            key, fn = self.items[0]
            try:
                fn()
            except Exception as exc:
                if is_disk_full(exc):
                    self.retry.no_room(exc)
                    return
                if is_database_away(exc):
                    self.retry.failed(exc)
                    return
                # Dropped: its own error, which says nothing of whether the database answers
                log.exception("camera %s: writing its %s failed; not tried again", self.name,
                              key)
            else:
                self.retry.answered()
            self.items.pop(0)
