"""jobs: long background work (exports, bundles, PDFs, uploads) and, on PostgreSQL, the
procrastinate job queue that several nodes share

Issue 16 item 2: background work that can run on any node goes through a PostgreSQL job
queue (procrastinate); on SQLite the same API runs it in-process (kustosz.jobs). `jobs` is
Kustosz's row of each job on both databases (kind, arguments, state, progress, the last
error); on PostgreSQL the queue is procrastinate's own schema, applied here from the SQL the
installed package ships (`procrastinate.schema.SchemaManager.get_schema`, the version pinned
in pyproject.toml: a procrastinate release that changes its schema comes with a migration of
ours applying its migration files). Nothing of procrastinate's on SQLite.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-22 22:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# What procrastinate's schema.sql creates besides its functions (dropped by name pattern).
_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
           "procrastinate_workers")
_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
          "procrastinate_job_status")


def upgrade() -> None:
    bind = op.get_bind()
    # Compared as text on PostgreSQL: a varchar IN list is stored in a form its dump does
    # not read back the same (0016 does the same).
    state = "state::text" if bind.dialect.name == "postgresql" else "state"
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_pl", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("queue_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("retry_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"{state} IN ('queued', 'running', 'done', 'failed')",
                           name="ck_jobs_state"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # Its own file, as procrastinate applies it: several statements and plpgsql bodies, sent
    # without parameters (psycopg's simple protocol) in this migration's transaction.
    raw = bind.connection.driver_connection
    assert raw is not None
    raw.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP TABLE IF EXISTS {', '.join(_TABLES)} CASCADE")
        functions = bind.execute(sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON "
            "n.oid = p.pronamespace WHERE n.nspname = current_schema() AND p.proname LIKE "
            "'procrastinate\\_%'")).scalars().all()
        for function in functions:
            op.execute(f"DROP FUNCTION {function}")
        op.execute(f"DROP TYPE IF EXISTS {', '.join(_TYPES)}")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
