"""The shared job queue on PostgreSQL: procrastinate (schema by migration 0020).

A job is queued in the same transaction as its row in `jobs` (procrastinate defers on the
connection it is given), so there is never a queued job without its row or the other way
round. Each `kustosz serve` on PostgreSQL runs one worker; several nodes' workers share the
queue and procrastinate hands each job to one of them (a row lock taken with SKIP LOCKED). A
job's attempts, state and errors are kept in `jobs` by `kustosz.jobs.attempt`, the same as on
SQLite; procrastinate only carries the job's number, and its retry waits for the delay the
kind's policy gave (`RetryLater`). Jobs a dead node left running are given back to the queue
once its heartbeat is older than `STALLED_S`; a job run in its caller (the command line) whose
process died — not on the queue, so no worker's heartbeat covers it — is marked failed once
its own beat (`runners.Inline`) is as old.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from kustosz.db.jobs import JobState
from kustosz.jobs import records
from kustosz.jobs.attempt import attempt

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kustosz.vault import Vault

log = logging.getLogger(__name__)
TASK = "kustosz.job"
QUEUE = "kustosz"
STALLED_S = 60.0  # a worker silent this long is dead: its running jobs go back to the queue
REAP_EVERY_S = 30.0


class RetryLater(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.0f} s")
        self.delay = delay


class FailedForGood(Exception):
    """The attempt failed and the kind's policy gives it no other (the row says why)."""


class _AsTheKindSays(BaseRetryStrategy):
    """Retry exactly when kustosz.jobs.attempt said so, after the delay it named."""

    def get_retry_decision(self, *, exception: BaseException,
                           job: procrastinate.jobs.Job) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_in={"seconds": exception.delay})
        return None


def conninfo(engine: Engine) -> str:
    """libpq's URI of the vault's database (never logged: it may hold the password)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(vault: Vault, **pool: Any) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(vault.engine), **pool))

    @app.task(name=TASK, queue=QUEUE, retry=_AsTheKindSays())
    def run_job(job: int, kind: str) -> None:  # kind: for people reading the queue
        # procrastinate hands a job to one worker at a time; one still marked running was
        # given back by the reaper after its worker died.
        delay = attempt(vault, job, resume=True)
        if delay is not None:
            raise RetryLater(delay)
        view = records.get(vault, job)
        if view is not None and view.state == JobState.FAILED:
            raise FailedForGood(view.error or "failed")

    return app


class Queue:
    """Queues jobs for the workers (any process on PostgreSQL that has one running)."""

    def __init__(self, vault: Vault) -> None:
        self.app = make_app(vault)  # never opened here: deferring uses our own connection

    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
        with vault.transaction() as s:
            conn = s.connection()
            job_id = records.create(conn, kind, args, by)
            raw = conn.connection.driver_connection
            queue_id = self.app.configure_task(TASK, queue=QUEUE, connection=raw).defer(
                job=job_id, kind=kind)
            records.set_queue_id(conn, job_id, queue_id)
        return job_id

    def stop(self, timeout: float) -> None:
        return None


class QueueWorker(Queue):
    """A procrastinate worker on its own thread and event loop; it also queues."""

    def __init__(self, vault: Vault, name: str = "kustosz", concurrency: int = 2,
                 poll_s: float = 5.0, stalled_s: float = STALLED_S,
                 reap_s: float = REAP_EVERY_S) -> None:
        super().__init__(vault)
        self.vault = vault
        self.name = name
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stalled_s = stalled_s
        self.reap_s = reap_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobs-worker", daemon=True)
        self.worker_app = make_app(vault, min_size=1, max_size=concurrency + 2)

    def start(self) -> QueueWorker:
        self._thread.start()
        self._ready.wait(30)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the job worker stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with self.worker_app.open_async():
            self._task = asyncio.create_task(self.worker_app.run_worker_async(
                queues=[QUEUE], name=self.name, concurrency=self.concurrency, wait=True,
                install_signal_handlers=False, fetch_job_polling_interval=self.poll_s,
                delete_jobs="successful", stalled_worker_timeout=self.stalled_s,
                # a live worker reports well within the time that declares one dead
                update_heartbeat_interval=min(10.0, self.stalled_s / 4),
                shutdown_graceful_timeout=5.0))
            reaper = asyncio.create_task(self._reap())
            self._ready.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            finally:
                reaper.cancel()

    async def _reap(self) -> None:
        manager = self.worker_app.job_manager
        while True:
            try:
                for job in await manager.get_stalled_jobs(
                        seconds_since_heartbeat=self.stalled_s):
                    log.warning("job %s: its worker is gone; back to the queue", job.id)
                    await manager.retry_job(job)
                for job_id in await asyncio.to_thread(
                        records.abandoned, self.vault, timedelta(seconds=self.stalled_s)):
                    log.warning("job %d: the process running it in its caller is gone; "
                                "marked failed", job_id)
            except Exception:
                log.exception("could not look for jobs of dead workers")
            await asyncio.sleep(self.reap_s)

    def stop(self, timeout: float) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)
