"""object versions: the version id the object store gave each stored media content

Issue 16 item 1: on a versioned object store (S3 with Object Lock) a delete that names no
version only hides the content behind a delete marker; the sweep deletes by the version id
the upload returned, and holds and re-dating set the lock of exactly that version. The index
keeps it beside the storage key: `recordings.version_id`, the only table that holds a storage
key of media (exports and bundles live in the data folder, not in the store). Empty on the
local folder, and for material stored before this revision (then the store's listing of the
key's versions is used).

The column is nullable and added in place on both databases; the downgrade drops it (SQLite
3.35+ drops a column without rebuilding the table, which keeps its CHECK constraints that
0016 wrote into sqlite_master).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-22 23:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recordings", sa.Column("version_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE recordings DROP COLUMN version_id")
    else:
        op.drop_column("recordings", "version_id")
