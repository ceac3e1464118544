"""The live view as a stream of fragmented MP4 (issue 52 item 1): the relay's ffmpeg writes the
sub-stream, copied, as one MP4 fragment per frame to its stdout; this reads the boxes, keeps
the initialisation (ftyp + moov) and the fragments since the last key frame, and hands each
fragment to every viewer's queue as it comes. A viewer joining gets the initialisation and the
current group of pictures at once, so the browser (Media Source Extensions) can start at the
last key frame and play from the live edge — a frame is on its way the moment the camera sent
it, not when a 1-2 s HLS part closes.

Each picture goes out whole, as one fragment (issue 65 item 2): ffmpeg cuts a picture in two
where a camera sends parameter sets between its slices, and whole_pictures.py joins the
pieces, so a viewer's decoder never draws half a picture over green, and a viewer never joins
at a key frame's second half. The same fragments feed the relay's HLS fallback (``sink``).

Nothing here is stored: fragments live in memory only while the relay runs. A viewer whose
queue stays full (a stalled connection) is dropped rather than holding frames for it."""

from __future__ import annotations

import contextlib
import logging
import queue
import struct
import threading
from collections.abc import Callable
from typing import IO

from kustosz.ingest.camera import whole_pictures

log = logging.getLogger(__name__)

QUEUE_FRAGMENTS = 600  # ~40 s at 15 fps: past that the viewer is not reading, and is dropped
MAX_GOP_BYTES = 16 * 1024 * 1024  # the kept group of pictures; a camera without key frames
END = b""  # put in a viewer's queue when the stream ends


class LiveStream:
    """One relay's fragments, fanned out to its viewers."""

    def __init__(self, on_unreadable: Callable[[str], None] | None = None,
                 sink: Callable[[bytes], None] | None = None) -> None:
        # told (once per relay) when ffmpeg's MP4 cannot be read: an alert naming the camera,
        # not only a log line (the relay then ends; its viewers get the recorded stream)
        self._on_unreadable = on_unreadable
        self._sink = sink  # given the initialisation, then every fragment (the HLS fallback)
        self._lock = threading.Lock()
        self.init: bytes | None = None
        self._gop: list[bytes] = []
        self._gop_bytes = 0
        self._viewers: list[queue.Queue[bytes]] = []
        self.ended = False

    def read(self, pipe: IO[bytes]) -> None:
        """Read ffmpeg's MP4 until it ends (the relay's reader thread). Boxes a browser
        joining live does not need (styp, sidx, free, mfra) are passed over; what cannot be
        read ends the stream for its viewers, but the pipe is still drained to its end, so
        ffmpeg never blocks on it."""
        try:
            self._pictures(pipe)
        except (ValueError, IndexError, struct.error) as exc:
            log.warning("live view stream: %s; its relay ends", exc)
            self.close()
            self._tell(str(exc) or type(exc).__name__)
            while pipe.read(65536):
                pass
        except OSError as exc:
            log.warning("live view stream: %s", exc)
        finally:
            self.close()

    def _pictures(self, pipe: IO[bytes]) -> None:
        """The boxes read, each picture sent on whole as a fragment of its own."""
        for data, key in whole_pictures.fragments(pipe, eager=True):
            if key is None:
                with self._lock:
                    self.init = data
            else:
                self._fragment(data, key)
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        if self._sink is not None:
            self._sink(data)

    def _tell(self, detail: str) -> None:
        if self._on_unreadable is None:
            return
        try:
            self._on_unreadable(detail)
        except Exception:  # the alert's own trouble must not stop the pipe being drained
            log.exception("live view stream: the unreadable stream could not be alerted")

    def _fragment(self, fragment: bytes, key: bool) -> None:
        with self._lock:
            if key or self._gop_bytes + len(fragment) > MAX_GOP_BYTES:
                self._gop, self._gop_bytes = [], 0
            if key or self._gop:  # nothing before the first key frame is of use to anyone
                self._gop.append(fragment)
                self._gop_bytes += len(fragment)
            for q in list(self._viewers):
                try:
                    q.put_nowait(fragment)
                except queue.Full:  # a viewer that stopped reading: let its stream end
                    self._viewers.remove(q)
                    _end(q)

    def join(self) -> queue.Queue[bytes] | None:
        """A new viewer's queue, holding the initialisation and the current group of
        pictures; None until the first key frame came (the caller waits or falls back)."""
        with self._lock:
            if self.ended or self.init is None or not self._gop:
                return None
            q: queue.Queue[bytes] = queue.Queue(QUEUE_FRAGMENTS + len(self._gop) + 1)
            q.put_nowait(self.init + b"".join(self._gop))
            self._viewers.append(q)
            return q

    def join_ready(self) -> bool:
        """Whether a viewer joining now would get a picture (a key frame came)."""
        with self._lock:
            return self.ended or (self.init is not None and bool(self._gop))

    def watching(self, q: queue.Queue[bytes]) -> bool:
        """Whether ``q`` still gets fragments (not dropped as stalled, the stream not over)."""
        with self._lock:
            return q in self._viewers

    def leave(self, q: queue.Queue[bytes]) -> None:
        with self._lock:
            if q in self._viewers:
                self._viewers.remove(q)

    def close(self) -> None:
        with self._lock:
            self.ended = True
            viewers, self._viewers = self._viewers, []
        for q in viewers:
            _end(q)


def _end(q: queue.Queue[bytes]) -> None:
    # a full queue: its reader sees the stream ended by `watching` once it drains
    with contextlib.suppress(queue.Full):
        q.put_nowait(END)
