"""vault core

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:46:54.044866
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("case_ref", sa.String(length=200), nullable=True),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("released_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("retention", sa.String(length=40), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("max_duration_s", sa.Double(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sweeps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("started_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("as_of", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("finished_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "vault_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cleared_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "deletions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sweep_id", sa.BigInteger(), nullable=False),
        sa.Column("recording_id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deletions", schema=None) as batch_op:
        batch_op.create_index("ix_deletions_sweep", ["sweep_id"], unique=False)

    op.create_table(
        "hold_items",
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column(
            "recording_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
        ),
        sa.PrimaryKeyConstraint("hold_id", "recording_id"),
    )
    with op.batch_alter_table("hold_items", schema=None) as batch_op:
        batch_op.create_index("ix_hold_items_recording", ["recording_id"], unique=False)

    op.create_table(
        "hold_sources",
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("hold_id", "source_id"),
    )
    with op.batch_alter_table("hold_sources", schema=None) as batch_op:
        batch_op.create_index("ix_hold_sources_source", ["source_id"], unique=False)

    op.create_table(
        "recordings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=400), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("expires_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("ingested_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("sweep_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key"),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_source_start", ["source_id", "start_at"], unique=False)
        batch_op.create_index("ix_recordings_state_expires", ["state", "expires_at"], unique=False)
        batch_op.create_index("ix_recordings_sweep", ["sweep_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_sweep")
        batch_op.drop_index("ix_recordings_state_expires")
        batch_op.drop_index("ix_recordings_source_start")

    op.drop_table("recordings")
    with op.batch_alter_table("hold_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_sources_source")

    op.drop_table("hold_sources")
    with op.batch_alter_table("hold_items", schema=None) as batch_op:
        batch_op.drop_index("ix_hold_items_recording")

    op.drop_table("hold_items")
    with op.batch_alter_table("deletions", schema=None) as batch_op:
        batch_op.drop_index("ix_deletions_sweep")

    op.drop_table("deletions")
    op.drop_table("alerts")
    op.drop_table("vault_settings")
    op.drop_table("sweeps")
    op.drop_table("sources")
    op.drop_table("holds")
    op.drop_table("audit_log")
