"""a data subject's answer that no data are held, and how the copy is delivered

Issue 30 leftovers 1 and 9: a data subject's approved request whose material was deleted
before it could be copied had no answer but a refusal it could no longer get. The answer
"nie przetwarzamy Pana/Pani danych" (art. 15 ust. 1 RODO: confirmation that no data are
processed) is now recorded on the request: the day (`no_data_on`), who signs it
(`no_data_by`). The way the person chose to receive the copy (art. 15 ust. 3 RODO), ticked on
the request form, is stored (`delivery`: in_person | post | electronic). Rows from before keep
NULLs: no such answer given, no choice recorded. The downgrade drops the three columns.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-24 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

TABLE = "custody_requests"
COLUMNS = (
    ("no_data_on", sa.Date()),
    ("no_data_by", sa.String(length=200)),
    ("delivery", sa.String(length=20)),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column(TABLE, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no constraint refers to these columns.
    for name, _type in reversed(COLUMNS):
        op.drop_column(TABLE, name)
