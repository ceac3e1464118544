"""access: token lifecycle, throttling, TOTP step, account state

(Reserved slot: filled in by the work on issue 11, one gate and accounts.)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 11:00:00.000000
"""

from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
