"""Where ffmpeg writes a camera's segments, and how what it left is taken in.

`<data>/spool/cameras/<source id>/<session>/`: one folder per ffmpeg run (session) holding
the segments, ffmpeg's list of closed segments and `anchor`, the wall-clock time of the
session's stream time 0. The spool is on the same disk as the media, so a finished segment
enters storage by rename (ingest.files.adopt_file).

Wall-clock times: ffmpeg closes a segment when the first packet of the next one arrives, so a
closed segment file's mtime is (arrival time of) its end on the stream time line; the anchor
is the smallest mtime − end seen (delays only ever make it larger).

A jump of the server's clock (issue 14 item 9, kustosz.clock) breaks that rule: after a
forward jump the smallest mtime − end is the old clock's, and every later segment would be
stamped as early as the old clock said. Each segment therefore keeps both readings: the
anchor's, as `start_at`, and its own file's (and the watch's highest time, if the clock went
back), as `retain_from` when later by more than the threshold; retention counts from it. When
the watch reports a jump, the session learns its anchor anew from the first segment the new
clock stamped.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kustosz import clock
from kustosz.cameras.codecs import browser_plays
from kustosz.clock.rebase import later_start
from kustosz.clock.watch import THRESHOLD_S
from kustosz.fsutil import write_atomic
from kustosz.ingest.camera import recovery
from kustosz.ingest.camera.command import LIST_NAME, SEGMENT_GLOB, SEGMENT_PATTERN
from kustosz.ingest.camera.index_batch import adopt_segment
from kustosz.ingest.camera.segments import (
    GrowingHash,
    ListedSegment,
    PipedSegmentList,
    SegmentList,
    codec_of,
    parse_rows,
)
from kustosz.ingest.files import SOUND_CHECKED
from kustosz.vault import Vault

log = logging.getLogger(__name__)
ANCHOR_NAME = "anchor"
# The anchor file is written again only when the anchor moved this far from what it holds (it
# moves by milliseconds with each segment closed a little sooner than all before, early in a
# session). It matters only after a crash, for the unfinished segment chained to the last
# listed one: a stale anchor is never earlier than the true one, so that segment may start
# this much later than the one before it ended — a gap too small to count, never an overlap.
ANCHOR_STEP_S = 0.05
# What asks start-up recovery to stop (SIGTERM): an event, or a callable that says so.
Stop = threading.Event | Callable[[], bool] | None


def spool_root(vault: Vault) -> Path:
    return vault.root / "spool" / "cameras"


def new_session(root: Path, source_id: int) -> tuple[str, Path]:
    session = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder = root / str(source_id) / session
    folder.mkdir(parents=True)
    return session, folder


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class Session:
    """One ffmpeg run: its folder, list reader and wall-clock anchor."""

    vault: Vault
    source_id: int
    name: str
    folder: Path
    meta: dict[str, Any] = field(default_factory=dict)
    anchor: float | None = None
    last_end: datetime | None = None
    first_start: datetime | None = None  # of the first segment taken (a gap ends there)
    taken: int = 0
    jumped: bool = False  # the last segment taken was stamped by a clock that had just jumped
    # Several nodes (kustosz.cluster): asked with a segment's span before it is indexed; a
    # segment it refuses (the node lost the camera's lease) is discarded, never indexed.
    admit: Callable[[datetime, datetime], bool] | None = None
    # Settling (serve stopping or starting): index at once rather than wait for the batch.
    urgent: bool = False
    # Settling: each segment is checked against what the camera has stored already (an
    # earlier, interrupted recovery), never stored over the same seconds.
    recovering: bool = False

    def __post_init__(self) -> None:
        self.reader: SegmentList | PipedSegmentList = SegmentList(self.folder / LIST_NAME)
        self.listed = 0  # rows read from ffmpeg's list: the segment being written is next
        self.growing: GrowingHash | None = None
        self._generation = clock.generation(self.vault)
        self._reanchor = False
        self._anchor_kept: float | None = None  # what the anchor file holds
        stored = self.folder / ANCHOR_NAME
        if stored.exists():
            try:
                self.anchor = self._anchor_kept = float(stored.read_text())
            except ValueError:
                self.anchor = None

    def _learn_anchor(self, path: Path, seg: ListedSegment) -> None:
        candidate = path.stat().st_mtime - seg.end
        generation = clock.generation(self.vault)
        if generation != self._generation:
            self._generation, self._reanchor = generation, True
        self.jumped = False
        if self._reanchor and self.anchor is not None and \
                abs(candidate - self.anchor) > THRESHOLD_S:
            # The first file the new clock stamped (one closed before the jump still agrees
            # with the old anchor): from here on, its readings.
            self.anchor, self._reanchor, self.jumped = None, False, True
        if self.anchor is None or candidate < self.anchor:
            self.anchor = candidate
            if self._anchor_kept is None or abs(self._anchor_kept - candidate) >= ANCHOR_STEP_S:
                write_atomic(self.folder / ANCHOR_NAME, repr(candidate))
                self._anchor_kept = candidate

    def take(self, seg: ListedSegment, extra: dict[str, Any] | None = None
             ) -> tuple[datetime, datetime] | None:
        """Take one closed segment into the vault; returns its wall-clock span."""
        path = self.folder / seg.name
        if not path.is_file():
            return None  # already taken (a re-read list) or never written
        self._learn_anchor(path, seg)
        assert self.anchor is not None
        start, end = _at(self.anchor + seg.start), _at(self.anchor + seg.end)
        if self.last_end is not None and \
                timedelta(0) < self.last_end - start < timedelta(seconds=THRESHOLD_S):
            # The anchor learnt from this segment is earlier than the one the previous was
            # stamped with (that file's close was delayed: a loaded machine). One stream's time
            # line has no overlaps: it starts where the previous ended. (A step of a clock,
            # THRESHOLD_S or more, is kustosz.clock's business.)
            start = self.last_end
            end = max(end, start)
        moved = None
        if self.recovering:
            start, end, moved = self._clear_of_stored(seg.name, start, end)
        hashed = self._hash_of(path)
        # R1.3: ffmpeg wrote it with -an (and settle checked it): playback need not probe it
        meta = {**self.meta, **(extra or {}), "session": self.name, "segment": seg.name,
                "stream_start": seg.start, "stream_end": seg.end, SOUND_CHECKED: hashed[1]}
        if moved is not None:
            meta["time_reconstructed"] = {**moved, "evidence": {
                **moved["evidence"], "derived": {"from": "segment list", "anchor": self.anchor}}}
        if adopt_segment(self.vault, self.source_id, path, start, end, meta,
                         self._later_reading(path, start, seg.end - seg.start),
                         hashed, urgent=self.urgent, admit=self.admit) is None:
            self._refused(path, start, end)
            return None
        self._taken(start, end)
        return start, end

    def _taken(self, start: datetime, end: datetime) -> None:
        self.last_end, self.taken = end, self.taken + 1
        self.first_start = self.first_start or start

    def _refused(self, path: Path, start: datetime, end: datetime) -> None:
        """``admit`` refused the segment (asked by the batch, right before its row would be
        written)."""
        log.warning("session %s: discarding %s (%s to %s): recorded without this node's "
                    "lease of the camera", self.name, path.name, start.isoformat(),
                    end.isoformat())
        path.unlink(missing_ok=True)

    def _later_reading(self, path: Path, start: datetime, length: float) -> datetime | None:
        """The later of the other readings of the start, if the anchor's is behind it by
        more than the threshold (kustosz.clock): the file's own time, the highest time the
        server's clock has shown."""
        by_file = _at(path.stat().st_mtime - length)
        behind = clock.lag_for(self.vault, start, start + timedelta(seconds=length))
        limit = timedelta(seconds=THRESHOLD_S)
        return later_start(start + limit, by_file, start + timedelta(seconds=behind))

    def _hash_of(self, path: Path) -> tuple[int, str]:
        """Size and SHA-256 of a closed segment: the rest of what `hash_ahead` began while
        ffmpeg wrote it, or the whole file (a segment settled after a crash)."""
        growing = self.growing
        if growing is not None and growing.path == path:
            self.growing = None
            return growing.finish()
        return GrowingHash(path).finish()

    def hash_ahead(self) -> None:
        """Hash what ffmpeg has written of the open segment so far (the recorder calls this
        whenever it wakes): the closed segment then needs only its tail read."""
        path = self.folder / (SEGMENT_PATTERN % self.listed)
        if self.growing is None or self.growing.path != path:
            self.growing = GrowingHash(path)
        self.growing.advance()

    def follow_pipe(self, fd: int) -> PipedSegmentList:
        """Read ffmpeg's list from the pipe ``fd`` (kept in the list file as it arrives)."""
        self.reader = PipedSegmentList(fd, self.folder / LIST_NAME)
        return self.reader

    def poll(self) -> list[ListedSegment]:
        rows = self.reader.poll()
        self.listed += len(rows)
        return rows

    def close_reader(self) -> None:
        if isinstance(self.reader, PipedSegmentList):
            self.reader.close()

    def settle(self, stop: Stop = None) -> int:
        """After ffmpeg is gone: take every listed segment left and each unlisted one for what
        it really holds (or discard it); then remove the folder. Idempotent (a kill anywhere,
        then again: each segment once, at the same time; see kustosz.ingest.camera.recovery);
        ``stop`` (an event or a callable) is asked between segments, and a stop leaves the
        rest in the folder for the next start. Returns how many segments were taken."""
        stopping = _stopper(stop)
        self.urgent = self.recovering = True
        self.close_reader()
        listed = parse_rows((self.folder / LIST_NAME).read_text("utf-8", "replace")) \
            if (self.folder / LIST_NAME).exists() else []
        if stopping():
            return 0
        if not any(self.folder.glob(SEGMENT_GLOB)):  # nothing left: no database needed
            recovery.drop_plan(self.folder)
            shutil.rmtree(self.folder, ignore_errors=True)
            return 0
        indexed = recovery.indexed(self.vault, self.source_id, self.name)
        plan = recovery.plan_unlisted(self.folder, listed, self._settled_anchor(listed),
                                      indexed, stopping)
        if plan is None:
            return 0
        taken = 0
        for seg in listed:
            path = self.folder / seg.name
            if not path.is_file():
                continue  # taken by an earlier run (or never written)
            if stopping():
                return taken
            # R1.3: what a crash left is checked like the recorder checks a session's first
            # segment (ffmpeg runs with -an; a file with sound is never kept).
            if codec_of(path)[1]:
                log.error("session %s: discarding %s, it holds sound", self.name, seg.name)
                path.unlink(missing_ok=True)
                continue
            self._after_stored(indexed, seg.name)
            taken += self.take(seg) is not None
        for placed in sorted(plan.values(), key=recovery.order):
            path = self.folder / placed.name
            if not path.is_file():
                continue
            if stopping():
                return taken
            taken += self._take_placed(path, placed)
        recovery.drop_plan(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        return taken

    def _settled_anchor(self, listed: list[ListedSegment]) -> float | None:
        """The anchor as taking the listed segments still here will leave it (the smallest
        mtime − end, `_learn_anchor`)."""
        anchor = self.anchor
        for seg in listed:
            try:
                candidate = (self.folder / seg.name).stat().st_mtime - seg.end
            except FileNotFoundError:
                continue
            anchor = candidate if anchor is None else min(anchor, candidate)
        return anchor

    def _after_stored(self, indexed: dict[str, recovery.Stored], name: str) -> None:
        """The segment before ``name`` is in the index: the next starts no earlier than its
        stored end (an earlier run stamped it, perhaps with an anchor a few ms apart)."""
        number = recovery.number_of(name)
        before = indexed.get(f"seg{number - 1:08d}.ts") if number else None
        if before is not None:
            end = _at(before.end)
            self.last_end = end if self.last_end is None else max(self.last_end, end)

    def _clear_of_stored(self, name: str, start: datetime, end: datetime
                         ) -> tuple[datetime, datetime, dict[str, Any] | None]:
        return recovery.clear_of_stored(self.vault, self.source_id, self.name, name, start,
                                        end)

    def _take_placed(self, path: Path, placed: recovery.Placed) -> bool:
        """One unlisted segment, at the time the recovery plan decided for it."""
        if not placed.keep:
            log.error("session %s: discarding %s, %s", self.name, placed.name, placed.why)
            path.unlink(missing_ok=True)
            return False
        start, end = _at(placed.start), _at(placed.end)
        how = placed.how or {}
        start, end, moved = self._clear_of_stored(placed.name, start, end)
        if moved is not None:
            how = {**moved, "evidence": {**moved["evidence"], "derived": how}}
        hashed = self._hash_of(path)
        meta = {**self.meta, "session": self.name, "segment": placed.name, "partial": True,
                "codec": placed.codec, "browser_playable": browser_plays(placed.codec),
                SOUND_CHECKED: hashed[1],  # inspected by the plan: no sound
                "time_reconstructed": how}
        if placed.stream is not None and moved is None:
            meta["stream_start"], meta["stream_end"] = placed.stream
        length = placed.pts[1] - placed.pts[0]
        if adopt_segment(self.vault, self.source_id, path, start, end, meta,
                         self._later_reading(path, start, length), hashed,
                         urgent=True, admit=self.admit) is None:
            self._refused(path, start, end)
            return False
        log.info("session %s: kept the unlisted %s (%.1f s, %s)", self.name, placed.name,
                 length, how.get("from"))
        self._taken(start, end)
        return True


def _stopper(stop: Stop) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def leftover_sessions(root: Path, source_id: int) -> list[Path]:
    folder = root / str(source_id)
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def settle_leftovers(vault: Vault, root: Path, source_id: int,
                     admit: Callable[[datetime, datetime], bool] | None = None,
                     stop: Stop = None, skip: Callable[[str], bool] | None = None) -> int:
    """On start: take in what earlier runs (crashed or not) left in the spool (``admit``:
    see Session). ``stop``: asked between segments (SIGTERM during start-up recovery); what
    is left waits for the next start. ``skip``: a session folder's name a recorder already
    running owns (serve started while the database was away): never settled here."""
    stopping = _stopper(stop)
    taken = 0
    for folder in leftover_sessions(root, source_id):
        if stopping():
            break
        if skip is not None and skip(folder.name):
            continue
        meta = {}
        info = folder / "session.json"
        if info.exists():
            try:
                meta = json.loads(info.read_text())
            except ValueError:
                meta = {}
        taken += Session(vault, source_id, folder.name, folder, meta=meta,
                         admit=admit).settle(stopping)
    return taken
