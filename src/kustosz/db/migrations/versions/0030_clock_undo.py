"""clock undo: what each jump moved, and which jump a correction corrects

Issue 27 item 7(c): a forward jump of the server's clock that a later correction shows to have
been wrong (the clock was ahead) may be undone by two people (kustosz.clock.undo). For that,
each jump keeps what it moved: `clock_rebased` has one row per recording whose retention base
(`retain_from`) a jump (or an undo) changed, with the value before and the value set, so it
can be put back exactly and only where nothing changed it since. A correction's row names the
forward jump it corrects (`clock_jumps.corrects_id`). Nothing existing is rewritten.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-24 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# A plain ADD/DROP COLUMN (SQLite 3.35+), as 0015; no foreign key on the new column: SQLite
# cannot add one without rebuilding the table, and the id is checked against the audit log's
# entries anyway (kustosz.clock.undo).
def upgrade() -> None:
    op.add_column("clock_jumps", sa.Column("corrects_id", BIG, nullable=True))
    op.create_table(
        "clock_rebased",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("jump_id", BIG, nullable=False),
        sa.Column("recording_id", BIG, nullable=False),
        sa.Column("retain_from_before", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("retain_from_after", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["jump_id"], ["clock_jumps.id"]),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_clock_rebased_jump", "clock_rebased", ["jump_id", "recording_id"])
    op.create_index("ix_clock_rebased_recording", "clock_rebased", ["recording_id"])


def downgrade() -> None:
    op.drop_index("ix_clock_rebased_recording", table_name="clock_rebased")
    op.drop_index("ix_clock_rebased_jump", table_name="clock_rebased")
    op.drop_table("clock_rebased")
    op.drop_column("clock_jumps", "corrects_id")
