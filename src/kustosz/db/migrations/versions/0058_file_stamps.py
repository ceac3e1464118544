"""what a stored file was when it was last proven to hold the indexed content

Issue 68 item 1: playback hashed every 5.6 MB segment against the index's SHA-256 on every
request. A file hashed once is now served on its stamp — the device, inode, size, mtime and
ctime of the local file as they were when its content was hashed and found to be the
indexed one (`storage.proof`) — and hashed again only when any of them changed (a write, a
chmod, a new link, a file put in its place) or the stamp is missing. `recordings.file_stamp`
holds it; rows from before keep NULL (their first playback hashes them and writes it); the
downgrade drops the column.

Revision ID: 0058
Revises: 0056
Create Date: 2026-11-29 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0058"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recordings", sa.Column("file_stamp", sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column("recordings", "file_stamp")
