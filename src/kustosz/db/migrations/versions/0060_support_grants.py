"""support grants: the installation administrator's time-boxed authorisation from an office's head

Issue 67 item 2: in an installation the administrator who runs the service manages nodes,
storage, updates and backups, and reaches no office's material, personal data or registers
unless the office's head grants it for a time, with a reason (kustosz.access.support). Each
grant, its revocation and every command run under it are entries of the office's audit chain;
this table holds what the gate asks on every command: which grant is in force now.

Revision ID: 0060
Revises: 0059
Create Date: 2026-11-29 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0060"
down_revision = "0059"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_support_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("until", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_support_grants_until", "access_support_grants", ["until"])


def downgrade() -> None:
    op.drop_index("ix_access_support_grants_until", table_name="access_support_grants")
    op.drop_table("access_support_grants")
