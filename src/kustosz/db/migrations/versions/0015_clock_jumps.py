"""clock jumps: recordings get a retention base, jumps of the clocks their own table

Issue 14 item 9: material recorded while the server's clock was wrong keeps the time it was
stamped with (start_at) and gains `retain_from`, the later reading of its start, from which
retention counts. Every jump found (server wall clock against its steady clock, a camera's
RTCP clock, a clock behind what the vault already recorded at start) is a row. Nothing
existing is rewritten: retain_from starts NULL (retention counts from start_at as before).

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-22 19:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+), as 0013: a batch rebuild of `recordings` would copy
# every row of the largest table.
def upgrade() -> None:
    op.add_column("recordings", sa.Column("retain_from", kustosz.db.types.UTCDateTime(),
                                          nullable=True))
    op.create_table(
        "clock_jumps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("detected_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("delta_s", sa.Double(), nullable=False),
        sa.Column("before_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("rebased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("clock_jumps")
    op.drop_column("recordings", "retain_from")
