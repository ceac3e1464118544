"""Long background work, one API on both databases (issue 16 item 2).

    register("copy.make", run, check=..., retry=Retry(...), title_pl="Sporządzanie kopii")
    job_id = defer(vault, "copy.make", started_by="anna", request_id=7, by="anna")
    get(vault, job_id)  -> JobView: state (queued, running, done, failed), progress, note,
                           error (English and Polish, secrets taken out), result, attempts

Where the work runs is the process's business: `kustosz serve` starts one worker per node
(`start`) — on PostgreSQL a procrastinate worker on the shared queue, so any node may take a
job another queued; on SQLite a few threads of its own. Anywhere else (the command line, a
test's web client) a job runs in the caller at once, so nothing changes for a one-machine
office. Bad input is refused before anything is queued: an unknown kind, arguments JSON would
not give back unchanged, and whatever the kind's own `check` refuses.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

from kustosz.db.jobs import JobState
from kustosz.errors import NotFound
from kustosz.jobs import records
from kustosz.jobs.context import JobContext
from kustosz.jobs.kinds import Retry, Retryable, check_json, kind_of, kinds, register, unregister
from kustosz.jobs.records import JobView
from kustosz.jobs.runners import Inline, Runner, Threads

if TYPE_CHECKING:
    from kustosz.vault import Vault
    from kustosz.watchdog import Progress

__all__ = ["Inline", "JobContext", "JobState", "JobView", "Retry", "Retryable", "Runner",
           "Threads", "defer", "get", "kinds", "register", "runner_of", "start", "stop",
           "unregister", "use", "wait"]

log = logging.getLogger(__name__)
SYSTEM = "system"
_RUNNERS: weakref.WeakKeyDictionary[Any, Runner] = weakref.WeakKeyDictionary()


def use(vault: Vault, runner: Runner | None) -> None:
    """Jobs of ``vault`` queued in this process go to ``runner`` (None: run in the caller)."""
    if runner is None:
        _RUNNERS.pop(vault, None)
    else:
        _RUNNERS[vault] = runner


def runner_of(vault: Vault) -> Runner:
    return _RUNNERS.get(vault) or Inline()


def defer(vault: Vault, kind: str, /, *, started_by: str = SYSTEM, **args: Any) -> int:
    """Queue a job of ``kind`` with ``args``; its number. Bad input raises (InputError and
    the kind's own errors) with nothing queued."""
    found = kind_of(kind)
    check_json(args)
    if found.check is not None:
        found.check(vault, **args)
    return runner_of(vault).submit(vault, kind, args, started_by)


def get(vault: Vault, job_id: int) -> JobView:
    view = records.get(vault, job_id)
    if view is None:
        raise NotFound(f"no job {job_id}", pl=f"Nie ma zadania nr {job_id}.")
    return view


def wait(vault: Vault, job_id: int, timeout: float, poll_s: float = 0.1) -> JobView:
    """The job once it is finished, or as it stands after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        view = get(vault, job_id)
        if view.finished or time.monotonic() >= deadline:
            return view
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))


def start(vault: Vault, *, node: str | None = None, workers: int = 2,
          progress: Progress | None = None) -> Runner:
    """serve's worker for this node: the shared queue on PostgreSQL, threads on SQLite. Jobs
    this process queues go to it until `stop`. ``progress``: serve's watchdog registry, in
    which the PostgreSQL worker beats (kustosz.watchdog)."""
    runner: Runner
    try:
        records.prune(vault)
    except Exception as exc:  # housekeeping: the database away must not stop serve's start
        from kustosz.db.outage import is_database_away

        if not is_database_away(exc):
            raise
        log.warning("old jobs not pruned, the database is away: %s", exc)
    if vault.engine.dialect.name == "postgresql":
        from kustosz.jobs.queue import QueueWorker

        runner = QueueWorker(vault, name=node or "kustosz", concurrency=workers,
                             progress=progress).start()
    else:
        runner = Threads(vault, workers).start()
    use(vault, runner)
    return runner


def stop(vault: Vault, timeout: float) -> None:
    runner = _RUNNERS.pop(vault, None)
    if runner is not None:
        runner.stop(timeout)


def _queue_legal_holds(vault: Vault, hold_id: int, on: bool, actor: str) -> int:
    return defer(vault, "hold.legal_holds", started_by=actor, hold_id=hold_id, on=on)


def _hand_in() -> None:
    # custody.object_lock queues its job through this hook: this package runs custody's work
    # (catalogue), so custody does not import it back (tests/test_import_cycles.py).
    from kustosz.custody import object_lock

    object_lock.queue_job = _queue_legal_holds


_hand_in()
