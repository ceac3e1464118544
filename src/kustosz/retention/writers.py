"""The programs writing recordings onto the data folder's disk, stopped by the disk watch
itself when the disk runs out (kustosz.retention.pressure).

The reserve a full disk releases is for the vault's own records (the sweep's deletions, the
alert, the recorders' status and gaps), never for more recording. So it is released only
once every writer that began before the disk filled has stopped. Each recorder used to stop
its own ffmpeg when it next looked at the watch, and the watch waited for it; but a recorder
that found the disk full waited inside the watch for the others, which were waiting there
for it: every recorder waited out the limit, and their ffmpeg processes, still running, took
the released reserve (a loaded run of tests/test_full_disk_cameras.py; then not even the
status could be written). Now the watch asks each writer's process to stop at once and
waits for the processes, not for their threads.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# How long a full disk waits for the writers' processes to end after asking them (ffmpeg
# closes its segment and exits at once); then they are killed.
STOP_S = 3.0
KILL_S = 2.0


@dataclass
class Writer:
    since: datetime  # when it began writing
    stop: Callable[[bool], None]  # ask it to stop now (True: kill); never waits
    ended: Callable[[], bool]  # its process has ended


class Process(Protocol):
    """A process as Popen has it (or a recorder's pair of them, that stands for one)."""

    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...


def process_writer(since: datetime, proc: Process) -> Writer:
    """A writer that is one process (a recorder's ffmpeg: SIGTERM closes its segment)."""

    def stop(kill: bool) -> None:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)

    # poll() says None while the recorder's own thread waits for it; then returncode is set
    return Writer(since, stop, lambda: proc.returncode is not None or proc.poll() is not None)


class Writers:
    """The writers now running, one per thread that registered it."""

    def __init__(self) -> None:
        self._running: dict[int, Writer] = {}
        self._lock = threading.Lock()

    def add(self, writer: Writer) -> None:
        """The calling thread's writer, until `remove`."""
        with self._lock:
            self._running[threading.get_ident()] = writer

    def remove(self) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)

    def stop_before(self, before: datetime) -> list[Writer]:
        """Every writer that began before ``before`` stopped: asked, waited for up to
        `STOP_S`, then killed. Returns those still running after all (a process that does
        not die: the caller goes on without it)."""
        with self._lock:
            wanted = [w for w in self._running.values() if w.since < before]
        for writer in wanted:
            writer.stop(False)
        left = _wait(wanted, STOP_S)
        for writer in left:
            writer.stop(True)
        return _wait(left, KILL_S)


def _wait(writers: list[Writer], seconds: float) -> list[Writer]:
    deadline = time.monotonic() + seconds
    while True:
        left = [w for w in writers if not w.ended()]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)  # a process's end wakes nothing here: it is looked at
