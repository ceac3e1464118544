"""One camera's recorder: runs ffmpeg, takes in its segments, reconnects, reports health.

Each camera has its own thread and its own ffmpeg process, so one camera's crash or hang
touches no other. ffmpeg gets PR_SET_PDEATHSIG, so it dies with the supervisor and a
restarted supervisor never competes with an orphan for the same spool folder.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import json
import logging
import os
import select as io_select
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select

from kustosz import clock
from kustosz.cameras.codecs import BROWSER_CODECS
from kustosz.cameras.rules import redact
from kustosz.db.models import Recording
from kustosz.ingest.camera import health
from kustosz.ingest.camera.clock import (
    AGREE_S,
    Measurement,
    measure_offset,
    probe_slot,
    store_offset,
)
from kustosz.ingest.camera.command import SIMULATED_PREFIX, recorder_command
from kustosz.ingest.camera.segments import ListedSegment, codec_of
from kustosz.ingest.camera.spool import Session, new_session
from kustosz.logs import keep_out_of_logs
from kustosz.retention.pressure import DiskWatch, is_disk_full, watch_of
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


@dataclass(frozen=True)
class CameraJob:
    source_id: int
    name: str
    shown_url: str  # without credentials
    input_url: str = field(repr=False)  # with credentials: for ffmpeg and the clock probe only
    secrets: tuple[str, ...] = field(default=(), repr=False)
    segment_seconds: float = 10.0


@dataclass(frozen=True)
class RecorderOptions:
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    down_alert_after_s: float = 60.0  # a camera down this long raises an alert
    stall_gap_s: float = 1.0  # a jump this big between segments of one session is a gap
    measure_clock: bool = True
    clock_interval_s: float = 3600.0
    # A reading that is new (the first, or not what the last said) is taken only when a second
    # probe this much later agrees with it (clock.AGREE_S); probes that disagree are tried
    # again after clock_retry_s.
    clock_confirm_s: float = 5.0
    clock_retry_s: float = 300.0
    # The longest sleep between looks at a full disk and alerts (and at the open segment, to
    # hash what ffmpeg wrote of it): a closed segment wakes the recorder at once through
    # ffmpeg's list pipe, and stop/halt through its own, so this is no polling interval. Each
    # wake costs the process (8 cameras: 80 a segment at 1 s); 2 s halves that.
    poll_s: float = 2.0
    # ffmpeg gets this long after SIGTERM to close the open segment, then SIGKILL (the part
    # written is still taken in); serve's whole stop must fit in 10 s (cli/serve.py).
    stop_timeout_s: float = 5.0


class CameraRecorder:
    def __init__(self, vault: Vault, job: CameraJob, spool: Path, ffmpeg: str,
                 options: RecorderOptions | None = None) -> None:
        self.vault, self.job, self.spool, self.ffmpeg = vault, job, spool, ffmpeg
        self.opt = options or RecorderOptions()
        # The camera's password never reaches a log line, whoever writes it (kustosz.logs).
        # Its login is no secret and is often a common word ("admin", "kamera") that would
        # be masked in every line of every camera; ffmpeg's own words lose both (_redact).
        keep_out_of_logs(unquote(urlsplit(job.input_url).password or "") or None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rec-{job.name}", daemon=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self.codec: str | None = None
        self.clock_offset: float | None = None
        self.last_end: datetime | None = None
        self.down_since: datetime | None = None
        self.sessions = 0
        self.last_failure: str | None = None
        self.disk_full = False  # the last session ended because the disk was full
        self._unsettled: list[Session] = []  # sessions a full disk kept from being taken in
        self._gap_owed: tuple[datetime, health.Failure] | None = None
        self._status_owed: str | None = None  # "disk_full" could not be written yet
        # Several nodes (kustosz.cluster): the fence each segment passes before it is indexed.
        self.admit: Callable[[datetime, datetime], bool] | None = None
        self._halted = False  # ffmpeg was ended from outside the loop (halt)
        self._terminated = False  # this session's ffmpeg was sent SIGTERM by the loop
        self._clock: threading.Thread | None = None
        self._next_clock = 0.0  # time.monotonic() of the next clock reading
        # stop/halt wake the loop sleeping on ffmpeg's list pipe (see _follow)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # Closed with the recorder object (never earlier: a stop() after the thread ended
        # must not write into a descriptor number reused by something else).
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        with self.vault.reading() as s:
            self.last_end = s.execute(select(func.max(Recording.end_at)).where(
                Recording.source_id == self.job.source_id,
                Recording.state == RecordingState.STORED)).scalar_one_or_none()
        if self.last_end is not None:
            # The time since the last segment was not recorded (serve stopped or crashed).
            self._down(self.last_end, health.Failure("recorder_not_running",
                                                     "the recorder was not running"))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        # BlockingIOError: already woken (the pipe is full)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def halt(self, within: float) -> None:
        """Stop now, from another thread, without the database: the loop may be stuck in a
        database call (a stalled connection) and would reach ffmpeg only after it answers.
        ffmpeg gets SIGTERM (it closes the open segment, which the fence then judges) and
        SIGKILL if it still runs ``within`` seconds later. Takes no lock the loop may hold."""
        self._halted = True
        self._stop.set()
        self._wake()
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)

        def kill() -> None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()

        timer = threading.Timer(within, kill)
        timer.daemon = True
        timer.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _say(self, text: str) -> str:
        return redact(text, *self.job.secrets)

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.opt.backoff_initial_s
        while not self._stop.is_set():
            try:
                self._settle_owed()
                produced = self._session()
            except Exception as exc:  # never let one camera's surprise end its recorder
                if is_disk_full(exc):
                    try:
                        self._disk_is_full(datetime.now(UTC), f"{type(exc).__name__}: {exc}")
                    except Exception:
                        log.exception("camera %s: disk full, and noting it failed",
                                      self.job.name)
                else:
                    log.exception("camera %s: recorder session failed", self.job.name)
                produced = False
            if self._stop.is_set():
                break
            try:
                if self.disk_full:
                    self._wait_for_space()
                    backoff = self.opt.backoff_initial_s
                    continue
                backoff = self.opt.backoff_initial_s if produced else \
                    min(backoff * 2, self.opt.backoff_max_s)
                self._wait_or_alert(backoff)
            except Exception:  # e.g. an alert row the database cannot take just now
                log.exception("camera %s: waiting to reconnect failed", self.job.name)
                self._stop.wait(1.0)
        last = f"; last problem: {self.last_failure}" if self.down_since and self.last_failure \
            else ""
        try:
            health.set_status(self.vault, self.job.source_id, "stopped",
                              "recorder stopped" + last)
        except Exception:  # e.g. a full disk: the status row is the next start's to write
            log.exception("camera %s: cannot note that its recorder stopped", self.job.name)

    def _wait_or_alert(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._check_down_alert()
            self._stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))

    def _check_down_alert(self, cause: str | None = None) -> None:
        if self.down_since is None:
            return
        if datetime.now(UTC) - self.down_since >= timedelta(seconds=self.opt.down_alert_after_s):
            health.raise_down_alert(self.vault, self.job.source_id, self.job.name,
                                    self.down_since, cause or self._down_cause)

    _down_cause = "recorder_not_running"

    def _down(self, since: datetime, failure: health.Failure) -> None:
        if self.down_since is None:
            self.down_since = since
        self._down_cause = failure.cause
        try:
            health.open_gap(self.vault, self.job.source_id, since, failure.cause,
                            failure.message, self.job.name)
            self._gap_owed = None
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            self._gap_owed = (since, failure)  # written once the disk has room

    # -- a full disk ---------------------------------------------------------------------
    def _disk_is_full(self, since: datetime, detail: str, wrote: bool = True) -> None:
        """The session ended for lack of space (``wrote``: its own write failed; else it
        stopped because another did): the reserve goes and the disk-pressure sweep runs
        (pressure.py); the status says so, and the gap is opened."""
        watch_of(self.vault).after_write(failed=wrote)
        self.disk_full = True
        failure = health.Failure("disk_full", f"disk full (dysk pełny): {detail}"[:500])
        self.last_failure = failure.message
        log.error("camera %s: %s", self.job.name, failure.message)
        self._status_owed = failure.message
        self._write_owed_status()
        self._down(self.last_end or since, failure)

    def _write_owed_status(self) -> None:
        if self._status_owed is None:
            return
        try:
            health.set_status(self.vault, self.job.source_id, "disk_full", self._status_owed)
            self._status_owed = None
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.error("camera %s: cannot write its status either: the disk is full; "
                      "trying again", self.job.name)

    def _wait_for_space(self) -> None:
        """Until the disk has room again (the sweep or the administrator freed it): then the
        next session starts at once, without waiting out a backoff."""
        watch = watch_of(self.vault)
        while not self._stop.is_set():
            self._write_owed_status()
            if self._gap_owed is not None:
                self._down(*self._gap_owed)
            if watch.has_room():
                break
            self._check_down_alert()
            self._stop.wait(0.5)
        self.disk_full = False
        self._status_owed = None  # the next session writes "connecting"
        log.info("camera %s: the disk has room again; recording resumes", self.job.name)

    def _settle_owed(self) -> None:
        """Segments a full disk kept in the spool are taken in once there is room."""
        while self._unsettled:
            session = self._unsettled[0]
            try:
                session.settle()
            except Exception as exc:
                if is_disk_full(exc):
                    raise
                # Not for lack of space: left in the spool for the next start's recovery,
                # rather than keeping this camera from recording.
                log.exception("camera %s: taking in the session %s failed", self.job.name,
                              session.name)
            self._unsettled.pop(0)

    def _session(self) -> bool:
        name, folder = new_session(self.spool, self.job.source_id)
        session = Session(self.vault, self.job.source_id, name, folder, admit=self.admit)
        self.sessions += 1
        health.set_status(self.vault, self.job.source_id, "connecting",
                          f"connecting to {self.job.shown_url}")
        started = datetime.now(UTC)
        self._terminated = False
        if self._stop.is_set():  # halted while the status was written: no new ffmpeg
            return False
        # ffmpeg's list of closed segments comes through a pipe: a row wakes this thread the
        # moment its segment is closed (segments.PipedSegmentList keeps the list file too).
        list_r, list_w = os.pipe()
        session.follow_pipe(list_r)
        command = recorder_command(self.ffmpeg, self.job.input_url, self.job.segment_seconds,
                                   folder, segment_list=f"pipe:{list_w}")
        try:
            self.proc = subprocess.Popen(
                command.argv, stdin=subprocess.PIPE if command.stdin else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent,
                pass_fds=(list_w,))
        except BaseException:
            session.close_reader()
            raise
        finally:
            os.close(list_w)  # ffmpeg's copy only: its exit is the pipe's end
        if command.stdin is not None:
            self._hand_over(self.proc, command.stdin)
        self.stderr_tail.clear()
        reader = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        reader.start()
        watch = watch_of(self.vault)
        full: BaseException | None = None
        paused = False
        # A full disk waits for this session to stop before it gives the reserve back.
        watch.writing(started)
        try:
            paused = self._follow(session, watch, started)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            full = exc  # the segment stays in the spool; settled once there is room
        finally:
            if self.proc.poll() is None:
                self._terminate()
            watch.done_writing()
        reader.join(5)
        code = self.proc.returncode
        session.urgent = True  # serve may be stopping: its stop has a time limit
        try:
            if full is None:
                for seg in session.poll():
                    self._take(session, seg)
            session.close_reader()
            session.meta = self._session_meta()
            session.settle()
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            full = full or exc
            self._unsettled.append(session)
        if session.last_end is not None:
            self.last_end = session.last_end
        stopped = (0, 255, -signal.SIGTERM) + ((-signal.SIGKILL,) if self._halted else ())
        # Ended by the stop itself: ffmpeg still opening the camera exits 183 ("Immediate
        # exit requested"), which is no failure of the camera and must not replace the last
        # real one in the status ("recorder stopped; last problem: ...").
        if self._stop.is_set() and (code in stopped or self._terminated) and full is None:
            return session.taken > 0
        failure = health.classify(list(self.stderr_tail), code, session.taken > 0,
                                  self.job.shown_url)
        if full is not None or paused or failure.cause == "disk_full":
            self._disk_is_full(started, f"{type(full).__name__}: {full}" if full is not None
                               else "stopped until there is room" if paused
                               else "ffmpeg could not write the segment (No space left on "
                                    "device)", wrote=not paused)
            return session.taken > 0
        log.warning("camera %s: %s", self.job.name, failure.message)
        self.last_failure = failure.message
        health.set_status(self.vault, self.job.source_id, "down", failure.message)
        self._down(self.last_end or started, failure)
        return session.taken > 0

    def _follow(self, session: Session, watch: DiskWatch, started: datetime) -> bool:
        """Take in the segments while ffmpeg runs. True when it was stopped because another
        writer found the disk full: its segments would eat the reserve released for the
        sweep's own records."""
        assert self.proc is not None
        self._next_clock = 0.0  # each session measures after its first segment
        poller = io_select.poll()
        poller.register(self._wake_r, io_select.POLLIN)
        listing = session.reader.fileno() if hasattr(session.reader, "fileno") else None
        if listing is not None:
            poller.register(listing, io_select.POLLIN)
        while True:
            for seg in session.poll():
                self._take(session, seg)
            if session.taken and self.opt.measure_clock \
                    and time.monotonic() >= self._next_clock \
                    and not self.job.input_url.startswith(SIMULATED_PREFIX) \
                    and (self._clock is None or not self._clock.is_alive()):
                self._next_clock = time.monotonic() + self.opt.clock_interval_s
                self._clock = threading.Thread(target=self._measure_clock, args=(session,),
                                               name=f"clock-{self.job.name}", daemon=True)
                self._clock.start()
            if self.proc.poll() is not None:
                return False
            if self._stop.is_set():
                self._terminate()
                return False
            if watch.full_at is not None and watch.full_at > started:
                self._terminate()
                return True
            if not session.taken:
                self._check_down_alert()
            if listing is not None and getattr(session.reader, "eof", False):
                poller.unregister(listing)  # ffmpeg closed its list: it is ending
                listing = None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(self.opt.poll_s)
                continue
            for fd, _event in poller.poll(self.opt.poll_s * 1000):
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
            session.hash_ahead()

    @staticmethod
    def _hand_over(proc: subprocess.Popen[bytes], script: bytes) -> None:
        """The camera's address through the pipe (a few hundred bytes: the pipe's buffer
        takes them whole, so this never waits on ffmpeg)."""
        assert proc.stdin is not None
        try:
            proc.stdin.write(script)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg died at once; its exit status and stderr tell why

    def _terminate(self) -> None:
        assert self.proc is not None
        self._terminated = True
        self.proc.send_signal(signal.SIGTERM)  # ffmpeg closes and lists the last segment
        try:
            self.proc.wait(self.opt.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = self._say(raw.decode("utf-8", "replace").rstrip())
            if line:
                self.stderr_tail.append(line)
                log.debug("ffmpeg %s: %s", self.job.name, line)
        proc.stderr.close()

    def _session_meta(self) -> dict[str, object]:
        return {"codec": self.codec, "browser_playable": self.codec in BROWSER_CODECS,
                "clock_offset_s": self.clock_offset}

    def _take(self, session: Session, seg: ListedSegment) -> None:
        if not session.taken:
            codec, audio = codec_of(session.folder / seg.name)
            if audio:  # cannot happen with -an; refuse to keep it rather than keep sound
                log.error("camera %s: segment has an audio stream; discarded", self.job.name)
                (session.folder / seg.name).unlink(missing_ok=True)
                return
            self.codec = codec
            note = None if codec in BROWSER_CODECS else "not playable in browser"
            health.set_status(self.vault, self.job.source_id, "recording",
                              f"recording {codec or '?'}" + (f" ({note})" if note else ""),
                              codec=codec)
            if note:
                log.warning("camera %s sends %s: recorded as it is, %s", self.job.name, codec,
                            note)
            (session.folder / "session.json").write_text(json.dumps(self._session_meta()))
        previous = self.last_end
        span = session.take(seg, self._session_meta())
        if span is None:
            return
        start, end = span
        # Each closed segment: is the disk short? (the disk-pressure sweep runs at once)
        watch_of(self.vault).after_write()
        if self.down_since is not None or session.taken == 1:
            health.close_gap(self.vault, self.job.source_id, start, self.job.name)
            health.clear_down_alert(self.vault, self.job.source_id)
            self.down_since = None
        elif session.jumped and previous is not None and previous != start:
            # Not a pause of the camera: the time line moves with the server's clock.
            health.record_gap(self.vault, self.job.source_id, min(previous, start),
                              max(previous, start), "clock_jump", "the server's clock jumped")
        elif previous is not None and (start - previous).total_seconds() > self.opt.stall_gap_s:
            health.record_gap(self.vault, self.job.source_id, previous, start, "stream_stall",
                              "the camera stopped sending for a while")
        self.last_end = end

    def _probe(self) -> Measurement | None:
        with probe_slot(self._stop) as turn:
            return measure_offset(self.job.input_url) if turn else None

    def _clock_reading(self) -> Measurement | None:
        """A probe that agrees with the last reading is taken as it is; a new value (the
        first, or one that moved) only when a second probe, taken later, agrees with it. One
        probe spoilt by load (seconds off) is thus neither stored as the camera's offset nor
        reported to the clock watch, where it would raise a false camera clock jump — now or,
        as the base the next reading is compared with, an hour later."""
        first = self._probe()
        if first is None:
            return None
        if self.clock_offset is not None and abs(first.offset_s - self.clock_offset) <= AGREE_S:
            return first
        if self._stop.wait(self.opt.clock_confirm_s):
            return None
        second = self._probe()
        if second is None:
            return None
        if abs(second.offset_s - first.offset_s) > AGREE_S:
            log.info("camera %s: two clock probes disagree (%+.3f s, %+.3f s); measuring "
                     "again later", self.job.name, first.offset_s, second.offset_s)
            return None
        return second

    def _measure_clock(self, session: Session) -> None:
        m = self._clock_reading()
        if m is None:
            self._next_clock = time.monotonic() + min(self.opt.clock_retry_s,
                                                      self.opt.clock_interval_s)
            return
        self.clock_offset = round(m.offset_s, 3)
        store_offset(self.vault, self.job.source_id, session.name, m)
        clock.camera_offset(self.vault, self.job.source_id, self.job.name, m.offset_s)
        log.info("camera %s: clock offset %+.3f s (%d samples)", self.job.name, m.offset_s,
                 m.samples)
