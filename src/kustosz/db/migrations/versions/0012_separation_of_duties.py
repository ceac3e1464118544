"""custody: separation of duties (paper decisions, who keyed them), calls review

A decision now records who keyed it in (`keyed_by`, an office account) and, when it was taken
on paper and entered by someone else, the document's reference (`paper_ref`). Decisions
entered before this revision keep their `recorded_by`; where that names a user, it is copied
to `keyed_by` (it was that account which entered it). The calls review needs no table: it is
a viewing session with the action "calls".

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_decisions = sa.table("custody_decisions", sa.column("recorded_by", sa.String),
                      sa.column("keyed_by", sa.String))
_users = sa.table("users", sa.column("name", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("custody_decisions") as batch:
        batch.add_column(sa.Column("keyed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("paper_ref", sa.String(length=200), nullable=True))
    op.execute(_decisions.update()
               .where(_decisions.c.recorded_by.in_(sa.select(_users.c.name)))
               .values(keyed_by=_decisions.c.recorded_by))


def downgrade() -> None:
    with op.batch_alter_table("custody_decisions") as batch:
        batch.drop_column("paper_ref")
        batch.drop_column("keyed_by")
