"""Where jobs run. `Inline`: in the caller, at once (the command line, and any process without
serve's worker: the answer is the same as if the work were done there). `Threads`: serve's
small pool on SQLite, one machine. On PostgreSQL serve uses the shared queue instead
(kustosz.jobs.queue)."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kustosz.jobs import records
from kustosz.jobs.attempt import attempt

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
# A job run in its caller marks itself alive this often while an attempt runs; on PostgreSQL
# the nodes' workers fail one whose caller has been silent for `queue.STALLED_S` (its process
# was killed: nothing else would ever finish its row).
HEARTBEAT_S = 10.0


class Runner(Protocol):
    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int: ...

    def stop(self, timeout: float) -> None: ...


def _queued(vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
    with vault.transaction() as s:
        return records.create(s.connection(), kind, args, by)


@dataclass
class _Shown:
    """What the watch was last handed of one job: its (progress, note), and whether it was
    handed the job finished (once, whichever thread read it so first)."""

    last: tuple[float, str | None] | None = None
    end: bool = False


class Inline:
    """Runs the job in the calling thread, retries included (their waits too). Meanwhile a
    thread of its own beats for it (`records.beat`) and, if ``watch`` is given, hands it the
    job as it stands whenever its progress or note changed (a command line shows them)."""

    def __init__(self, sleep: Any = time.sleep,
                 watch: Callable[[records.JobView], None] | None = None,
                 heartbeat_s: float | None = None) -> None:
        self._sleep = sleep
        self._watch = watch
        self._heartbeat_s = heartbeat_s

    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
        job_id = _queued(vault, kind, args, by)
        done = threading.Event()
        shown = _Shown()
        beating = threading.Thread(target=self._beat, args=(vault, job_id, done, shown),
                                   name=f"job-{job_id}-beat", daemon=True)
        beating.start()
        try:
            while (delay := attempt(vault, job_id)) is not None:
                self._sleep(delay)
        finally:
            done.set()
            beating.join(5)
        if self._watch is not None:
            self._show(vault, job_id, shown)
        return job_id

    def _beat(self, vault: Vault, job_id: int, done: threading.Event, shown: _Shown) -> None:
        every = self._heartbeat_s or HEARTBEAT_S
        # Only the shared queue's workers look for callers gone silent (SQLite's serve takes
        # up at start whatever was left running, one machine).
        beats = vault.engine.dialect.name == "postgresql"
        if not beats and self._watch is None:
            return
        last = time.monotonic()
        while not done.wait(min(every, 0.5) if self._watch else every):
            try:
                if beats and time.monotonic() - last >= every:
                    records.beat(vault, job_id)
                    last = time.monotonic()
                if self._watch is not None:
                    self._show(vault, job_id, shown)
            except Exception:  # the attempt itself meets a database that is away
                log.warning("job %d: could not mark it alive", job_id, exc_info=True)

    def _show(self, vault: Vault, job_id: int, shown: _Shown) -> None:
        assert self._watch is not None
        if shown.end:  # the watching thread read it finished before the caller's last look
            return
        view = records.get(vault, job_id)
        if view is None:
            return
        now = (view.progress, view.note)
        if now != shown.last or view.finished:
            self._watch(view)
        shown.last, shown.end = now, view.finished

    def stop(self, timeout: float) -> None:
        return None


class Threads:
    """A few threads in this process taking jobs in order of when they are due. At start it
    takes up what an earlier run left queued or running (on SQLite only one serve runs)."""

    def __init__(self, vault: Vault, workers: int = 2) -> None:
        self.vault = vault
        self._due: list[tuple[float, int]] = []
        self._left: set[int] = set()  # what an earlier run left running: taken again
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name=f"jobs-{i}", daemon=True)
                         for i in range(workers)]

    def start(self) -> Threads:
        queued = {job_id for _, job_id in self._due}
        for job_id in records.unfinished(self.vault):
            if job_id not in queued:
                self._left.add(job_id)
                self._push(job_id, 0.0)
        for thread in self._threads:
            thread.start()
        return self

    def _push(self, job_id: int, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + delay, job_id))
            self._cond.notify()

    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
        job_id = _queued(vault, kind, args, by)
        self._push(job_id, 0.0)
        return job_id

    def _next(self) -> int | None:
        with self._cond:
            while not self._stopping:
                if self._due and self._due[0][0] <= time.monotonic():
                    return heapq.heappop(self._due)[1]
                wait = self._due[0][0] - time.monotonic() if self._due else None
                self._cond.wait(wait)
            return None

    def _work(self) -> None:
        while (job_id := self._next()) is not None:
            try:
                delay = attempt(self.vault, job_id, resume=job_id in self._left)
                self._left.discard(job_id)
            except Exception:  # the database itself failing: the job stays for the next start
                log.exception("job %d: could not run an attempt", job_id)
                continue
            if delay is not None:
                self._push(job_id, delay)

    def stop(self, timeout: float) -> None:
        """Take no more jobs; wait up to ``timeout`` for the running ones. One still running
        after that ends with the process and is taken up again at the next start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
