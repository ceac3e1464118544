"""The live view's HLS fallback (issue 34 item 2; issue 65 item 2): a second ffmpeg, in the
relay's folder, that writes the rolling HLS window from the relay's own fragmented MP4 — the
pictures as live_stream.py joined them whole — fed on its stdin. It used to be the camera's
stream copied by the reading ffmpeg's tee muxer, and so kept ffmpeg's cut: the part after a
key frame's parameter sets began a segment of its own, and the pictures before it lost it.

The feeding never holds the relay's reader: fragments wait in a bounded queue for a writer
thread, and an HLS ffmpeg that stops taking them (ended, stalled) is given up — the fMP4
viewers go on, the fallback ends with a line in the log, and the relay's next start makes
it again."""

from __future__ import annotations

import contextlib
import logging
import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

PENDING = 300  # fragments waiting for the HLS ffmpeg (~20 s at 15 fps): past that it stalled


def hls_command(ffmpeg: str, part_s: int, window: int, playlist: str) -> list[str]:
    """The fragmented MP4 on stdin copied into the rolling HLS window in the working folder.
    No probing beyond the initialisation: the codec is in its moov, and every fragment read
    to probe would hold the first part back."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-probesize", "32", "-analyzeduration", "0", "-f", "mp4", "-i", "pipe:0",
            "-map", "0:v:0", "-c", "copy", "-f", "hls", "-hls_time", str(part_s),
            "-hls_list_size", str(window),
            "-hls_flags", "delete_segments+omit_endlist+program_date_time+temp_file",
            "-hls_segment_filename", "live%d.ts", playlist]


class HlsFeed:
    """The HLS ffmpeg and the thread that feeds it."""

    def __init__(self, argv: list[str], folder: Path, preexec: Callable[[], None]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=folder,
                                     preexec_fn=preexec)
        self._queue: queue.Queue[bytes | None] = queue.Queue(PENDING)
        self._given_up = False
        threading.Thread(target=self._write, daemon=True, name="live-hls-feed").start()

    def feed(self, data: bytes) -> None:
        """Called by the relay's reader for the initialisation and every fragment."""
        if self._given_up:
            return
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self._given_up = True
            log.warning("live view HLS fallback stalled (%s fragments waiting); it ends "
                        "until the relay starts again", PENDING)
            with contextlib.suppress(OSError):
                self.proc.kill()  # its writer's blocked write ends; stop() reaps it

    def _write(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while (data := self._queue.get()) is not None:
                stdin.write(data)
                stdin.flush()
        except (OSError, ValueError):  # it ended, or was stopped: nothing more to give it
            pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def close(self) -> None:
        """The stream ended: the HLS ffmpeg gets the end of its input and finishes."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def stop(self) -> None:
        self._given_up = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
