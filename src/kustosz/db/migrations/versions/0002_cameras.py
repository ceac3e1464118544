"""camera register and recorder: sites, zones, cameras, gaps, clock offsets, recorder status

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "camera_clock_offsets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=60), nullable=False),
        sa.Column("measured_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("offset_s", sa.Double(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_camera_clock_offsets_source",
        "camera_clock_offsets",
        ["source_id", "measured_at"],
        unique=False,
    )
    op.create_table(
        "camera_gaps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("start_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_camera_gaps_source_start", "camera_gaps", ["source_id", "start_at"], unique=False
    )
    op.create_table(
        "camera_recorder_status",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("since", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("codec", sa.String(length=30), nullable=True),
        sa.Column("updated_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_table(
        "camera_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["camera_sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "name", name="uq_camera_zones_site_name"),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("rtsp_user", sa.String(length=200), nullable=True),
        sa.Column("rtsp_password", sa.String(length=200), nullable=True),
        sa.Column("segment_seconds", sa.Double(), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=True),
        sa.Column("signage_date", sa.Date(), nullable=True),
        sa.Column("unrecognisable_reason", sa.Text(), nullable=True),
        sa.Column("representatives_consent", sa.Text(), nullable=True),
        sa.Column("start_override_reason", sa.Text(), nullable=True),
        sa.Column("start_override_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["camera_zones.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id"),
    )


def downgrade() -> None:
    op.drop_table("cameras")
    op.drop_table("camera_zones")
    op.drop_table("camera_recorder_status")
    op.drop_index("ix_camera_gaps_source_start", table_name="camera_gaps")
    op.drop_table("camera_gaps")
    op.drop_index("ix_camera_clock_offsets_source", table_name="camera_clock_offsets")
    op.drop_table("camera_clock_offsets")
    op.drop_table("camera_sites")
