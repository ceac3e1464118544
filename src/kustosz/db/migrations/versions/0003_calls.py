"""calls: the index of call recordings and the phone intake state

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-21 09:08:40.532035
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_cdr_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("recordingfile", sa.String(length=400), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("read_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("phone_cdr_records", schema=None) as batch_op:
        batch_op.create_index("ix_phone_cdr_file", ["source_id", "recordingfile"], unique=False)
        batch_op.create_index("ix_phone_cdr_read", ["source_id", "read_at"], unique=False)
        batch_op.create_index("ix_phone_cdr_uniqueid", ["source_id", "uniqueid"], unique=False)

    op.create_table(
        "phone_intake_state",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("cdr_offset", sa.BigInteger(), nullable=False),
        sa.Column("cdr_lines", sa.BigInteger(), nullable=False),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("out_of_scope", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("last_scan_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_file_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_intake_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_table(
        "phone_problems",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("item", sa.String(length=400), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("phone_problems", schema=None) as batch_op:
        batch_op.create_index("ix_phone_problems_source_at", ["source_id", "at"], unique=False)

    op.create_table(
        "phone_spool_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "item", name="uq_phone_spool_items"),
    )
    op.create_table(
        "calls",
        sa.Column(
            "recording_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("callee", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("no_cdr", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("recording_id"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_callee_start", ["callee", "start_at"], unique=False)
        batch_op.create_index("ix_calls_caller_start", ["caller", "start_at"], unique=False)
        batch_op.create_index("ix_calls_source_uniqueid", ["source_id", "uniqueid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_source_uniqueid")
        batch_op.drop_index("ix_calls_caller_start")
        batch_op.drop_index("ix_calls_callee_start")

    op.drop_table("calls")
    op.drop_table("phone_spool_items")
    with op.batch_alter_table("phone_problems", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_problems_source_at")

    op.drop_table("phone_problems")
    op.drop_table("phone_intake_state")
    with op.batch_alter_table("phone_cdr_records", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_cdr_uniqueid")
        batch_op.drop_index("ix_phone_cdr_read")
        batch_op.drop_index("ix_phone_cdr_file")

    op.drop_table("phone_cdr_records")
