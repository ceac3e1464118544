"""A camera's recording ffmpeg as two processes with whole pictures between them (issue 65).

The reader reads the camera (RTSP) and copies its picture as fragmented MP4 to a pipe; a
thread here joins each picture's pieces (whole_pictures.py, as the live relay does) and feeds
the writer, which copies them into the MPEG-TS segments and lists them exactly as the one
ffmpeg did before. The pair stands for that one ffmpeg towards the recorder and the disk
watch, with the same meanings:

- SIGTERM (a stop, a full disk) goes to the reader: it ends its MP4, the writer reads to its
  end, closes and lists the open segment and exits — as one ffmpeg did on SIGTERM;
- SIGKILL (`kill`) ends both: the open segment stays unlisted, for the spool's recovery;
- its exit status is the reader's when that failed by itself (the camera refused, gone; the
  reader killed from outside), else the writer's when that failed (the disk full, killed),
  else the reader's; its stderr is both processes' lines, one pipe;
- its pid is the reader's: the process that talks to the camera."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO

from kustosz.ingest.camera.command import RecorderCommand
from kustosz.ingest.camera.whole_pictures import fragments

log = logging.getLogger(__name__)


class RecorderPair:
    """The reader and the writer, started together; Popen's calls the recorder makes."""

    def __init__(self, command: RecorderCommand, preexec: Callable[[], None],
                 pass_fds: tuple[int, ...]) -> None:
        assert command.reader is not None
        err_r, err_w = os.pipe()
        try:
            self._writer = subprocess.Popen(
                command.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_w,
                preexec_fn=preexec, pass_fds=pass_fds)
            try:
                self._reader = subprocess.Popen(
                    command.reader, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=err_w, preexec_fn=preexec)
            except BaseException:
                self._writer.kill()
                self._writer.wait()
                raise
        except BaseException:
            os.close(err_r)
            raise
        finally:
            os.close(err_w)  # the children's copies only: the pipe ends when both have ended
        self.stderr: IO[bytes] | None = os.fdopen(err_r, "rb")
        self.stdin: IO[bytes] | None = self._reader.stdin
        self.pid = self._reader.pid
        self.returncode: int | None = None
        self._pictures = False  # a picture reached the writer
        self._reader_ended = False  # the reader was killed here (the writer gone, kill())
        self._joining = threading.Thread(target=self._join, daemon=True,
                                         name=f"rec-pictures-{self.pid}")
        self._joining.start()

    def _join(self) -> None:
        """The reader's MP4 to the writer, each picture whole; at its end the writer's input
        ends too. A writer gone (a full disk, killed) ends the reader: nothing is kept of
        what it would still read. MP4 that cannot be read ends both, said in the log. A
        reader that gave no picture (the camera refused, unreachable) ends the writer too,
        unheard: its own complaint of an empty input would be the last line, not the camera's
        reason."""
        source, sink = self._reader.stdout, self._writer.stdin
        assert source is not None and sink is not None
        try:
            for data, key in fragments(source):
                sink.write(data)
                sink.flush()  # each picture to the segment as it comes, not a buffer's worth
                self._pictures = self._pictures or key is not None
        except (ValueError, IndexError, struct.error) as exc:
            log.error("the camera's MP4 cannot be read (%s); its recording session ends", exc)
            self._end_reader()
        except OSError:
            self._end_reader()
        finally:
            if not self._pictures:
                self._signal(self._writer, signal.SIGKILL)
            with contextlib.suppress(OSError):
                sink.close()
            with contextlib.suppress(OSError):
                source.close()

    def _end_reader(self) -> None:
        self._reader_ended = True
        self._signal(self._reader, signal.SIGKILL)

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)

    def send_signal(self, sig: int) -> None:
        if sig == signal.SIGKILL:
            self.kill()
            return
        self._signal(self._reader, sig)

    def kill(self) -> None:
        self._end_reader()
        self._signal(self._writer, signal.SIGKILL)

    def poll(self) -> int | None:
        if self.returncode is None and self._reader.poll() is not None \
                and self._writer.poll() is not None:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        for proc in (self._reader, self._writer):
            proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._ended()
        assert self.returncode is not None
        return self.returncode

    def _ended(self) -> None:
        self._joining.join()  # both ended: its pipes are at their ends
        writer, reader = self._writer.returncode, self._reader.returncode
        if not self._pictures or (reader != 0 and not self._reader_ended):
            self.returncode = reader  # the camera's: refused, gone, or the reader killed
        else:
            self.returncode = writer if writer != 0 else reader


Process = subprocess.Popen[bytes] | RecorderPair  # what runs a recorder's session


def start(command: RecorderCommand, preexec: Callable[[], None],
          pass_fds: tuple[int, ...]) -> Process:
    """The recording's process(es); ``pass_fds`` (the segment list's pipe) to the writer."""
    if command.reader is not None:
        return RecorderPair(command, preexec, pass_fds)
    return subprocess.Popen(
        command.argv, stdin=subprocess.PIPE if command.stdin else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=preexec,
        pass_fds=pass_fds)
