"""Live view from a camera's sub-stream (issue 34 item 2): while somebody watches, one ffmpeg
per camera copies its lighter stream (the live-view profile it was added with) as fragmented
MP4 to its stdout; live_stream.py joins each picture whole (issue 65 item 2) and hands it to
the viewers and to a second ffmpeg (live_hls.py) writing a short rolling HLS window in the
data folder's `live/`: both served by the web app through its gate.

Nothing of it is evidence: the files are never indexed, never stored, never in a copy, and are
deleted as ffmpeg rolls its window and when the relay stops — the recording is the main
stream's, by the recorder, untouched by this. A relay nobody fetched from for IDLE_S stops;
one whose camera does not answer ends by itself (ffmpeg's own I/O time-out) and is started
again at most once per RETRY_S. The camera's password reaches ffmpeg on its stdin, never on a
command line, and the sound is never asked for (R1.3): the recorder's input script."""

from __future__ import annotations

import ctypes
import logging
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from kustosz.ffmpeg import ffmpeg_exe
from kustosz.ingest.camera.command import MP4_FLAGS, input_args
from kustosz.ingest.camera.live_hls import HlsFeed, hls_command
from kustosz.ingest.camera.live_stream import LiveStream

log = logging.getLogger(__name__)
# (camera's source id, what could not be read): the web app raises the camera's alert
Unreadable = Callable[[int, str], None]
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1

IDLE_S = 30.0  # no fetch for this long: nobody watches, the relay stops
RETRY_S = 5.0  # a relay that ended is not started again sooner
PART_S = 1  # HLS part length: live view runs this far behind, plus the player's buffer
WINDOW = 6  # parts in the playlist (and on disk)
PLAYLIST = "live.m3u8"
PART = re.compile(r"^live\d{1,9}\.ts\Z")


def _die_with_keeper() -> None:  # in the child between fork and exec
    # The signal comes when the forking *thread* ends: relays are started only from the
    # long-lived keeper thread (Relays), which ends with serve — so a serve killed with
    # SIGKILL leaves no ffmpeg pulling a camera for nobody.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def relay_command(ffmpeg: str, url: str) -> tuple[list[str], bytes | None]:
    """One reading of the camera (the picture copied, or encoded once for the demo) as
    fragmented MP4 with a fragment per frame on stdout (live_stream.py), which joins each
    picture whole and feeds both the viewers and the HLS fallback (live_hls.py)."""
    args, script = input_args(url, PART_S)
    return ([ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", *args,
             "-map", "0:v:0", "-an", "-sn", "-dn", "-f", "mp4", "-movflags", MP4_FLAGS,
             "pipe:1"], script)


class Relay:
    """One camera's sub-stream as fMP4 and rolling HLS, while it is fetched from."""

    def __init__(self, source_id: int, url: str, folder: Path,
                 on_unreadable: Unreadable | None = None) -> None:
        self.source_id, self._url, self.folder = source_id, url, folder
        self._on_unreadable = on_unreadable
        self.proc: subprocess.Popen[bytes] | None = None
        self.stream = LiveStream()
        self.hls: HlsFeed | None = None
        self.started = self.used = time.monotonic()  # a relay about to start is not retried

    def start(self) -> None:
        if self.running():
            return  # asked twice (a start that outlasted its wait): one ffmpeg, not two
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.parent.mkdir(mode=0o700, exist_ok=True)
        self.folder.mkdir(mode=0o700)
        self.folder.parent.chmod(0o700)  # the service's alone, whatever the umask
        self.folder.chmod(0o700)
        argv, script = relay_command(ffmpeg_exe(), self._url)
        self.started = self.used = time.monotonic()
        self.hls = HlsFeed(hls_command(ffmpeg_exe(), PART_S, WINDOW, PLAYLIST), self.folder,
                           _die_with_keeper)
        self.stream = LiveStream(self._unreadable, self.hls.feed)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=self.folder,
                                     preexec_fn=_die_with_keeper)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout, self.stream, self.hls),
                         daemon=True, name=f"live-stream-{self.source_id}").start()
        try:
            self.proc.stdin.write(script or b"")
            self.proc.stdin.close()
        except OSError:  # it ended at once; said by running() on the next look
            pass
        log.info("live view relay of camera %s started (sub-stream)", self.source_id)

    def _unreadable(self, detail: str) -> None:
        """ffmpeg's MP4 cannot be read, so neither can the HLS window made from it: the
        camera's alert, and the relay ends — its viewers get the recorded stream until it is
        started again (RETRY_S), not a window that stopped moving."""
        try:
            if self._on_unreadable is not None:
                self._on_unreadable(self.source_id, detail)
        finally:
            proc = self.proc
            if proc is not None and proc.poll() is None:
                proc.terminate()

    @staticmethod
    def _read(pipe: IO[bytes], stream: LiveStream, hls: HlsFeed) -> None:
        try:
            stream.read(pipe)
        finally:
            hls.close()  # the camera's stream ended: so does the fallback's

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.stream.close()
        if self.hls is not None:
            self.hls.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def playlist(self) -> str | None:
        try:
            text = (self.folder / PLAYLIST).read_text()
        except OSError:
            return None
        return text if "#EXTINF" in text else None

    def part(self, name: str) -> Path | None:
        if not PART.match(name):
            return None
        path = self.folder / name
        return path if path.is_file() else None


class Relays:
    """The data folder's relays, one per camera watched; stops the idle ones."""

    def __init__(self, root: Path, on_unreadable: Unreadable | None = None) -> None:
        self.root = root / "live"
        self._on_unreadable = on_unreadable
        self._relays: dict[int, Relay] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._viewers: dict[str, int] = {}  # a live viewing session's token digest -> camera
        shutil.rmtree(self.root, ignore_errors=True)  # a previous run's parts are no one's
        self._keeper: threading.Thread | None = None
        self._jobs: queue.Queue[tuple[Relay, threading.Event]] = queue.Queue()

    def _keeping(self) -> None:
        """Starts relays (their ffmpeg is this thread's child: see _die_with_keeper) and stops
        the idle ones."""
        while not self._closed.is_set():
            try:
                job = self._jobs.get(timeout=IDLE_S / 6)
            except queue.Empty:
                job = None
            try:
                if job is not None:
                    job[0].start()
                self.reap()
            except Exception:  # the loop outlives one bad start or stop; said in the log
                log.exception("live view relays: a start or a stop failed")
            finally:
                if job is not None:
                    job[1].set()

    def _start(self, relay: Relay) -> None:
        """Start ``relay`` in the keeper thread and wait (bounded) until it has."""
        if self._keeper is None or not self._keeper.is_alive():
            self._keeper = threading.Thread(target=self._keeping, name="live-relays",
                                            daemon=True)
            self._keeper.start()
        done = threading.Event()
        self._jobs.put((relay, done))
        done.wait(10)

    def touch(self, source_id: int, url: Callable[[], str]) -> Relay | None:
        """The camera's running relay, started if needed (``url`` opens the sealed password
        only then); None while a relay that ended waits out RETRY_S."""
        now = time.monotonic()
        with self._lock:
            self._reap(now)
            relay = self._relays.get(source_id)
            if relay is not None and relay.running():
                relay.used = now
                return relay
            if relay is not None and now - relay.started < RETRY_S:
                return None
            if relay is not None:
                relay.stop()
                log.warning("live view relay of camera %s ended; starting it again",
                            source_id)
            relay = Relay(source_id, url(), self.root / str(source_id), self._on_unreadable)
            self._relays[source_id] = relay
        self._start(relay)
        return relay

    def watch(self, viewer: str, source_id: int, url: Callable[[], str]) -> Relay | None:
        """A live viewing session (by its token's digest) opened on this camera: its relay."""
        with self._lock:
            self._viewers[viewer] = source_id
        return self.touch(source_id, url)

    def peek(self, viewer: str) -> Relay | None:
        """The relay of this viewer's camera, if one runs; nothing kept alive or started."""
        with self._lock:
            source_id = self._viewers.get(viewer)
            relay = self._relays.get(source_id) if source_id is not None else None
        return relay if relay is not None and relay.running() else None

    def drop(self, source_id: int) -> None:
        """Stop the camera's relay now and forget who watched it (it may not be watched)."""
        with self._lock:
            relay = self._relays.pop(source_id, None)
            for viewer in [v for v, watched in self._viewers.items() if watched == source_id]:
                del self._viewers[viewer]
        if relay is not None:
            relay.stop()
            log.info("live view relay of camera %s stopped (it may not be watched now)",
                     source_id)

    def forget(self, viewer: str) -> None:
        """A live viewing session ended: its token keeps nothing alive any more."""
        with self._lock:
            self._viewers.pop(viewer, None)

    def _reap(self, now: float) -> None:
        for sid, relay in list(self._relays.items()):
            if now - relay.used > IDLE_S:
                relay.stop()
                del self._relays[sid]
                for viewer in [v for v, watched in self._viewers.items() if watched == sid]:
                    del self._viewers[viewer]
                log.info("live view relay of camera %s stopped (nobody watches)", sid)

    def reap(self) -> None:
        with self._lock:
            self._reap(time.monotonic())

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for relay in self._relays.values():
                relay.stop()
            self._relays.clear()
