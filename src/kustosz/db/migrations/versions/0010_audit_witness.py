"""audit: access records join the chain; signed checkpoints

(Reserved slot: filled in by the work on issue 11, audit log.)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 11:00:00.000000
"""

from alembic import op  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
