"""Long background work, one API on both databases (issue 16 item 2).

    copy_make = register("copy.make", run, check=..., retry=Retry(...),
                         title_pl="Sporządzanie kopii")     # in kustosz.jobs.catalogue
    job_id = copy_make.defer(vault, "anna", request_id=7, by="anna", actor="anna")
    get(vault, job_id)  -> JobView: state (queued, running, done, failed), progress, note,
                           error (English and Polish, secrets taken out), result, attempts

Where the work runs is the process's business: `kustosz serve` starts one worker per node
(`start`) — on PostgreSQL a procrastinate worker on the shared queue, so any node may take a
job another queued; on SQLite a few threads of its own. Anywhere else (the command line, a
test's web client) a job runs in the caller at once, so nothing changes for a one-machine
office. Bad input is refused before anything is queued: an unknown kind, arguments JSON would
not give back unchanged, an argument the kind's function does not take (or one it needs left
out), and whatever the kind's own `check` refuses.

A kind is queued through its typed object (`JobKind.defer`: ``started_by`` comes second, by
position — a ParamSpec admits no keyword of the call's own beside the function's — then the
function's own arguments), so a type checker and go-to-definition follow the call to the
function. `defer(vault, "name", ...)` by the stored name is the same step for kinds made at
run time (tests); the program's own code does not use it (tests/jobs/test_typed_jobs.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kustosz.db.jobs import JobState
from kustosz.db.outage import is_database_away
from kustosz.errors import NotFound
from kustosz.holds import object_lock
from kustosz.jobs import records
from kustosz.jobs.catalogue import hold_legal_holds
from kustosz.jobs.context import JobContext
from kustosz.jobs.kinds import (
    JobKind,
    Retry,
    Retryable,
    defer_by_name,
    hand_over_to,
    kinds,
    register,
    unregister,
)
from kustosz.jobs.records import JobView
from kustosz.jobs.runners import Inline, Runner, Threads

if TYPE_CHECKING:
    from kustosz.vault import Vault
    from kustosz.watchdog import Progress

__all__ = ["SYSTEM", "Inline", "JobContext", "JobKind", "JobState", "JobView", "Retry",
           "Retryable", "Runner", "Threads", "defer", "get", "kinds", "register", "runner_of",
           "start", "stop", "unregister", "use", "wait"]

log = logging.getLogger(__name__)
SYSTEM = "system"  # started_by of a job no person started


@dataclass(frozen=True)
class InUse:
    """The runner a vault's jobs go to in this process, as the vault's services keep it
    (kustosz.vault_services: a runner is a protocol, so it is held under this type)."""

    runner: Runner


def use(vault: Vault, runner: Runner | None) -> None:
    """Jobs of ``vault`` queued in this process go to ``runner`` (None: run in the caller)."""
    if runner is None:
        vault.services.drop(InUse)
    else:
        vault.services.put(InUse, InUse(runner))


def runner_of(vault: Vault) -> Runner:
    used = vault.services.get(InUse)
    return used.runner if used is not None else Inline()


def defer(vault: Vault, kind: str, /, *, started_by: str = SYSTEM, **args: Any) -> int:
    """Queue a job of the kind named ``kind`` with ``args``; its number. Bad input raises
    (InputError and the kind's own errors) with nothing queued. By name, for kinds a test
    registers: the program queues its own through their `JobKind` (catalogue)."""
    return defer_by_name(vault, kind, args, started_by)


def _submit(vault: Vault, kind: str, args: dict[str, Any], started_by: str) -> int:
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
        if not is_database_away(exc):
            raise
        log.warning("old jobs not pruned, the database is away: %s", exc)
    if vault.engine.dialect.name == "postgresql":
        # procrastinate loads with the worker that uses it: importing it runs `file` on the
        # Python binary (croniter asks platform.architecture()), a process and 0.1 s of CPU
        # for every command that only names a job.
        from kustosz.jobs.queue import QueueWorker  # noqa: PLC0415

        runner = QueueWorker(vault, name=node or "kustosz", concurrency=workers,
                             progress=progress).start()
    else:
        runner = Threads(vault, workers).start()
    use(vault, runner)
    return runner


def stop(vault: Vault, timeout: float) -> None:
    used = vault.services.get(InUse)
    vault.services.drop(InUse, used)
    if used is not None:
        used.runner.stop(timeout)


def _queue_legal_holds(vault: Vault, hold_id: int, on: bool, actor: str) -> int:
    return hold_legal_holds.defer(vault, actor, hold_id=hold_id, on=on)


def _hand_in() -> None:
    # holds.object_lock queues its job through this hook: this package runs custody's work
    # (catalogue), so custody does not import it back (tests/test_import_cycles.py).

    object_lock.queue_job = _queue_legal_holds
    hand_over_to(_submit)  # kinds.queue hands a checked job to this process's runner


_hand_in()
