"""Reading what ffmpeg wrote: the segment list, and what a segment file really holds (PyAV)."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListedSegment:
    name: str
    start: float  # seconds on the session's stream time line
    end: float


class SegmentList:
    """Follows ffmpeg's CSV segment list; a row appears only once its segment is closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def poll(self) -> list[ListedSegment]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a half-written last line waits
        self.offset += len(complete)
        return parse_rows(complete.decode("utf-8", "replace"))


class PipedSegmentList:
    """ffmpeg's CSV segment list through a pipe (`-segment_list pipe:N`): a row arrives the
    moment its segment is closed, so the recorder sleeps on the pipe instead of re-reading a
    file several times a second (one wake-up per segment, not four a second per camera).

    Each complete row is appended to the session's list file (``copy``) before it is handed
    on, so that a session a crash left behind is settled from the same list as before; a kill
    between ffmpeg's write and this append leaves that one segment unlisted, and the spool's
    recovery takes it in for what it really holds (`Session.settle`)."""

    def __init__(self, fd: int, copy: Path) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.eof = False
        self._partial = b""
        self._copy: IO[bytes] | None = copy.open("ab")

    def fileno(self) -> int:
        return self.fd

    def poll(self) -> list[ListedSegment]:
        data = b""
        while not self.eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self.eof = True
                break
            data += chunk
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        complete, self._partial = data[:cut], data[cut:]
        if not complete:
            return []
        if self._copy is not None:
            self._copy.write(complete)
            self._copy.flush()
        return parse_rows(complete.decode("utf-8", "replace"))

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class GrowingHash:
    """SHA-256 and size of a segment file read as ffmpeg writes it, so that taking the closed
    segment in needs no second pass over it: each call of `advance` hashes what was appended
    since the last one (MPEG-TS is written front to back, never rewritten), `finish` the rest.

    One buffer per thread is reused for every read (a fresh 1 MiB `bytes` per read cost a
    third again over the hash itself). A file that shrank or was replaced meanwhile is hashed
    again from the start: the result is always the hash of the file as it is when `finish` is
    called."""

    BUFFER = 1 << 20
    _local = threading.local()

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self.size = 0
        self._ino: int | None = None
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = bytearray(self.BUFFER)
        self._buf: bytearray = buf

    def advance(self) -> None:
        try:
            with open(self.path, "rb", buffering=0) as f:
                st = os.fstat(f.fileno())
                if self._ino is not None and (st.st_ino != self._ino or st.st_size < self.size):
                    self._digest, self.size = hashlib.sha256(), 0
                self._ino = st.st_ino
                f.seek(self.size)
                view = memoryview(self._buf)
                while n := f.readinto(self._buf):
                    self._digest.update(view[:n])
                    self.size += n
        except FileNotFoundError:
            return

    def finish(self) -> tuple[int, str]:
        """(size, SHA-256) of the whole file, read to its end now."""
        self.advance()
        return self.size, self._digest.hexdigest()


def parse_rows(text: str) -> list[ListedSegment]:
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3:
            continue
        try:
            rows.append(ListedSegment(row[0], float(row[1]), float(row[2])))
        except ValueError:
            log.warning("unreadable segment list row %r", row)
    return rows


@dataclass(frozen=True)
class SegmentFacts:
    codec: str
    duration: float  # seconds of video actually in the file
    has_audio: bool
    # The file's own time stamp of its first picture, in seconds: with -reset_timestamps 0
    # a session's files share one time line, this offset (ffmpeg's muxing delay) from the
    # list's (kustosz.ingest.camera.recovery). Raw MPEG-TS time stamps wrap every 2^33 ticks.
    first_pts: float = 0.0


def inspect(path: Path) -> SegmentFacts | None:
    """Open the file with PyAV and measure the video it holds; None if there is none."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None
            v = c.streams.video[0]
            lo = hi = None
            for pkt in c.demux(v):
                if pkt.pts is None or not pkt.size:
                    continue
                end = pkt.pts + (pkt.duration or 0)
                lo = pkt.pts if lo is None else min(lo, pkt.pts)
                hi = end if hi is None else max(hi, end)
            if lo is None or hi is None or v.time_base is None:
                return None
            return SegmentFacts(v.codec_context.name, float((hi - lo) * v.time_base),
                                bool(c.streams.audio), float(lo * v.time_base))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.warning("segment %s is unreadable: %s", path.name, exc)
        return None


def codec_of(path: Path) -> tuple[str | None, bool]:
    """(video codec, has an audio stream) from the container header only."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    try:
        with av.open(str(path)) as c:
            codec = c.streams.video[0].codec_context.name if c.streams.video else None
            return codec, bool(c.streams.audio)
    except (av.error.FFmpegError, OSError):
        return None, False
