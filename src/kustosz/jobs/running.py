"""A job of the shared queue is run once at a time, on any node (issue 27 review).

procrastinate's word that a job's worker is dead (its heartbeat older than `stalled_s`) is not
enough to run the job again: a worker that lost the database begins to stop, stops its
heartbeat and waits for its running job, which goes on in its thread — a copy can take
minutes of ffmpeg. So a job running here says so itself:

- `running`: this process runs the job now (a second start of it here is refused) and a
  thread beats its `jobs` row (`updated_at`) while it runs, whatever procrastinate's worker
  does meanwhile;
- `Silence`: a reaper gives a job back to the queue only once it has seen the job's row
  unchanged for `stalled_s` in at least `LOOKS` looks that all reached the database — an
  outage says nothing of the runner (it could not beat either), so a failed look forgets
  what was seen;
- `records.begin(stale=...)` takes a job marked running only if its row is older than that,
  in the UPDATE itself, so two nodes never both take it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from kustosz.db.jobs import JobState
from kustosz.jobs import records

if TYPE_CHECKING:
    from kustosz.vault import Vault

log = logging.getLogger(__name__)
LOOKS = 3  # looks of the reaper that must all find a row unchanged before its job is given back

_lock = threading.Lock()
_here: set[tuple[str, int]] = set()  # (database, job id) this process runs now


class AlreadyHere(Exception):
    """This process runs the job already (its first run is still in its thread)."""


def _key(vault: Vault, job_id: int) -> tuple[str, int]:
    return vault.engine.url.render_as_string(hide_password=True), job_id


def here(vault: Vault, job_id: int) -> bool:
    with _lock:
        return _key(vault, job_id) in _here


@contextlib.contextmanager
def running(vault: Vault, job_id: int, every: float) -> Iterator[None]:
    """The job runs in this process for the block, its row beating every ``every`` s;
    `AlreadyHere` if it runs here already."""
    key = _key(vault, job_id)
    with _lock:
        if key in _here:
            raise AlreadyHere(f"job {job_id} runs in this process already")
        _here.add(key)
    done = threading.Event()
    # A daemon thread, never joined: a beat waiting on a silent database ends by its
    # deadline, and must not hold the job's end.
    threading.Thread(target=_beat, args=(vault, job_id, every, done), daemon=True,
                     name=f"job-{job_id}-beat").start()
    try:
        yield
    finally:
        done.set()
        with _lock:
            _here.discard(key)


def _beat(vault: Vault, job_id: int, every: float, done: threading.Event) -> None:
    failing = False
    while not done.wait(every):
        try:
            records.beat(vault, job_id)
        except Exception as exc:
            if not failing:
                log.warning("job %d: could not mark it alive (%s); trying again every %.0f s",
                            job_id, str(exc).splitlines()[0] if str(exc) else exc, every)
            failing = True
        else:
            if failing:
                log.info("job %d: marked alive again", job_id)
            failing = False


class Silence:
    """What a reaper saw of the rows of jobs whose worker looks dead (by queue id)."""

    def __init__(self, vault: Vault, stalled_s: float, looks: int = LOOKS) -> None:
        self.vault = vault
        self.stalled_s = stalled_s
        self.looks = looks
        self._seen: dict[int, tuple[datetime, float, int]] = {}  # updated_at, since, looks

    def lost(self) -> None:
        """A look failed: what was seen before says nothing of the time in between."""
        self._seen.clear()

    def dead(self, stalled: dict[int, records.Beat | None]) -> list[int]:
        """Of the jobs procrastinate calls stalled (their rows, None: gone), the queue ids
        nothing runs any more: finished or gone, or silent long enough as seen from here."""
        now = time.monotonic()
        self._seen = {q: seen for q, seen in self._seen.items() if q in stalled}
        out = []
        for queue_id, row in stalled.items():
            if row is None or row.state not in (JobState.QUEUED, JobState.RUNNING):
                out.append(queue_id)  # its attempt is over: closing it again is harmless
                continue
            if here(self.vault, row.job_id):
                self._seen.pop(queue_id, None)  # it runs in this process: alive
                continue
            seen = self._seen.get(queue_id)
            if seen is None or seen[0] != row.updated_at:
                self._seen[queue_id] = (row.updated_at, now, 1)
                continue
            self._seen[queue_id] = (seen[0], seen[1], seen[2] + 1)
            if seen[2] + 1 >= self.looks and now - seen[1] >= self.stalled_s:
                del self._seen[queue_id]
                out.append(queue_id)
        return out
