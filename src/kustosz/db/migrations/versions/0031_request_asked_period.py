"""request asked period: the period a requester asked for, apart from the window held

Issue 29 item 2: a copy holds the period asked for; the office's margin on each side is for
the hold only (data minimisation, art. 5 ust. 1 lit. c RODO). `custody_requests.start_at`/
`end_at` stay the window held; `asked_start_at`/`asked_end_at` are the period "od–do" as given
(an approximate hour: the window itself). A request registered before has none: its copy holds
the window, as it did then (the margin it was registered with was not kept, so it cannot be
taken off afterwards).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-25 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


# A plain ADD/DROP COLUMN (SQLite 3.35+), as 0015 and 0030.
def upgrade() -> None:
    op.add_column("custody_requests", sa.Column("asked_start_at",
                                                kustosz.db.types.UTCDateTime(), nullable=True))
    op.add_column("custody_requests", sa.Column("asked_end_at",
                                                kustosz.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("custody_requests", "asked_end_at")
    op.drop_column("custody_requests", "asked_start_at")
