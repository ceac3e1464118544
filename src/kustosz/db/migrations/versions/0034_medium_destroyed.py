"""how each medium a copy was handed out on was destroyed

Issue 30 leftover 8 (004 §7.9 "fizycznemu zniszczeniu"; 002 zał.5 §8.2): the destruction
protocol listed the media a copy was handed out on with an empty column for the commission
to fill in by hand. How each medium was destroyed — or that it stays with its receiver — is
now recorded with the destruction (`custody_handovers.medium_destroyed`) and printed. Rows
from before keep NULL (the protocol then leaves the column to be filled in by hand); the
downgrade drops the column.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-24 15:35:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("custody_handovers", sa.Column("medium_destroyed", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("custody_handovers", "medium_destroyed")
