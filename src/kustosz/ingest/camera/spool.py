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
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kustosz import clock
from kustosz.clock.rebase import later_start
from kustosz.clock.watch import THRESHOLD_S
from kustosz.ingest.camera.command import LIST_NAME, SEGMENT_GLOB, SEGMENT_PATTERN
from kustosz.ingest.camera.index_batch import adopt_segment
from kustosz.ingest.camera.segments import (
    GrowingHash,
    ListedSegment,
    PipedSegmentList,
    SegmentList,
    codec_of,
    inspect,
    parse_rows,
)
from kustosz.ingest.files import SOUND_CHECKED
from kustosz.storage.durable import write_atomic
from kustosz.vault import Vault

log = logging.getLogger(__name__)
ANCHOR_NAME = "anchor"
# The anchor file is written again only when the anchor moved this far from what it holds (it
# moves by milliseconds with each segment closed a little sooner than all before, early in a
# session). It matters only after a crash, for the unfinished segment chained to the last
# listed one: a stale anchor is never earlier than the true one, so that segment may start
# this much later than the one before it ended — a gap too small to count, never an overlap.
ANCHOR_STEP_S = 0.05


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
    taken: int = 0
    jumped: bool = False  # the last segment taken was stamped by a clock that had just jumped
    # Several nodes (kustosz.cluster): asked with a segment's span before it is indexed; a
    # segment it refuses (the node lost the camera's lease) is discarded, never indexed.
    admit: Callable[[datetime, datetime], bool] | None = None
    # Settling (serve stopping or starting): index at once rather than wait for the batch.
    urgent: bool = False

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
        hashed = self._hash_of(path)
        # R1.3: ffmpeg wrote it with -an (and settle checked it): playback need not probe it
        meta = {**self.meta, **(extra or {}), "session": self.name, "segment": seg.name,
                "stream_start": seg.start, "stream_end": seg.end, SOUND_CHECKED: hashed[1]}
        if adopt_segment(self.vault, self.source_id, path, start, end, meta,
                         self._later_reading(path, start, seg.end - seg.start),
                         hashed, urgent=self.urgent, admit=self.admit) is None:
            self._refused(path, start, end)
            return None
        self.last_end, self.taken = end, self.taken + 1
        return start, end

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
        behind = clock.lag_for(self.vault, start)
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

    def settle(self) -> int:
        """After ffmpeg is gone: take every listed segment left and the unlisted last one
        for what it really holds (or discard it); then remove the folder."""
        self.urgent = True
        self.close_reader()
        listed = parse_rows((self.folder / LIST_NAME).read_text("utf-8", "replace")) \
            if (self.folder / LIST_NAME).exists() else []
        taken = 0
        for seg in listed:
            # R1.3: what a crash left is checked like the recorder checks a session's first
            # segment (ffmpeg runs with -an; a file with sound is never kept).
            if codec_of(self.folder / seg.name)[1]:
                log.error("session %s: discarding %s, it holds sound", self.name, seg.name)
                (self.folder / seg.name).unlink(missing_ok=True)
                continue
            taken += self.take(seg) is not None
        names = {seg.name for seg in listed}
        previous = listed[-1] if listed else None
        for path in sorted(self.folder.glob(SEGMENT_GLOB)):
            if path.name not in names:
                # A kill can leave a closed segment unlisted besides the unfinished one (its
                # row was in the list's pipe, PipedSegmentList): each is chained to the one
                # before it, not all stacked at the end of the last listed one.
                kept, previous = self._take_partial(path, previous)
                taken += kept
        shutil.rmtree(self.folder, ignore_errors=True)
        return taken

    def _take_partial(self, path: Path, previous: ListedSegment | None
                      ) -> tuple[bool, ListedSegment | None]:
        """(kept, the segment the next unlisted one chains to)."""
        facts = inspect(path)
        if facts is not None and facts.has_audio:  # R1.3: never kept with sound
            log.error("session %s: discarding %s, it holds sound", self.name, path.name)
            path.unlink(missing_ok=True)
            return False, previous
        if facts is None or facts.duration <= 0:
            log.warning("session %s: discarding %s, it holds no readable video", self.name,
                        path.name)
            path.unlink(missing_ok=True)
            return False, previous
        chained = None
        if previous is not None and self.anchor is not None:
            start = _at(self.anchor + previous.end)
            chained = ListedSegment(path.name, previous.end, previous.end + facts.duration)
        else:  # no closed segment to chain to: it ended when it was last written
            start = _at(path.stat().st_mtime - facts.duration)
        end = start + timedelta(seconds=facts.duration)
        hashed = self._hash_of(path)
        meta = {**self.meta, "session": self.name, "segment": path.name, "partial": True,
                "codec": facts.codec, "browser_playable": facts.codec == "h264",
                SOUND_CHECKED: hashed[1]}  # inspected above: no sound
        if adopt_segment(self.vault, self.source_id, path, start, end, meta,
                         self._later_reading(path, start, facts.duration), hashed,
                         urgent=True, admit=self.admit) is None:
            self._refused(path, start, end)
            return False, chained or previous
        log.info("session %s: kept the unfinished %s as the %.1f s it really holds", self.name,
                 path.name, facts.duration)
        self.last_end, self.taken = end, self.taken + 1
        return True, chained


def leftover_sessions(root: Path, source_id: int) -> list[Path]:
    folder = root / str(source_id)
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def settle_leftovers(vault: Vault, root: Path, source_id: int,
                     admit: Callable[[datetime, datetime], bool] | None = None) -> int:
    """On start: take in what earlier runs (crashed or not) left in the spool (``admit``:
    see Session)."""
    taken = 0
    for folder in leftover_sessions(root, source_id):
        meta = {}
        info = folder / "session.json"
        if info.exists():
            try:
                meta = json.loads(info.read_text())
            except ValueError:
                meta = {}
        taken += Session(vault, source_id, folder.name, folder, meta=meta,
                         admit=admit).settle()
    return taken
