"""events: e-mail journal metadata and IT-activity events

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-21 09:26:38.923457
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_counters",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("source_id", "name"),
    )
    op.create_table(
        "mail_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "recording_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "eml_recording_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("received_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("date_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=400), nullable=False),
        sa.Column("env_from", sa.String(length=320), nullable=False),
        sa.Column("header_from", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("journal", sa.String(length=20), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["eml_recording_id"], ["recordings.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.create_index("ix_mail_messages_eml", ["eml_recording_id"], unique=False)
        batch_op.create_index(
            "ix_mail_messages_header_from", ["header_from", "received_at"], unique=False
        )
        batch_op.create_index("ix_mail_messages_message_id", ["message_id"], unique=False)
        batch_op.create_index("ix_mail_messages_received", ["received_at"], unique=False)
        batch_op.create_index("ix_mail_messages_recording", ["recording_id"], unique=False)

    op.create_table(
        "monitoring_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "recording_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("received_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("app", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("monitoring_events", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_events_at", ["at"], unique=False)
        batch_op.create_index("ix_monitoring_events_category_at", ["category", "at"], unique=False)
        batch_op.create_index("ix_monitoring_events_host_at", ["host", "at"], unique=False)
        batch_op.create_index("ix_monitoring_events_recording", ["recording_id"], unique=False)
        batch_op.create_index("ix_monitoring_events_source_at", ["source_id", "at"], unique=False)
        batch_op.create_index("ix_monitoring_events_user_at", ["user", "at"], unique=False)

    op.create_table(
        "mail_addresses",
        sa.Column("mail_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["mail_id"], ["mail_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mail_id", "role", "address"),
    )
    with op.batch_alter_table("mail_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_mail_addresses_address", ["address"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("mail_addresses", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_addresses_address")

    op.drop_table("mail_addresses")
    with op.batch_alter_table("monitoring_events", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_events_user_at")
        batch_op.drop_index("ix_monitoring_events_source_at")
        batch_op.drop_index("ix_monitoring_events_recording")
        batch_op.drop_index("ix_monitoring_events_host_at")
        batch_op.drop_index("ix_monitoring_events_category_at")
        batch_op.drop_index("ix_monitoring_events_at")

    op.drop_table("monitoring_events")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_recording")
        batch_op.drop_index("ix_mail_messages_received")
        batch_op.drop_index("ix_mail_messages_message_id")
        batch_op.drop_index("ix_mail_messages_header_from")
        batch_op.drop_index("ix_mail_messages_eml")

    op.drop_table("mail_messages")
    op.drop_table("monitoring_counters")
