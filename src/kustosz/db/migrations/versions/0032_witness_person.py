"""witness person: the person present at a viewing is an account or an employee

Issue 30 item 11 (R3.4, 002 zał.5 §7 ust. 6): the authorised person present was free text.
A viewing session now also keeps who it was — an account (`witness_user_id`) or an employee
of the register (`witness_employee_id`) — beside the name as shown when it opened
(`witness`). Rows from before keep their typed name and no reference; the downgrade takes
the references away and keeps every name.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-24 12:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

TABLE = "access_viewing_sessions"
COLUMNS = (("witness_user_id", "users"), ("witness_employee_id", "employees"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot ALTER a constraint in, but takes REFERENCES in ADD COLUMN; a batch
        # rebuild would drop and recreate the table the access log's chain points at.
        for column, parent in COLUMNS:
            op.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} INTEGER "
                       f"REFERENCES {parent} (id)")
        return
    for column, parent in COLUMNS:
        op.add_column(TABLE, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{parent}.id"),
                                       nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+; PostgreSQL drops the column's constraint with it).
    for column, _parent in reversed(COLUMNS):
        op.drop_column(TABLE, column)
