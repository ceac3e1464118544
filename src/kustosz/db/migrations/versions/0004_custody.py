"""custody: users, requests, decisions, copies, handovers, destructions, register of actions

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-21 09:26:18.080117
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "custody_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("material", sa.String(length=10), nullable=False),
        sa.Column("requester", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("approx_time", sa.String(length=20), nullable=True),
        sa.Column("place", sa.String(length=400), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=True),
        sa.Column("callee", sa.String(length=32), nullable=True),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("case_ref", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("extends_copy", sa.String(length=20), nullable=True),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("registered_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("custody_requests", schema=None) as batch_op:
        batch_op.create_index("ix_custody_requests_received", ["received_on"], unique=False)

    op.create_table(
        "custody_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("made_by", sa.String(length=100), nullable=False),
        sa.Column("made_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("bundle", sa.String(length=400), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("destroyed_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["custody_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("year", "seq", name="uq_custody_copies_year_seq"),
    )
    op.create_table(
        "custody_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("agree", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.String(length=10), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["custody_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_table(
        "custody_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("copy_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["custody_copies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["custody_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("custody_actions", schema=None) as batch_op:
        batch_op.create_index("ix_custody_actions_at", ["at"], unique=False)

    op.create_table(
        "custody_destructions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_by", sa.String(length=100), nullable=False),
        sa.Column("first_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("second_by", sa.String(length=100), nullable=True),
        sa.Column("second_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["custody_copies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("copy_id"),
    )
    op.create_table(
        "custody_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("receiver", sa.Text(), nullable=False),
        sa.Column("handed_by", sa.String(length=100), nullable=False),
        sa.Column("handed_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("medium", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["custody_copies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["custody_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("custody_handovers")
    op.drop_table("custody_destructions")
    with op.batch_alter_table("custody_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_actions_at")

    op.drop_table("custody_actions")
    op.drop_table("custody_decisions")
    op.drop_table("custody_copies")
    with op.batch_alter_table("custody_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_requests_received")

    op.drop_table("custody_requests")
    op.drop_table("users")
