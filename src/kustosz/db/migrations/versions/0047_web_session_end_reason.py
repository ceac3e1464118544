"""why a browser session ended

Issue 64 item 2: a long answer — a live stream, a download — asks the gate again while it
runs and stops when the person's sign-in no longer holds; its access record then says what
ended it. An API token keeps why it ended (`revoke_reason`); a browser session only when.
`access_web_sessions.end_reason` holds the reason its end was given (signed out, signed in
again, or what `accounts.end_credentials` was told: a password change or reset, the account
disabled, the roles changed, the contractor's agreement changed). Rows from before keep NULL
(never made up); the downgrade drops the column.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("access_web_sessions",
                  sa.Column("end_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("access_web_sessions", "end_reason")
