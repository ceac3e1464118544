"""how many messages or events each deleted file held

Issue 53: the accountability report counts journal mail by message and IT events by event, not
by stored file (a chunk of a day's journal is one file holding every message of that day). A
file still in the index says it in its meta ("lines", kept at intake by the chunk spool); once
the sweep deletes it only its `deletions` row is left, so the count moves there with it
(`deletions.entries`; NULL for a file that is not a chunk: a camera segment, a call, a kept
message body). Rows from before keep NULL (the report then counts only what it can read);
the downgrade drops the column.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-03 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deletions", sa.Column("entries", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("deletions", "entries")
