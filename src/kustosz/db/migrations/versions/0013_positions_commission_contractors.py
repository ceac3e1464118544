"""access and custody: positions, contractors' agreements, the destruction commission

A user gets a `position` (the regulation's name of the post, matched against a preset's list
of positions that may view recordings, 003 §3.4) and, for a maintenance contractor, the
processing agreement's reference and last day (004 §6.3). An authorisation keeps the position
its holder had when it was issued. The head's appointments of the destruction commission
(002 zał.5 §8.2) get their own table. Nothing existing is rewritten: every new column starts
NULL (staff, no listed position).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both), not batch mode: a batch rebuild drops and
# recreates `users`, which the foreign keys of every table naming a person refuse.
def upgrade() -> None:
    op.add_column("users", sa.Column("position", sa.String(length=200), nullable=True))
    op.add_column("users", sa.Column("contractor_agreement", sa.String(length=200),
                                     nullable=True))
    op.add_column("users", sa.Column("contractor_until", sa.Date(), nullable=True))
    op.add_column("access_authorisations",
                  sa.Column("position", sa.String(length=200), nullable=True))
    op.create_table(
        "custody_commission_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("order_ref", sa.String(length=200), nullable=False),
        sa.Column("appointed_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("approver", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_custody_commission_member", "custody_commission_appointments",
                    ["member"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_custody_commission_member", table_name="custody_commission_appointments")
    op.drop_table("custody_commission_appointments")
    op.drop_column("access_authorisations", "position")
    op.drop_column("users", "contractor_until")
    op.drop_column("users", "contractor_agreement")
    op.drop_column("users", "position")
