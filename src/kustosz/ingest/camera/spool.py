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
from kustosz.ingest.camera.command import LIST_NAME, SEGMENT_GLOB
from kustosz.ingest.camera.segments import (
    ListedSegment,
    SegmentList,
    codec_of,
    inspect,
    parse_rows,
)
from kustosz.ingest.files import adopt_file
from kustosz.storage.durable import write_atomic
from kustosz.vault import Vault

log = logging.getLogger(__name__)
ANCHOR_NAME = "anchor"


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

    def __post_init__(self) -> None:
        self.reader = SegmentList(self.folder / LIST_NAME)
        self._generation = clock.generation(self.vault)
        self._reanchor = False
        stored = self.folder / ANCHOR_NAME
        if stored.exists():
            try:
                self.anchor = float(stored.read_text())
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
            write_atomic(self.folder / ANCHOR_NAME, repr(candidate))

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
        if not self._admitted(path, start, end):
            return None
        meta = {**self.meta, **(extra or {}), "session": self.name, "segment": seg.name,
                "stream_start": seg.start, "stream_end": seg.end}
        adopt_file(self.vault, self.source_id, path, start, end, meta,
                   retain_from=self._later_reading(path, start, seg.end - seg.start))
        self.last_end, self.taken = end, self.taken + 1
        return start, end

    def _admitted(self, path: Path, start: datetime, end: datetime) -> bool:
        if self.admit is None or self.admit(start, end):
            return True
        log.warning("session %s: discarding %s (%s to %s): recorded without this node's "
                    "lease of the camera", self.name, path.name, start.isoformat(),
                    end.isoformat())
        path.unlink(missing_ok=True)
        return False

    def _later_reading(self, path: Path, start: datetime, length: float) -> datetime | None:
        """The later of the other readings of the start, if the anchor's is behind it by
        more than the threshold (kustosz.clock): the file's own time, the highest time the
        server's clock has shown."""
        by_file = _at(path.stat().st_mtime - length)
        behind = clock.lag_for(self.vault, start)
        limit = timedelta(seconds=THRESHOLD_S)
        return later_start(start + limit, by_file, start + timedelta(seconds=behind))

    def poll(self) -> list[ListedSegment]:
        return self.reader.poll()

    def settle(self) -> int:
        """After ffmpeg is gone: take every listed segment left and the unlisted last one
        for what it really holds (or discard it); then remove the folder."""
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
        for path in sorted(self.folder.glob(SEGMENT_GLOB)):
            if path.name not in names:
                taken += self._take_partial(path, listed[-1] if listed else None)
        shutil.rmtree(self.folder, ignore_errors=True)
        return taken

    def _take_partial(self, path: Path, previous: ListedSegment | None) -> bool:
        facts = inspect(path)
        if facts is not None and facts.has_audio:  # R1.3: never kept with sound
            log.error("session %s: discarding %s, it holds sound", self.name, path.name)
            path.unlink(missing_ok=True)
            return False
        if facts is None or facts.duration <= 0:
            log.warning("session %s: discarding %s, it holds no readable video", self.name,
                        path.name)
            path.unlink(missing_ok=True)
            return False
        if previous is not None and self.anchor is not None:
            start = _at(self.anchor + previous.end)
        else:  # no closed segment to chain to: it ended when it was last written
            start = _at(path.stat().st_mtime - facts.duration)
        end = start + timedelta(seconds=facts.duration)
        if not self._admitted(path, start, end):
            return False
        meta = {**self.meta, "session": self.name, "segment": path.name, "partial": True,
                "codec": facts.codec, "browser_playable": facts.codec == "h264"}
        adopt_file(self.vault, self.source_id, path, start, end, meta,
                   retain_from=self._later_reading(path, start, facts.duration))
        log.info("session %s: kept the unfinished %s as the %.1f s it really holds", self.name,
                 path.name, facts.duration)
        self.last_end, self.taken = end, self.taken + 1
        return True


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
