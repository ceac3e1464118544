"""One camera's recorder: runs ffmpeg, takes in its segments, reconnects, reports health.

Each camera has its own thread and its own ffmpeg process, so one camera's crash or hang
touches no other. ffmpeg gets PR_SET_PDEATHSIG, so it dies with the supervisor and a
restarted supervisor never competes with an orphan for the same spool folder.

The database away (issue 27) never stops the recording: ffmpeg writes on, and what needs a row
waits in the recorder's backlog (kustosz.ingest.camera.backlog) in the order it happened —
closed segments, settled sessions, gaps — asked again with a bounded back-off and taken in,
with their true times, when the database answers; status, gap and alert rows are best effort
and written when it is back. A stop leaves what still waits in the spool for the next start.

Each recorder's loop beats serve's watchdog (kustosz.watchdog) every time it wakes — at least
every `poll_s` while ffmpeg runs, every half second while it waits to reconnect or for room on
the disk — and for each step of its backlog; a recorder stopped on purpose (the camera disabled,
gated, changed, serve stopping) is forgotten, so only a hung one stalls the watchdog.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select

from kustosz import clock
from kustosz.cameras.codecs import BROWSER_CODECS
from kustosz.cameras.register import SIMULATED_PREFIX
from kustosz.cameras.rules import redact
from kustosz.db.models import Recording
from kustosz.db.outage import is_database_away, is_disk_full
from kustosz.ingest.camera import health, index_batch, recorder_pair
from kustosz.ingest.camera.backlog import GAP_OPEN, OwedGap, OwedWrites, Retry, Waiting
from kustosz.ingest.camera.clock import (
    AGREE_S,
    Measurement,
    ProbeRetry,
    measure_offset,
    probe_slot,
    store_offset,
)
from kustosz.ingest.camera.command import SEGMENT_GLOB
from kustosz.ingest.camera.job import CameraJob
from kustosz.ingest.camera.recorder_pair import Process
from kustosz.ingest.camera.segments import ListedSegment, codec_of
from kustosz.ingest.camera.spool import Session, new_session
from kustosz.logs import keep_out_of_logs
from kustosz.retention.pressure import DiskWatch, watch_of
from kustosz.retention.writers import process_writer
from kustosz.states import RecordingState
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of

log = logging.getLogger(__name__)
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
# The longest a recorder's loop may honestly go without a beat: a wake (poll_s) with one step
# of the backlog (a segment's wait for the committer, ADOPT_WAIT_S) and its owed rows (each a
# database wait: 10 s, 60 s, db.deadline), or ffmpeg's stop (stop_timeout_s); beyond, hung.
ALLOWANCE_S = 240.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


@dataclass(frozen=True)
class RecorderOptions:
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    down_alert_after_s: float = 60.0  # a camera down this long raises an alert
    stall_gap_s: float = 1.0  # a jump this big between segments of one session is a gap
    measure_clock: bool = True
    clock_interval_s: float = 3600.0
    # a new reading needs a probe this much later to agree (AGREE_S); retries: clock.ProbeRetry
    clock_confirm_s: float = 5.0
    clock_retry_s: float = 300.0
    # The longest sleep between looks at alerts (and at the open segment, to hash it): a
    # closed segment, stop/halt and a full disk (which stops ffmpeg: retention/writers.py)
    # wake the recorder at once. Each wake costs (8 cameras: 80 a segment at 1 s); 2 s halves it.
    poll_s: float = 2.0
    # ffmpeg gets this long after SIGTERM to close the open segment, then SIGKILL (the part
    # written is still taken in). With `stop_index_s` it is the recorders' share of serve's
    # stop: STOP_WITHIN_S less what follows the parts (cli/serve_stop.py: 9 − 2 s).
    stop_timeout_s: float = 4.5
    # After ffmpeg ended at a stop, the last segments get this long to be indexed; what is
    # still waiting then (the database away) stays in the spool for the next start.
    stop_index_s: float = 2.5
    # The database away: the first and the longest pause before it is asked again.
    db_retry_first_s: float = 1.0
    db_retry_max_s: float = 15.0


class CameraRecorder:
    def __init__(self, vault: Vault, job: CameraJob, spool: Path, ffmpeg: str,
                 options: RecorderOptions | None = None) -> None:
        self.vault, self.job, self.spool, self.ffmpeg = vault, job, spool, ffmpeg
        self.opt = options or RecorderOptions()
        # The camera's password never reaches a log line (kustosz.logs); its login, often a
        # common word ("admin"), is no secret; ffmpeg's own words lose both (_redact).
        keep_out_of_logs(unquote(urlsplit(job.input_url).password or "") or None)
        self._stop = threading.Event()
        # serve stopping: what the database has not taken is left to the next start after
        # `stop_index_s`; a camera stopped while serve runs takes its backlog in all the same.
        self._abandon = threading.Event()
        self._leaving = False  # stopped, taking in what waited for the database
        self._thread = threading.Thread(target=self._run, name=f"rec-{job.name}", daemon=True)
        self.proc: Process | None = None
        # known from an earlier probe (another node's, an earlier run's), else learnt at the
        # first session and kept for the next
        self._pictures = recorder_pair.PictureCheck(job.name, job.pictures_cut, lambda cut: (
            self._owed.write("pictures", lambda: health.remember_pictures(
                self.vault, self.job.source_id, cut))))
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self.codec: str | None = None
        self.clock_offset: float | None = None
        self.last_end: datetime | None = None
        self.down_since: datetime | None = None
        self.sessions = 0
        self.last_failure: str | None = None
        self.disk_full = False  # the last session ended because the disk was full
        # What waits for the database (or for room on a full disk), in the time line's order.
        self._backlog: collections.deque[Waiting] = collections.deque()
        self._retry = Retry(self.opt.db_retry_first_s, self.opt.db_retry_max_s, job.name,
                            lambda: sum(1 for w in list(self._backlog) if w.seg is not None))
        self._owed = OwedWrites(job.name, self._retry)
        self._closed = 0  # segments ffmpeg closed in the current session
        self.recorded_until: datetime | None = None  # the last closed segment's file time
        self._gap_open = False  # a gap was opened on the time line: the next segment ends it
        self._stop_deadline: float | None = None  # time.monotonic(): the last takes at a stop
        self._owed_gap: OwedGap | None = None  # the open_gap owed last
        self._status_owed: str | None = None  # "disk_full" could not be written yet
        # Several nodes (kustosz.cluster): the fence each segment passes before it is indexed.
        self.admit: Callable[[datetime, datetime], bool] | None = None
        self._halted = False  # ffmpeg was ended from outside the loop (halt)
        self._progress: Loop | None = None  # serve's watchdog (registered at `start`)
        self._terminated = False  # this session's ffmpeg was sent SIGTERM by the loop
        self._clock: threading.Thread | None = None
        self._next_clock = 0.0  # time.monotonic() of the next clock reading
        self._clock_retry = ProbeRetry(min(self.opt.clock_retry_s, self.opt.clock_interval_s))
        # stop/halt wake the loop sleeping on ffmpeg's list pipe (see _follow)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # Closed with the recorder object (never earlier: a stop() after the thread ended
        # must not write into a descriptor number reused by something else).
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        try:
            with self.vault.reading() as s:
                self.last_end = s.execute(select(func.max(Recording.end_at)).where(
                    Recording.source_id == self.job.source_id,
                    Recording.state == RecordingState.STORED)).scalar_one_or_none()
        except Exception as exc:
            if not is_database_away(exc):
                raise
            # Recording first; the gap since the last run is then the one the start of the
            # first session closes (or what the next start finds). The outage begins here,
            # for the log and the pause alike.
            self._retry.failed(exc)
        self._progress = progress_of(self.vault).loop(f"camera {self.job.name}", ALLOWANCE_S)
        if self.last_end is not None:
            # The time since the last segment was not recorded (serve stopped or crashed).
            self._down(self.last_end, health.Failure("recorder_not_running",
                                                     "the recorder was not running"))
        self._thread.start()

    def stop(self) -> None:
        """Stop recording; what waits for the database is still taken in when it answers
        (the thread lives on until then, or until `abandon`)."""
        self._stop.set()
        self._wake()

    def abandon(self) -> None:
        """serve stops: stop recording, and leave what the database has not taken within
        `stop_index_s` to the next start's recovery."""
        self._abandon.set()
        self.stop()

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

    def _beat(self) -> None:
        if self._progress is not None:
            self._progress.beat()

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
            self._index_before_leaving()
        finally:
            # Stopped on purpose: no hang. A loop ended any other way stays registered and
            # stalls the watchdog (serve is restarted: that camera records no more).
            if self._stop.is_set() and self._progress is not None:
                self._progress.forget()

    def _loop(self) -> None:
        backoff = self.opt.backoff_initial_s
        while not self._stop.is_set():
            self._beat()
            try:
                self._drain()
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
        if self._backlog:
            log.warning("camera %s: %d segments and steps not yet in the index stay in the "
                        "spool for the next start", self.job.name,
                        sum(1 for w in self._backlog if w.seg is not None))
        if self._retry.failing_since is not None:
            return  # the database away: no waiting for it at a stop; the next start writes
        with contextlib.suppress(Exception):  # e.g. a full disk, as below
            self._owed.flush()
        last = f"; last problem: {self.last_failure}" if self.down_since and self.last_failure \
            else ""
        try:
            health.set_status(self.vault, self.job.source_id, "stopped",
                              "recorder stopped" + last)
        except Exception:  # e.g. a full disk: the status row is the next start's to write
            log.exception("camera %s: cannot note that its recorder stopped", self.job.name)

    def _index_before_leaving(self) -> None:
        """Stopped while serve runs, with segments the database has not taken yet (it is
        away): they are taken in, in order and judged by the fence by when they were
        recorded, once it answers — not left in the spool until a restart of serve."""
        if not self._backlog or self._abandon.is_set() or self._retry.failing_since is None:
            return  # nothing waits, serve stops, or not for the database (the next start)
        log.info("camera %s: stopped; %d segments wait for the database and are taken in when "
                 "it answers", self.job.name, sum(1 for w in self._backlog if w.seg is not None))
        self._leaving = True
        try:
            while self._backlog and not self._abandon.is_set():
                self._drain()
                if self._backlog:
                    self._abandon.wait(max(0.2, self._retry.left_s()))
        except Exception:  # e.g. a full disk: the rest is the next start's to take in
            log.exception("camera %s: taking in what waited after its stop failed; the rest "
                          "stays in the spool for the next start", self.job.name)
        finally:
            self._leaving = False

    def _wait_or_alert(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._beat()  # backing off from a camera (or the database) away is progress
            self._drain()  # what the last sessions recorded, as the database returns
            self._owed.flush()
            self._check_down_alert()
            self._stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))

    def _check_down_alert(self, cause: str | None = None) -> None:
        if self.down_since is None:
            return
        if datetime.now(UTC) - self.down_since >= timedelta(seconds=self.opt.down_alert_after_s):
            since, why = self.down_since, cause or self._down_cause
            self._owed.write("alert", lambda: health.raise_down_alert(
                self.vault, self.job.source_id, self.job.name, since, why), latest=True)

    _down_cause = "recorder_not_running"

    def _down(self, since: datetime, failure: health.Failure) -> None:
        if self.down_since is None:
            # Recorded until: what ffmpeg closed, indexed or not (the database may be away).
            # The grace counts from there, not from ffmpeg's give-up: a camera gone silent
            # without a reset is noticed only after ffmpeg's I/O timeout, and a minute's
            # silence measured from then ended before the grace (issue 48 item 9).
            until = self.recorded_until
            self.down_since = min(since, until) if until is not None else since
        self._down_cause = failure.cause
        if self._backlog and self._retry.failing_since is None:
            # Segments recorded before it wait for room: the gap is opened now (the status
            # shows it while the disk is full), and they do not close it when taken in —
            # each moves its start to where it ends (a gap of no length, the hole after them
            # without a row, when the first of them closed it).
            for waiting in self._backlog:
                waiting.before_gap = True
            self._open_gap(since, failure)
            return
        if self._backlog:
            # The database away: on the time line after what was recorded before it. A camera
            # still down at the next try adds nothing: the gap waiting already starts where it
            # stopped.
            last = self._backlog[-1]
            if last.down is not None and last.session is None:
                last.down = (last.down[0], failure)  # its start stands, the latest cause
                return
            self._backlog.append(Waiting(None, down=(since, failure)))
            with contextlib.suppress(Exception):  # a full disk: drained once there is room
                self._drain()
        else:
            self._open_gap(since, failure)

    def _open_gap(self, since: datetime, failure: health.Failure) -> None:
        self._gap_open = True
        if self._owed_gap is not None and self._owed.owes_last(GAP_OPEN, ("status", "alert")):
            # Still down at the next try while the database is away: the gap owed already
            # opens where the camera stopped (a status or alert owed since ends no gap); only
            # its detail is the latest (as open_gap does to an open row), so nothing piles up.
            self._owed_gap.failure = failure
            return
        owed = self._owed_gap = OwedGap(since, failure)  # the owed write reads it when made
        # Owed in line when there is no room either: its close, when the camera records
        # again, comes after it (kept aside, a close written first found nothing open and the
        # gap was opened later over what was recorded since, or never).
        self._owed.write(GAP_OPEN, lambda: health.open_gap(
            self.vault, self.job.source_id, owed.since, owed.failure.cause,
            owed.failure.message, self.job.name))

    # -- a full disk ---------------------------------------------------------------------
    def _disk_is_full(self, since: datetime, detail: str, wrote: bool = True) -> None:
        """The session ended for lack of space (``wrote``: its own write failed, else another's):
        the reserve goes, the sweep runs (pressure.py); the status says so, the gap opens."""
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
        message, self._status_owed = self._status_owed, None
        # No room for it either: owed, and said once (Retry.no_room)
        self._owed.write("status", lambda: health.set_status(
            self.vault, self.job.source_id, "disk_full", message), latest=True)

    def _wait_for_space(self) -> None:
        """Until the disk has room again (the sweep or the administrator freed it): then the
        next session starts at once, without waiting out a backoff."""
        watch = watch_of(self.vault)
        while not self._stop.is_set():
            self._beat()
            self._write_owed_status()
            # What waited for room: the segments recorded before the disk filled, and after
            # them the gap (`_down`), if the database can write (the reserve is given back
            # for it).
            try:
                self._drain()
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
            self._owed.flush()
            if watch.look():  # a disk filled meanwhile is noticed here too
                break
            self._check_down_alert()
            self._stop.wait(0.5)
        self.disk_full = False
        self._status_owed = None  # the next session writes "connecting"
        log.info("camera %s: the disk has room again; recording resumes", self.job.name)

    def _session(self) -> bool:
        name, folder = new_session(self.spool, self.job.source_id)
        session = Session(self.vault, self.job.source_id, name, folder, admit=self.admit)
        self.sessions += 1
        self._closed = 0
        self._stop_deadline = None
        started = datetime.now(UTC)
        self._terminated = False
        if self._stop.is_set():  # halted meanwhile: no new ffmpeg
            return False
        # ffmpeg's list of closed segments comes through a pipe: a row wakes this thread the
        # moment its segment is closed (segments.PipedSegmentList keeps the list file too).
        list_r, list_w = os.pipe()
        session.follow_pipe(list_r)
        command = self._pictures.command(self.ffmpeg, self.job.input_url,
                                         self.job.segment_seconds, folder, f"pipe:{list_w}",
                                         _die_with_parent, self._stop)
        try:
            self.proc = recorder_pair.start(command, _die_with_parent, (list_w,))
        except BaseException:
            session.close_reader()
            raise
        finally:
            os.close(list_w)  # ffmpeg's copy only: its exit is the pipe's end
        if command.stdin is not None:
            self._hand_over(self.proc, command.stdin)
        self.stderr_tail.clear()
        reader = threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True)
        reader.start()
        watch = watch_of(self.vault)
        full: BaseException | None = None
        paused = False
        watch.writers.add(process_writer(started, self.proc))  # stopped before the reserve goes
        try:
            paused = self._follow(session, watch, started)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            full = exc  # the segment stays in the spool; settled once there is room
        finally:
            if self.proc.poll() is None:
                self._terminate()
            watch.writers.remove()
        reader.join(5)
        code = self.proc.returncode
        session.urgent = True  # serve may be stopping: its stop has a time limit
        try:
            try:
                for seg in session.poll():
                    self._closed_segment(session, seg)
            finally:
                session.close_reader()
                session.meta = self._session_meta()
                # Settled after its segments: the unfinished last one, the folder removed.
                # A session with no segment file left (a camera that did not answer, or all
                # taken in) needs no database and holds no place on the time line: settled
                # at once, so that a camera retried through a long outage piles nothing up.
                if self._backlog and not any(session.folder.glob(SEGMENT_GLOB)):
                    session.settle()
                    if session.last_end is not None:
                        self.last_end = session.last_end
                else:
                    self._backlog.append(Waiting(session))
            self._drain(force=self._stop.is_set())
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            full = full or exc  # what waits is taken in once there is room
        produced = self._closed > 0
        stopped = (0, 255, -signal.SIGTERM) + ((-signal.SIGKILL,) if self._halted else ())
        # Ended by the stop itself: ffmpeg still opening the camera exits 183 ("Immediate
        # exit requested"), which is no failure of the camera and must not replace the last
        # real one in the status ("recorder stopped; last problem: ...").
        if self._stop.is_set() and (code in stopped or self._terminated) and full is None:
            return produced
        failure = health.classify(list(self.stderr_tail), code, produced, self.job.shown_url)
        if full is not None or paused or failure.cause == "disk_full":
            self._disk_is_full(started, f"{type(full).__name__}: {full}" if full is not None
                               else "stopped until there is room" if paused
                               else "ffmpeg could not write the segment (No space left on "
                                    "device)", wrote=not paused)
            return produced
        log.warning("camera %s: %s", self.job.name, failure.message)
        self.last_failure = failure.message
        self._owed.write("status", lambda: health.set_status(
            self.vault, self.job.source_id, "down", failure.message), latest=True)
        self._down(self.last_end or started, failure)
        return produced

    def _follow(self, session: Session, watch: DiskWatch, started: datetime) -> bool:
        """Take in the segments while ffmpeg runs (or keep them in the backlog while the
        database is away: ffmpeg goes on). True when it was stopped because another writer
        found the disk full: its segments would eat the reserve released for the sweep's own
        records."""
        assert self.proc is not None
        self._next_clock = 0.0  # each session measures after its first segment
        # Written once ffmpeg runs: a database that does not answer delays no recording.
        url = self.job.shown_url
        self._owed.write("status", lambda: health.set_status(
            self.vault, self.job.source_id, "connecting", f"connecting to {url}"), latest=True)
        poller = io_select.poll()
        poller.register(self._wake_r, io_select.POLLIN)
        listing = session.reader.fileno() if hasattr(session.reader, "fileno") else None
        if listing is not None:
            poller.register(listing, io_select.POLLIN)
        while True:
            self._beat()  # each wake: at least every poll_s
            for seg in session.poll():
                self._closed_segment(session, seg)
            if not self._stop.is_set():  # at a stop: ffmpeg first, then the last takes
                self._drain()
                self._owed.flush()
            if self._closed and self.opt.measure_clock \
                    and time.monotonic() >= self._next_clock \
                    and not self.job.input_url.startswith(SIMULATED_PREFIX) \
                    and (self._clock is None or not self._clock.is_alive()):
                self._next_clock = time.monotonic() + self.opt.clock_interval_s
                self._clock = threading.Thread(target=self._measure_clock, args=(session,),
                                               name=f"clock-{self.job.name}", daemon=True)
                self._clock.start()
            if self.proc.poll() is not None:  # stopped by the disk watch, or ended
                return watch.full_at is not None and watch.full_at > started
            if self._stop.is_set():
                self._terminate()
                return False
            if watch.full_at is not None and watch.full_at > started:
                self._terminate()
                return True
            if not self._closed:
                self._check_down_alert()
            if listing is not None and getattr(session.reader, "eof", False):
                poller.unregister(listing)  # ffmpeg closed its list: it is ending
                listing = None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(self.opt.poll_s)
                continue
            sleep = self.opt.poll_s
            if self._backlog or self._owed.items:  # asked again when its pause is over
                sleep = min(sleep, max(0.05, self._retry.left_s()))
            for fd, _event in poller.poll(sleep * 1000):
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
            session.hash_ahead()

    @staticmethod
    def _hand_over(proc: Process, script: bytes) -> None:
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

    def _drain_stderr(self, proc: Process) -> None:
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
        """A segment ffmpeg closed: into the backlog, and taken in now if the database
        answers (and nothing older waits)."""
        self._closed_segment(session, seg)
        self._drain()

    def _closed_segment(self, session: Session, seg: ListedSegment) -> None:
        """What a closed segment needs at once, without the database: the first of a session
        checked for sound and its codec noted; the disk measured; the camera no longer
        down. Its row waits its turn in the backlog."""
        path = session.folder / seg.name
        first = not self._closed
        if first:
            codec, audio = codec_of(path)
            if audio:  # cannot happen with -an; refuse to keep it rather than keep sound
                log.error("camera %s: segment has an audio stream; discarded", self.job.name)
                path.unlink(missing_ok=True)
                return
            self.codec = codec
            note = None if codec in BROWSER_CODECS else "not playable in browser"
            text = f"recording {codec or '?'}" + (f" ({note})" if note else "")
            self._owed.write("status", lambda: health.set_status(
                self.vault, self.job.source_id, "recording", text, codec=codec), latest=True)
            if note:
                log.warning("camera %s sends %s: recorded as it is, %s", self.job.name, codec,
                            note)
            (session.folder / "session.json").write_text(json.dumps(self._session_meta()))
        self._closed += 1
        closed_at = None
        with contextlib.suppress(OSError):
            closed_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            self.recorded_until = closed_at
        if self.down_since is not None or first:
            # The hole, as the files tell it (the database may be away now): from when the
            # camera stopped delivering to this segment's start; a hole the alert could not
            # be raised for in time still gets its row (health.clear_down_alert).
            since, after = self.down_since, self.opt.down_alert_after_s
            until = closed_at - timedelta(seconds=seg.end - seg.start) \
                if since is not None and closed_at is not None else None
            self.down_since = None
            self._owed.write("alert", lambda: health.clear_down_alert(
                self.vault, self.job.source_id, after, since=since, until=until), latest=True)
        # Each closed segment: is the disk short? (the disk-pressure sweep runs at once)
        watch_of(self.vault).after_write()
        self._backlog.append(Waiting(session, seg, self._session_meta()))

    def _drain(self, force: bool = False) -> None:
        """Take in what waits, oldest first, while the database answers (``force``: ask it
        now, its pause over or not). A full disk is raised (the item waits); the database away
        ends the turn (asked again after a pause); any other failure drops the item from the
        backlog, its file left in the spool for the next start's recovery."""
        while self._backlog:
            self._beat()  # each step: a long backlog taken in after an outage is progress
            if not (force or self._retry.due()):
                return
            if self._stop.is_set() and not self._leaving:
                if self._stop_deadline is None:
                    self._stop_deadline = time.monotonic() + self.opt.stop_index_s
                left = self._stop_deadline - time.monotonic()
                if left <= 0:
                    return  # the rest stays in the spool for the next start
                bound = index_batch.waiting(left)
            else:
                bound = index_batch.waiting(index_batch.ADOPT_WAIT_S,
                                            self._abandon if self._leaving else self._stop)
            item = self._backlog[0]
            try:
                with bound:
                    answered = self._do(item)
            except Exception as exc:
                if is_disk_full(exc):
                    raise
                if isinstance(exc, index_batch.IndexTimeout) and self._stop.is_set() \
                        and not self._leaving and self._stop_deadline is None:
                    return  # the wait ended by the stop: the last takes ask again
                if is_database_away(exc):
                    self._retry.failed(exc)
                    return
                log.exception("camera %s: taking in %s failed; left in the spool for the "
                              "next start", self.job.name,
                              item.seg.name if item.seg else "a session")
                answered = False  # its own error says nothing of the database
            if answered:
                self._retry.answered()
            self._backlog.popleft()
            force = False

    def _do(self, item: Waiting) -> bool:
        """One step; True if the database answered a call of it (what ends an outage: a step
        that needed none — a session that recorded nothing, a gap owed while the database is
        away — is no sign of it; a row written through `_owed` is noted there)."""
        if item.down is not None:
            since, failure = item.down
            # After every segment recorded before it: the gap starts where they end.
            self._open_gap(self.last_end or since, failure)
            return False
        assert item.session is not None
        if item.seg is None:
            # Settling asks the database (what is indexed of it) only for segment files left
            # in the folder; an empty one is removed without it (Session.settle).
            asks = any(item.session.folder.glob(SEGMENT_GLOB))
            before = item.session.last_end
            item.session.settle()
            end = item.session.last_end
            if end is not None:
                self.last_end = end
            if item.before_gap and self._gap_open and end is not None and end != before:
                # ffmpeg's unlisted last segment (its write failed), settled after the gap opened
                self._gap_starts_after(end)
            elif before is None and item.session.first_start is not None:
                self._close_gap(item.session.first_start)  # its only one: unlisted, settled
            return asks
        return self._take_now(item.session, item.seg, item.meta, item.before_gap)

    def _close_gap(self, start: datetime) -> None:  # where a session's first segment begins
        self._owed.write("gap", lambda: health.close_gap(self.vault, self.job.source_id, start,
                                                         self.job.name))
        self._gap_open = False

    def _gap_starts_after(self, end: datetime) -> None:
        """Recorded before the open gap began, taken in after: the gap starts where it ends."""
        self._owed.write("gap", lambda: health.start_gap_after(self.vault, self.job.source_id, end))

    def _take_now(self, session: Session, seg: ListedSegment, meta: dict[str, object],
                  before_gap: bool = False) -> bool:
        """The segment indexed (True: by the database's answer), or gone from the folder."""
        path = session.folder / seg.name
        index = index_batch.index_of(self.vault)
        previous = self.last_end
        # Catching up after an outage: each segment at once, not after a batch window of its
        # own (one a second a camera: a 10 min outage of 3 cameras took 5 min to drain).
        was_urgent, session.urgent = session.urgent, session.urgent or len(self._backlog) > 1
        try:
            span = index.outcome_of(path) or session.take(seg, meta) or index.outcome_of(path)
        finally:
            session.urgent = was_urgent
        if span is None:
            return False  # no file to take (taken before), or refused by the fence
        start, end = span
        if session.last_end != end:  # indexed by a job an earlier wait had given up on
            session.last_end, session.taken = end, session.taken + 1
        if before_gap and self._gap_open:
            self._gap_starts_after(end)
        elif self._gap_open or session.taken == 1:
            self._close_gap(start)
        elif session.jumped and previous is not None and previous != start:
            # Not a pause of the camera: the time line moves with the server's clock.
            lo, hi = min(previous, start), max(previous, start)
            self._owed.write("gap", lambda: health.record_gap(
                self.vault, self.job.source_id, lo, hi, "clock_jump",
                "the server's clock jumped"))
        elif previous is not None and (start - previous).total_seconds() > self.opt.stall_gap_s:
            self._owed.write("gap", lambda: health.record_gap(
                self.vault, self.job.source_id, previous, start, "stream_stall",
                "the camera stopped sending for a while"))
        self.last_end = end
        return True

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
            self._next_clock = time.monotonic() + self._clock_retry.after(
                self.clock_offset is not None)
            return
        self.clock_offset, self._clock_retry.failed = round(m.offset_s, 3), 0
        try:
            store_offset(self.vault, self.job.source_id, session.name, m)
        except Exception as exc:  # the offset is in every segment's meta all the same
            if not is_database_away(exc):
                raise
            log.warning("camera %s: its clock offset cannot be stored now (%s)",
                        self.job.name, exc)
        clock.camera_offset(self.vault, self.job.source_id, self.job.name, m.offset_s)
        log.info("camera %s: clock offset %+.3f s (%d samples)", self.job.name, m.offset_s,
                 m.samples)
