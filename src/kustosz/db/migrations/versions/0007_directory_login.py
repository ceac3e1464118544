"""access: accounts whose password the directory (LDAP/Active Directory) proves

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 10:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default so that existing accounts stay local-password accounts.
    with op.batch_alter_table("access_accounts") as batch:
        batch.add_column(sa.Column("directory", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("access_accounts") as batch:
        batch.drop_column("directory")
