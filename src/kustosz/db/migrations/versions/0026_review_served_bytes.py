"""review served bytes: a reviewer's watching is counted from the media bytes served

Issue 28 item 2: the masked copy's review counted the player's position reports, which a
script can send as fast as it likes. Watching is now counted from the bytes the media gate
actually served, in order from the file's start (``served_bytes``), and the media time they
cover (``served_s``); ``watched_s`` is that time played out at no more than real-time speed on
the server's clock. Existing rows (reviews counted the old way) keep served_bytes 0: a review
still awaiting approval must be watched again.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-24 04:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custody_review_plays") as t:
        t.add_column(sa.Column("served_bytes", sa.BigInteger(), nullable=False,
                               server_default="0"))
        t.add_column(sa.Column("served_s", sa.Double(), nullable=False, server_default="0"))
    # Counted the old way (position reports alone): not proof of watching any more.
    op.execute("UPDATE custody_review_plays SET watched_s = 0, ended_at = NULL "
               "WHERE ended_at IS NOT NULL AND copy_id IN (SELECT id FROM custody_copies "
               "WHERE review_state = 'awaiting')")


def downgrade() -> None:
    with op.batch_alter_table("custody_review_plays") as t:
        t.drop_column("served_s")
        t.drop_column("served_bytes")
