"""access: camera and mailbox passwords encrypted at rest

(Reserved slot: filled in by the work on issue 11, data at rest.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 11:00:00.000000
"""

from alembic import op  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
