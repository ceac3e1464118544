"""The shared job queue on PostgreSQL: procrastinate (schema by migration 0020).

A job is queued in the same transaction as its row in `jobs` (procrastinate defers on the
connection it is given), so there is never a queued job without its row or the other way
round. Each `kustosz serve` on PostgreSQL runs one worker; several nodes' workers share the
queue and procrastinate hands each job to one of them (a row lock taken with SKIP LOCKED). A
job's attempts, state and errors are kept in `jobs` by `kustosz.jobs.attempt`, the same as on
SQLite; procrastinate only carries the job's number, and its retry waits for the delay the
kind's policy gave (`RetryLater`). A job runs once at a time (kustosz.jobs.running): its row
beats while it runs, and a job whose worker's heartbeat is older than `STALLED_S` is given
back to the queue only once its row, too, has been seen silent that long; a job run in its
caller (the command line) whose
process died — not on the queue, so no worker's heartbeat covers it — is marked failed once
its own beat (`runners.Inline`) is as old.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from kustosz.db import office_keys
from kustosz.db.engine import pg_connect_args
from kustosz.db.jobs import JobState
from kustosz.db.outage import Backoff, is_database_away
from kustosz.jobs import records, running
from kustosz.jobs.attempt import attempt
from kustosz.jobs.connections import ANSWER_WITHIN_S, deadline_connection_class
from kustosz.jobs.runners import HEARTBEAT_S as CALLER_BEAT_S

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kustosz.vault import Vault
    from kustosz.watchdog import Progress

log = logging.getLogger(__name__)
TASK = "kustosz.job"
QUEUE = office_keys.QUEUE_BASE  # a vault's queue is its schema's (office_keys.queue_name)
STALLED_S = 60.0  # a worker silent this long is dead: its running jobs go back to the queue
REAP_EVERY_S = 10.0  # running.LOOKS looks span STALLED_S
POOL_WAIT_S = 30.0  # a job's wait for a connection of the worker's pool
HEARTBEAT_S = 5.0  # the worker's beat for serve's watchdog (kustosz.watchdog)
PROGRESS_NAME = "jobs"
AWAY_RETRY_S = 30.0  # a job whose attempt could not reach the database: tried again then


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


def beat_every(stalled_s: float) -> float:
    """How often a running job's row beats: several times within ``stalled_s``."""
    return min(CALLER_BEAT_S, stalled_s / 4)


def make_app(vault: Vault, stalled_s: float = STALLED_S, **pool: Any) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(vault.engine), **pool))

    @app.task(name=TASK, queue=QUEUE, retry=_AsTheKindSays())
    def run_job(job: int, kind: str) -> None:  # kind: for people reading the queue
        # procrastinate hands a job to one worker at a time; one still marked running was
        # given back by a reaper after its worker died — or so it seemed: the run it would
        # repeat may go on here, or on a node that was cut off, so it is taken only once its
        # row is stale (records.begin), never while this process runs it.
        try:
            with running.running(vault, job, beat_every(stalled_s)):
                delay = attempt(vault, job, resume=True, stale=timedelta(seconds=stalled_s))
        except (running.AlreadyHere, records.StillRunning) as exc:
            log.warning("job %d: %s; looked at again in %.0f s", job, exc, stalled_s)
            raise RetryLater(stalled_s) from exc
        except Exception as exc:
            if is_database_away(exc):  # the row could not even be read: the job waits
                raise RetryLater(AWAY_RETRY_S) from exc
            raise
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
        self._queue: str | None = None  # the vault's schema's queue, asked once

    def submit(self, vault: Vault, kind: str, args: dict[str, Any], by: str) -> int:
        with vault.transaction() as s:
            conn = s.connection()
            if self._queue is None:
                # The schema's own queue: procrastinate notifies `procrastinate_queue_v1#
                # <queue>`, a channel of the whole database, and another office's schema in
                # it must not hear this one's jobs (issue 67; kustosz.db.office_keys).
                self._queue = office_keys.current_queue(conn)
            job_id = records.create(conn, kind, args, by)
            raw = conn.connection.driver_connection
            queue_id = self.app.configure_task(TASK, queue=self._queue, connection=raw).defer(
                job=job_id, kind=kind)
            records.set_queue_id(conn, job_id, queue_id)
        return job_id

    def stop(self, timeout: float) -> None:
        return None


class QueueWorker(Queue):
    """A procrastinate worker on its own thread and event loop; it also queues.

    The worker lives as long as serve: whatever ends it other than `stop` — the database cut
    for longer than the pool rides out, a silence its deadline turned into an error, a bug —
    it is started again on a fresh event loop after a bounded back-off (db.outage.Backoff),
    for as long as it takes; what was queued meanwhile is run once the database answers.
    `stop` ends it within its timeout in every state: never started, running, backing off,
    hung on a silent database, already stopped. A job still running at the deadline is left
    to its thread, which never holds the process's exit (`_DaemonExecutor`): procrastinate
    gives the job back once this worker's heartbeat is stale, as after a crash."""

    def __init__(self, vault: Vault, name: str = "kustosz", concurrency: int = 2,
                 poll_s: float = 5.0, stalled_s: float = STALLED_S,
                 reap_s: float = REAP_EVERY_S, backoff: Backoff | None = None,
                 answer_within_s: float = ANSWER_WITHIN_S,
                 progress: Progress | None = None) -> None:
        super().__init__(vault)
        self.vault = vault
        self.name = name
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stalled_s = stalled_s
        self.reap_s = reap_s
        self.backoff = backoff or Backoff(first_s=1.0, limit_s=60.0)
        self.answer_within_s = answer_within_s
        self.restarts = 0  # times the worker ended by itself and was started again
        self._progress = progress
        self._beat: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobs-worker", daemon=True)

    def _make_app(self) -> procrastinate.App:
        # Every connection of the worker with the engine's bounds (connect_timeout, TCP
        # keepalives) and a deadline for every answer: a silent database is an error here
        # too, never a worker waiting for ever.
        return make_app(self.vault, self.stalled_s, min_size=1, max_size=self.concurrency + 2,
                        kwargs=pg_connect_args(str(self.vault.engine.url)),
                        connection_class=deadline_connection_class(self.answer_within_s),
                        timeout=min(POOL_WAIT_S, self.answer_within_s))

    def start(self) -> QueueWorker:
        if self._progress is not None:
            # Its turns: a beat every HEARTBEAT_S from the worker's event loop, or from each
            # wait of the back-off; a connect or an answer takes at most answer_within_s.
            self._beat = self._progress.register(
                PROGRESS_NAME, 2 * self.answer_within_s + 4 * HEARTBEAT_S)
        self._thread.start()
        self._ready.wait(30)
        return self

    def _run(self) -> None:
        while not self._stopping.is_set():
            began = time.monotonic()
            error: BaseException | None = None
            try:
                asyncio.run(self._main())
            except asyncio.CancelledError:
                pass  # stopped
            except Exception as exc:
                error = exc
            finally:
                self._ready.set()  # a worker that could not start does not hold serve's start
                with self._lock:
                    self._loop = self._main_task = None
            if self._stopping.is_set():
                break
            self.restarts += 1
            if time.monotonic() - began > self.backoff.limit_s:
                self.backoff.reset()  # it ran well for a while: this is a new outage
            delay = self.backoff.delay()
            if error is None:
                log.warning("the job worker ended by itself; starting it again in %.0f s",
                            delay)
            elif is_database_away(error):
                log.warning("the job worker lost the database (%s); starting it again in "
                            "%.0f s", _first_line(error), delay)
            else:
                log.error("the job worker stopped; starting it again in %.0f s", delay,
                          exc_info=error)
            self._pause(delay)

    def _pause(self, seconds: float) -> None:
        """Wait (stop wakes it), beating: backing off from an outage is progress."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._beat()
            if self._stopping.wait(min(left, HEARTBEAT_S)):
                return

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        # A job's thread (procrastinate runs a sync task in the loop's default executor)
        # must not keep the process from exiting at SIGTERM.
        loop.set_default_executor(_DaemonExecutor())
        with self._lock:
            if self._stopping.is_set():
                return
            self._loop, self._main_task = loop, asyncio.current_task()
        app = self._make_app()
        beating = asyncio.create_task(self._beating())
        try:
            async with app.open_async():
                # Only its schema's queue, so only its channel: woken by this office's jobs
                # alone, never marked to abort by another office's notice for a job of its number.
                found = await app.connector.execute_query_one_async(office_keys.SCHEMA_SQL)
                queue = office_keys.queue_name(str(found["schema"]))
                worker = asyncio.create_task(app.run_worker_async(
                    queues=[queue], name=self.name, concurrency=self.concurrency, wait=True,
                    install_signal_handlers=False, fetch_job_polling_interval=self.poll_s,
                    delete_jobs="successful", stalled_worker_timeout=self.stalled_s,
                    # a live worker reports well within the time that declares one dead
                    update_heartbeat_interval=min(10.0, self.stalled_s / 4),
                    shutdown_graceful_timeout=5.0))
                reaper = asyncio.create_task(self._reap(app))
                self._ready.set()
                try:
                    await worker
                finally:
                    reaper.cancel()
                    if not worker.done():  # stop() cancelled us, and it: its graceful end
                        with contextlib.suppress(BaseException):
                            await worker
        finally:
            beating.cancel()

    async def _beating(self) -> None:
        while True:
            self._beat()
            await asyncio.sleep(HEARTBEAT_S)

    async def _reap(self, app: procrastinate.App) -> None:
        manager = app.job_manager
        silence = running.Silence(self.vault, self.stalled_s)
        while True:
            try:
                stalled = {job.id: job for job in await manager.get_stalled_jobs(
                    seconds_since_heartbeat=self.stalled_s) if job.id is not None}
                rows = await asyncio.to_thread(records.beats, self.vault, list(stalled))
                for queue_id in silence.dead({q: rows.get(q) for q in stalled}):
                    row = rows.get(queue_id)
                    log.warning("job %s: its worker is gone; back to the queue",
                                row.job_id if row else f"(queue {queue_id})")
                    await manager.retry_job(stalled[queue_id],
                                            retry_at=row.retry_at if row else None)
                for job_id in await asyncio.to_thread(
                        records.abandoned, self.vault, timedelta(seconds=self.stalled_s)):
                    log.warning("job %d: the process running it in its caller is gone; "
                                "marked failed", job_id)
            except Exception as exc:
                silence.lost()
                if is_database_away(exc):
                    log.warning("could not look for jobs of dead workers: %s",
                                _first_line(exc))
                else:
                    log.exception("could not look for jobs of dead workers")
            await asyncio.sleep(self.reap_s)

    def stop(self, timeout: float) -> None:
        """Take no more jobs and end within ``timeout`` seconds, whatever the state."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        with self._lock:
            loop, task = self._loop, self._main_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - time.monotonic()))
            if self._thread.is_alive():
                log.warning("the job worker did not end within %.0f s; left to end with the "
                            "process (its jobs go back to the queue)", timeout)
        if self._progress is not None:
            self._progress.forget(PROGRESS_NAME)


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """asyncio's default executor for the worker's loop: a daemon thread per call, never
    joined at the interpreter's exit (ThreadPoolExecutor's are: a copy running for minutes
    kept SIGTERM from ending serve)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, name="jobs-task", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # nothing pooled; a thread still running ends with the process


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
