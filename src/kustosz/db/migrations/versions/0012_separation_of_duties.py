"""custody: separation of duties (paper decisions, who keyed them), calls review

(Reserved slot: filled in by the work on issue 11, separation of duties.)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 11:00:00.000000
"""

from alembic import op  # noqa: F401

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
