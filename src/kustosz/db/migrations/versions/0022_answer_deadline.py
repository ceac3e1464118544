"""answer deadline: a data subject's request extended by two months (art. 12 ust. 3 RODO)

Issue 17 item 1: the deadline of a data subject's request is one month from receipt,
extendable once by two months with a reason recorded and the person told within the first
month. custody_requests gains the day the person was told (extended_on), the reason and who
recorded it; the deadline itself is computed from received_on (kustosz.custody.answer_deadline).

The downgrade refuses while a request has an extension recorded (it would be lost), naming
them, and changes nothing.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23 02:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("custody_requests", sa.Column("extended_on", sa.Date(), nullable=True))
    op.add_column("custody_requests", sa.Column("extension_reason", sa.Text(), nullable=True))
    op.add_column("custody_requests", sa.Column("extended_by", sa.String(length=200),
                                                nullable=True))


def downgrade() -> None:
    conn = op.get_bind()
    extended = conn.execute(sa.text("SELECT id FROM custody_requests WHERE extended_on IS NOT "
                                    "NULL ORDER BY id")).scalars().all()
    if extended:
        raise RuntimeError("requests with an extended deadline the earlier version cannot keep "
                           "(nothing was changed): " + ", ".join(str(i) for i in extended))
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ has it): a batch rebuild of the table
    # would have to carry 0016's CHECK constraints over by hand.
    for column in ("extended_by", "extension_reason", "extended_on"):
        op.drop_column("custody_requests", column)
