"""A camera's recording ffmpeg as two processes with whole pictures between them (issue 65),
for a camera whose key frames ffmpeg's parser cuts (PictureCheck tells, from the stream).

The reader reads the camera (RTSP) and copies its picture as fragmented MP4 to a pipe; a
thread here joins each picture's pieces (whole_pictures.py, as the live relay does) and feeds
the writer, which copies them into the MPEG-TS segments and lists them exactly as the one
ffmpeg did before. The pair stands for that one ffmpeg towards the recorder and the disk
watch, with the same meanings:

- SIGTERM (a stop, a full disk) goes to the reader: it ends its MP4, the writer reads to its
  end, closes and lists the open segment and exits — as one ffmpeg did on SIGTERM;
- SIGKILL (`kill`) ends both, the writer first: the open segment stays unlisted, for the
  spool's recovery;
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
from pathlib import Path
from typing import IO

from kustosz.ingest.camera import fmp4, health
from kustosz.ingest.camera.command import RecorderCommand, recorder_command
from kustosz.ingest.camera.whole_pictures import WholePictures, fragments, read_box

log = logging.getLogger(__name__)
# A camera's first key frame is looked for this long (its connection included); not seen,
# the camera is recorded by one ffmpeg as before (PictureCheck).
PROBE_S = 8.0


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
        # The writer first: the reader killed first ends the writer's input, and a writer
        # still alive when that end reaches it (this thread losing the GIL between the two
        # signals, to the joining thread) closed and listed the open segment — a kill that
        # left nothing unlisted, unlike one ffmpeg's (a CI run of test_gap_order_no_room).
        self._signal(self._writer, signal.SIGKILL)
        self._end_reader()

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


class PictureCheck:
    """Whether one camera's pictures need joining, learnt from its stream: the pair costs
    about twice one ffmpeg's CPU (a second ffmpeg, and Python woken for every frame), so only
    a camera whose first key frame came cut is joined; one whose key frame came whole, or
    that could not be told (no key frame within PROBE_S, a stream the MP4 reader refuses), is
    written by one ffmpeg as before — never worse than before, and never unrecorded for a
    stream only the pair cannot carry. A camera that did not answer is asked again at the next
    session; one that answered, or refused the login, is not (some cameras lock an account
    after a few refusals, and a camera with a long GOP would delay every session). The answer
    is kept (`learnt`, camera_recorder_status.pictures_cut) and given back as `known` to the
    node that takes the camera over or the next run: a hand-over costs one RTSP set-up, not
    two (issue 65's probe doubled its gap); a change of the stream's codec forgets it."""

    def __init__(self, name: str, known: bool | None = None,
                 learnt: Callable[[bool], None] | None = None) -> None:
        self.name = name
        self.cut = known is True
        self._asked = known is not None  # another node or run asked: no second RTSP set-up
        self._learnt = learnt

    def command(self, ffmpeg: str, url: str, segment_seconds: float, folder: Path,
                segment_list: str, preexec: Callable[[], None],
                stop: threading.Event) -> RecorderCommand:
        command = recorder_command(ffmpeg, url, segment_seconds, folder, segment_list)
        if command.reader is None or command.stdin is None:
            return command
        if not self._asked:
            cut, self._asked = probe(command.reader, command.stdin, preexec, stop, url)
            self.cut = cut is True
            if cut is not None:
                if self._learnt is not None:
                    self._learnt(cut)
                log.info("camera %s: its key frames come %s; recorded %s", self.name,
                         "cut" if cut else "whole",
                         "joined, by two ffmpeg" if cut else "by one ffmpeg")
        if self.cut:
            return command
        return recorder_command(ffmpeg, url, segment_seconds, folder, segment_list, join=False)


def probe(reader: list[str], script: bytes, preexec: Callable[[], None],
          stop: threading.Event, url: str = "") -> tuple[bool | None, bool]:
    """Whether ffmpeg's reader hands on the camera's first key frame in pieces (True), whole
    (False), or not known (None: no key frame within PROBE_S, the camera away, a stop); and
    whether the camera answered (its stream began, or it refused the login)."""
    proc = subprocess.Popen(reader, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=preexec)
    done = threading.Event()
    deadline = time.monotonic() + PROBE_S

    def guard() -> None:  # a silent camera or a stop ends the reading
        while not done.wait(0.2):
            if stop.is_set() or time.monotonic() > deadline:
                proc.kill()
                return

    threading.Thread(target=guard, daemon=True, name="rec-probe").start()
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    seen: list[bool] = []
    cut: bool | None = None
    try:
        proc.stdin.write(script)
        proc.stdin.close()
        cut = _first_key_cut(proc.stdout, seen)
    except (OSError, ValueError, IndexError, struct.error):
        pass
    finally:
        done.set()
        proc.kill()
        proc.wait()
        proc.stdout.close()
        # a few lines at most: ffmpeg's banner is off, its statistics too
        text = proc.stderr.read().decode("utf-8", "replace").splitlines()[-40:]
        proc.stderr.close()
    refused = health.classify(text, 1, False, url).cause == "auth_failed"
    return cut, bool(seen) or refused


def _first_key_cut(pipe: IO[bytes], seen: list[bool]) -> bool | None:
    track, whole, moof, key = None, None, None, False
    while (box := read_box(pipe)) is not None:
        kind = box[4:8]
        if kind == b"moov":
            seen.append(True)
            track = fmp4.track_of(box[8:])
            if not track.nal_length:
                return False  # not H.264: nothing is joined
            whole = WholePictures(track)
        elif kind == b"moof":
            moof = box
        elif kind == b"mdat" and moof is not None and track and whole:
            for sample in fmp4.samples(moof + box, track):
                pictures = list(whole.push(sample))
                if key:  # the sample after the key frame's first: its rest, or the next
                    return not pictures
                key = sample.key
    return None
