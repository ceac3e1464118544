"""access: throttling instead of lock-out, a TOTP code good once, token lifecycle

Failed logins no longer lock an account (anyone could lock anyone, the only administrator
included): they slow down the next attempt per account name and per address
(access_login_throttle). A TOTP code is accepted once (totp_last_step). API tokens keep why
they ended and when they were last used.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("wait_until", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("access_accounts") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
    with op.batch_alter_table("access_api_tokens") as batch:
        batch.add_column(sa.Column("revoke_reason", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("last_used_at", kustosz.db.types.UTCDateTime(),
                                   nullable=True))
        batch.create_index("ix_access_api_tokens_user", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_api_tokens") as batch:
        batch.drop_index("ix_access_api_tokens_user")
        batch.drop_column("last_used_at")
        batch.drop_column("revoke_reason")
    with op.batch_alter_table("access_accounts") as batch:
        batch.add_column(sa.Column("locked_until", kustosz.db.types.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.drop_column("totp_last_step")
    op.drop_table("access_login_throttle")
