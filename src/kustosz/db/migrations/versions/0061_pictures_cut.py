"""what a camera's stream was found to be: key frames cut by ffmpeg's parser, or whole

Issue 65 asks each camera once, at its recorder's first session, whether ffmpeg's reader hands
its key frames on in pieces (then two ffmpeg join them), a probe that costs a second RTSP
set-up. Kept only in the recorder's memory, every node that took a camera over and every
restart asked again: a hand-over's gap doubled (2.7-3.3 s against 1.1-1.6 s, and past a
segment plus a reconnect on a slow host). `camera_recorder_status.pictures_cut` keeps the
answer beside the stream's codec (NULL: not known, asked at the next session); a codec change
forgets it. The downgrade drops the column: every recorder asks again.

Revision ID: 0061
Revises: 0060
Create Date: 2026-11-30 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0061"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("camera_recorder_status", sa.Column("pictures_cut", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("camera_recorder_status", "pictures_cut")
