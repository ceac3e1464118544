"""each schema's jobs in a procrastinate queue of its own

Issue 67: the offices of an installation are schemas of one PostgreSQL database, and
procrastinate's trigger notifies `procrastinate_queue_v1#<queue>`, a channel of the whole
database. With every vault's jobs in the queue "kustosz", each office's worker was woken by
every office's jobs (and an abort notice names a job number, which is per schema). A
vault's jobs now go to `kustosz:<schema>` (kustosz.db.office_keys.queue_name); this moves the
jobs already queued, so the worker that listens to its schema's queue alone still runs them.
The downgrade moves them back. Nothing on SQLite (no procrastinate there).

Revision ID: 0059
Revises: 0058
Create Date: 2026-11-29 12:30:00.000000
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0059"
down_revision = "0058"
branch_labels = None
depends_on = None

OLD = "kustosz"


def _queue(schema: str) -> str:
    # As kustosz.db.office_keys.queue_name names it today, kept here as it was when this ran
    # (tests/test_migration_0059.py checks they agree).
    name = f"kustosz:{schema}"
    if len(name.encode("utf-8")) > 63 - len("procrastinate_queue_v1#"):
        name = f"kustosz:{hashlib.sha256(schema.encode('utf-8')).hexdigest()[:24]}"
    return name


def _move(src: str | None, dst: str | None) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = str(bind.execute(sa.text("SELECT coalesce(current_schema(), '')")).scalar_one())
    mine = _queue(schema)
    bind.execute(sa.text("UPDATE procrastinate_jobs SET queue_name = :dst "
                         "WHERE queue_name = :src"),
                 {"src": src or mine, "dst": dst or mine})


def upgrade() -> None:
    _move(OLD, None)


def downgrade() -> None:
    _move(None, OLD)
