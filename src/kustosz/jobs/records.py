"""The job rows (kustosz.db.jobs): written by whoever queues a job and by the attempt that runs
it, read by the pages that wait for it. One short transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from kustosz.db.jobs import JobState, jobs
from kustosz.errors import KustoszError
from kustosz.jobs import eta
from kustosz.logs import redact
from kustosz.vault_handle import VaultHandle

MAX_ERROR = 2000
STARTED = "attempt_started_at"  # in `result` while an attempt runs (see `begin`)
KEEP_FINISHED = timedelta(days=90)  # a finished job's row: long enough for any question
FAILED_PL = ("Zadanie nie powiodło się z przyczyn technicznych; szczegóły są w dzienniku "
             "serwera. Zgłoś to administratorowi.")


@dataclass(frozen=True)
class JobView:
    """What a page or a caller may know of a job."""

    id: int
    kind: str
    args: dict[str, Any]
    state: JobState
    started_by: str
    attempts: int
    progress: float
    note: str | None
    error: str | None
    error_pl: str | None
    result: Any
    created_at: datetime
    updated_at: datetime
    retry_at: datetime | None
    finished_at: datetime | None
    started_at: datetime | None = None  # the running attempt's start (its pace: jobs.eta)

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    def estimate(self, lang: str = "pl", now: datetime | None = None) -> str | None:
        """How long the running attempt still needs, in words (kustosz.jobs.eta); None
        when it is not running or it is too early to say."""

        if self.state != JobState.RUNNING or self.started_at is None:
            return None
        elapsed = ((now or _now()) - self.started_at).total_seconds()
        return eta.estimate(self.progress, elapsed, lang)


def _now() -> datetime:
    return datetime.now(UTC)


def create(conn: Connection, kind: str, args: dict[str, Any], by: str) -> int:
    now = _now()
    return int(conn.execute(insert(jobs).values(
        kind=kind, args=args, state=JobState.QUEUED, started_by=by, attempts=0, progress=0.0,
        created_at=now, updated_at=now).returning(jobs.c.id)).scalar_one())


def set_queue_id(conn: Connection, job_id: int, queue_id: int) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(queue_id=queue_id))


class StillRunning(Exception):
    """The job is marked running and its runner beat within the staleness given to `begin`:
    it is alive somewhere (another node, or cut off for a moment) and must not be run again
    beside it."""


def begin(vault: VaultHandle, job_id: int, resume: bool = False,
          stale: timedelta | None = None) -> tuple[str, dict[str, Any], int] | None:
    """Mark the job running for its next attempt: (kind, args, attempt number), or None when
    it is not waiting for one (running already, finished, or gone). ``resume``: a job an
    attempt left running when its process died is taken again too — with ``stale``, only
    once its row has not beaten for that long (checked in the UPDATE itself, so two nodes
    never both take it), and a fresh one raises `StillRunning`. Without ``stale`` (SQLite's
    serve at its start, the only process) any job left running is taken."""
    now = _now()
    waiting = jobs.c.state == JobState.QUEUED
    if resume:
        left = jobs.c.state == JobState.RUNNING
        if stale is not None:
            left = left & (jobs.c.updated_at < now - stale)
        waiting = waiting | left
    with vault.transaction() as s:
        # Each attempt starts from nothing: its progress, and its start in `result` (the row
        # has no column of its own for it; `result` holds nothing else until the job is
        # done), from which the page that waits reckons the pace (`JobView.estimate`).
        row = s.execute(update(jobs).where(jobs.c.id == job_id, waiting).values(
            state=JobState.RUNNING, attempts=jobs.c.attempts + 1, retry_at=None,
            progress=0.0, note=None, result={STARTED: now.isoformat()},
            updated_at=now).returning(jobs.c.kind, jobs.c.args, jobs.c.attempts)
        ).one_or_none()
        if row is None:
            if resume and stale is not None and s.execute(
                    select(jobs.c.state).where(jobs.c.id == job_id)
            ).scalar_one_or_none() == JobState.RUNNING:
                raise StillRunning(f"job {job_id} is running elsewhere")
            return None
    return row.kind, dict(row.args), int(row.attempts)


def beat(vault: VaultHandle, job_id: int) -> None:
    """The caller running the job (its attempt, or its wait for a retry) is alive
    (`updated_at`; see `abandoned`)."""
    with vault.transaction() as s:
        s.execute(update(jobs).where(
            jobs.c.id == job_id, jobs.c.state.in_((JobState.QUEUED, JobState.RUNNING)))
            .values(updated_at=_now()))


@dataclass(frozen=True)
class Beat:
    """A queued job's row as the reaper sees it (kustosz.jobs.queue)."""

    job_id: int
    state: JobState
    updated_at: datetime
    retry_at: datetime | None


def beats(vault: VaultHandle, queue_ids: list[int]) -> dict[int, Beat]:
    """The rows of the shared queue's jobs ``queue_ids``, by queue id (one gone: absent)."""
    if not queue_ids:
        return {}
    with vault.reading() as s:
        rows = s.execute(select(jobs.c.queue_id, jobs.c.id, jobs.c.state, jobs.c.updated_at,
                                jobs.c.retry_at).where(jobs.c.queue_id.in_(queue_ids))).all()
    return {int(r.queue_id): Beat(int(r.id), JobState(r.state), r.updated_at, r.retry_at)
            for r in rows}


ABANDONED = ("the process running it stopped before it finished (killed, crashed or the "
             "machine went down); start it again")
ABANDONED_PL = ("Proces, który wykonywał zadanie, zakończył się przed jego ukończeniem "
                "(przerwany, awaria programu albo serwera); uruchom je ponownie.")


def abandoned(vault: VaultHandle, stale: timedelta) -> list[int]:
    """Jobs run in a caller (the command line, a web app without a worker: never on the
    shared queue, so no worker's heartbeat covers them) whose caller stopped beating longer
    than ``stale`` ago: marked failed, saying so; their numbers. A caller beats every
    `runners.HEARTBEAT_S` while its attempt runs, so a live one is never taken for dead."""
    now = _now()
    with vault.transaction() as s:
        rows = s.execute(update(jobs).where(
            jobs.c.state.in_((JobState.QUEUED, JobState.RUNNING)), jobs.c.queue_id.is_(None),
            jobs.c.updated_at < now - stale).values(
            state=JobState.FAILED, error=ABANDONED, error_pl=ABANDONED_PL, retry_at=None,
            updated_at=now, finished_at=now).returning(jobs.c.id)).scalars().all()
    return sorted(rows)


def report(vault: VaultHandle, job_id: int, progress: float, note: str | None) -> None:
    with vault.transaction() as s:
        s.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING)
                  .values(progress=max(0.0, min(1.0, progress)), note=note,
                          updated_at=_now()))


def done(vault: VaultHandle, job_id: int, result: Any) -> None:
    now = _now()
    with vault.transaction() as s:
        s.execute(update(jobs).where(jobs.c.id == job_id).values(
            state=JobState.DONE, progress=1.0, result=result, error=None, error_pl=None,
            updated_at=now, finished_at=now))


def describe(exc: BaseException) -> tuple[str, str]:
    """The failure in English and in Polish, as a page may show it: the message of an error
    meant for people; for anything else its type and message, with secrets taken out."""
    if isinstance(exc, KustoszError):
        en = str(exc) or type(exc).__name__
        pl = exc.pl or en
    else:
        en = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        pl = FAILED_PL
    return redact(en)[:MAX_ERROR], redact(pl)[:MAX_ERROR]


def failed(vault: VaultHandle, job_id: int, exc: BaseException, retry_in: float | None) -> None:
    """The attempt failed: back in the queue until ``retry_in`` seconds from now, or failed
    for good (None)."""
    en, pl = describe(exc)
    now = _now()
    values: dict[str, Any] = {"error": en, "error_pl": pl, "updated_at": now, "result": None}
    if retry_in is None:
        values.update(state=JobState.FAILED, finished_at=now, retry_at=None)
    else:
        values.update(state=JobState.QUEUED, retry_at=now + timedelta(seconds=retry_in))
    with vault.transaction() as s:
        s.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def get(vault: VaultHandle, job_id: int) -> JobView | None:
    with vault.reading() as s:
        row = s.execute(select(jobs).where(jobs.c.id == job_id)).one_or_none()
    if row is None:
        return None
    data = row._asdict()
    data.pop("queue_id")
    data["state"] = JobState(data["state"])
    data["args"] = dict(data["args"])
    if data["state"] != JobState.DONE:  # a running attempt's start, not a result
        started = (data["result"] or {}).get(STARTED) if isinstance(data["result"], dict) \
            else None
        data["result"] = None
        if data["state"] == JobState.RUNNING and started:
            data["started_at"] = datetime.fromisoformat(started)
    return JobView(**data)


def unfinished(vault: VaultHandle) -> list[int]:
    with vault.reading() as s:
        return list(s.execute(select(jobs.c.id).where(
            jobs.c.state.in_((JobState.QUEUED, JobState.RUNNING))).order_by(jobs.c.id))
            .scalars())


def prune(vault: VaultHandle, keep: timedelta = KEEP_FINISHED) -> int:
    """Forget jobs finished longer than ``keep`` ago (on PostgreSQL with procrastinate's rows
    of them); how many. Work in flight, not records: the copy itself, its audit entry and its
    register line stay."""
    cutoff = _now() - keep
    old = jobs.c.state.in_((JobState.DONE, JobState.FAILED)) & (jobs.c.finished_at < cutoff)
    with vault.transaction() as s:
        if vault.engine.dialect.name == "postgresql":
            s.execute(text("DELETE FROM procrastinate_jobs WHERE id IN (SELECT queue_id FROM "
                           "jobs WHERE state IN ('done', 'failed') AND finished_at < :cutoff) "
                           "AND status IN ('succeeded', 'failed')"),
                      {"cutoff": cutoff.replace(tzinfo=None)})
        return int(s.execute(delete(jobs).where(old)).rowcount)
