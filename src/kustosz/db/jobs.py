"""The rows of long background work (kustosz.jobs): what was asked, its state, progress and
outcome, on both databases. On PostgreSQL the queue itself is procrastinate's tables
(`procrastinate_*`, migration 0020), which only carry a job's number here.

These tables are kept beside the vault's model (`kustosz.db.schema.metadata`), not in it: a
job row is work in flight, not a record the office keeps, so vault snapshots, backups and the
model-vs-migrations check leave them out (`outside_model`)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from kustosz.db.types import BigId, UTCDateTime


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for a worker (also between a failed attempt and its retry)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # for good: no attempt left, or a failure a retry cannot mend


QUEUE_PREFIX = "procrastinate_"
JOBS_METADATA = MetaData()

jobs = Table(
    "jobs", JOBS_METADATA,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(100), nullable=False),
    Column("args", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_by", String(200), nullable=False),  # the person or "system"
    Column("attempts", Integer, nullable=False),  # attempts begun so far
    Column("progress", Float, nullable=False),  # 0..1
    Column("note", Text),  # what it is doing now, in Polish, for the page that waits
    Column("error", Text),  # the last failure, English, secrets redacted
    Column("error_pl", Text),  # the same for the office worker
    Column("result", JSON),
    Column("queue_id", BigInteger),  # procrastinate's job id (PostgreSQL)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("retry_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
)


def outside_model(name: str | None, type_: str) -> bool:
    """A table the job queue owns (ours or procrastinate's): not part of the vault's model."""
    return type_ == "table" and name is not None and (
        name == "jobs" or name.startswith(QUEUE_PREFIX))
