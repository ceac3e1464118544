"""subject review: a data subject's masks, and the review of the masked copy

Issue 17 item 2: before a data subject's video copy is made a person marks manual masks and
the requester's boxes (custody_requests.subject_regions, JSON); the masked copy then awaits a
second person's review (custody_copies.review_state, reviewed_by, reviewed_at,
review_reason), who must have watched it to the end (custody_review_plays).

The downgrade refuses while any of that is recorded (it would be lost), naming what, and
changes nothing.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from kustosz.db.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COPY_COLUMNS = ("review_state", "reviewed_by", "reviewed_at", "review_reason")


def upgrade() -> None:
    op.add_column("custody_requests", sa.Column("subject_regions", sa.JSON(), nullable=True))
    op.add_column("custody_copies", sa.Column("review_state", sa.String(length=12),
                                              nullable=True))
    op.add_column("custody_copies", sa.Column("reviewed_by", sa.String(length=100),
                                              nullable=True))
    op.add_column("custody_copies", sa.Column("reviewed_at", UTCDateTime(), nullable=True))
    op.add_column("custody_copies", sa.Column("review_reason", sa.Text(), nullable=True))
    op.create_table(
        "custody_review_plays",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("copy_id", sa.Integer(), sa.ForeignKey("custody_copies.id"), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("watched_s", sa.Double(), nullable=False),
        sa.Column("furthest_s", sa.Double(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("copy_id", "user_name", "path",
                            name="uq_custody_review_plays_copy_user"),
    )


def downgrade() -> None:
    conn = op.get_bind()
    lost = []
    marked = [i for i, v in conn.execute(sa.text(
        "SELECT id, subject_regions FROM custody_requests WHERE subject_regions IS NOT NULL "
        "ORDER BY id")).all() if v not in (None, [], "null", "[]")]  # JSON text on SQLite
    if marked:
        lost.append("requests with masks marked: " + ", ".join(str(i) for i in marked))
    for what, query in (
            ("copies under review", "SELECT number FROM custody_copies WHERE review_state IS "
             "NOT NULL ORDER BY id"),
            ("review playbacks", "SELECT id FROM custody_review_plays ORDER BY id")):
        found = conn.execute(sa.text(query)).scalars().all()
        if found:
            lost.append(f"{what}: " + ", ".join(str(f) for f in found))
    if lost:
        raise RuntimeError("data the earlier version cannot keep (nothing was changed): "
                           + "; ".join(lost))
    op.drop_table("custody_review_plays")
    for column in COPY_COLUMNS:
        op.drop_column("custody_copies", column)
    op.drop_column("custody_requests", "subject_regions")
