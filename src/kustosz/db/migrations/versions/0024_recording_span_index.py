"""recording span index: the camera timeline and the playlists read one index, not the table

Issue 18 item 5: at 80 M rows (100 cameras x 3 months of 10 s segments, rows written as the
recorders write them, the cameras interleaved) one camera-hour sits on ~360 table pages, and
`index.recordings.spans` (timeline, HLS playlists) cost p99 64 ms on PostgreSQL. An index
holding every column the query reads makes it a scan of a few contiguous index pages.

The query reads id, start_at, end_at, state and, of meta, only the recorder session. meta
itself cannot be in one portable index (PostgreSQL's json has no btree key, and SQLite has no
INCLUDE) and is most of a row's width, so the session is copied out into `recordings.session`
(the model sets it on insert and whenever meta is assigned) and the index is
`(source_id, start_at, end_at, state, session, id)`; it replaces `(source_id, start_at)`, its
prefix.

The copy of existing rows is one UPDATE of every row whose meta names a session (camera
segments): on a large vault this is the long part of the upgrade (PostgreSQL then has the old
row versions to vacuum, and index-only scans reach full speed once autovacuum, or a `VACUUM
recordings`, has set the visibility map again). The downgrade drops the column and the index
and puts the old index back; the session stays in meta, so nothing is lost.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-23 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SESSION_MAX = 200  # as kustosz.db.models.SESSION_MAX when written
COLUMNS = ["source_id", "start_at", "end_at", "state", "session", "id"]


def upgrade() -> None:
    op.add_column("recordings", sa.Column("session", sa.String(length=SESSION_MAX),
                                          nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE recordings SET session = json_extract(meta, '$.session') "
                   "WHERE json_type(meta, '$.session') = 'text' "
                   f"AND length(json_extract(meta, '$.session')) <= {SESSION_MAX}")
    else:  # meta is json (not jsonb)
        op.execute("UPDATE recordings SET session = meta ->> 'session' "
                   "WHERE json_typeof(meta -> 'session') = 'string' "
                   f"AND length(meta ->> 'session') <= {SESSION_MAX}")
    op.create_index("ix_recordings_source_span", "recordings", COLUMNS)
    op.drop_index("ix_recordings_source_start", table_name="recordings")


def downgrade() -> None:
    op.create_index("ix_recordings_source_start", "recordings", ["source_id", "start_at"])
    op.drop_index("ix_recordings_source_span", table_name="recordings")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column in place (as 0019): no rebuild, 0016's CHECKs kept
        op.execute("ALTER TABLE recordings DROP COLUMN session")
    else:
        op.drop_column("recordings", "session")
