"""login unlock links: a one-time link the administrator gives a person kept out by waits

Issue 28 item 9: a person at a new workstation, or a new account's first login, kept out by
login waits can be let through once by a link the administrator issues (kustosz.access.unlock).
Only the link's SHA-256 is kept, as for sessions and API tokens.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-24 07:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_login_unlocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("issued_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ended_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("ended_why", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_access_login_unlocks_user", "access_login_unlocks", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_access_login_unlocks_user", table_name="access_login_unlocks")
    op.drop_table("access_login_unlocks")
