"""what a camera added over ONVIF says of itself

Issue 34 item 2: a camera added by its ONVIF address keeps its make, model, serial number,
firmware, hardware id and MAC for the register (R1.6), the address of its ONVIF service, the
media profile it is recorded from and the one watched live (with that stream's address). A
serial number is unique: the same device is not registered twice. Cameras added by URL have
no row. The downgrade drops the table (the cameras themselves stay, recorded by URL).

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-25 08:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from kustosz.db.types import UTCDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_devices",
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), primary_key=True),
        sa.Column("onvif_address", sa.String(300), nullable=False),
        sa.Column("make", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(200), nullable=True),
        sa.Column("firmware", sa.String(200), nullable=True),
        sa.Column("hardware_id", sa.String(200), nullable=True),
        sa.Column("mac", sa.String(40), nullable=True),
        sa.Column("record_profile", sa.String(100), nullable=False),
        sa.Column("record_profile_desc", sa.String(200), nullable=True),
        sa.Column("live_profile", sa.String(100), nullable=True),
        sa.Column("live_url", sa.String(1000), nullable=True),
        sa.Column("read_at", UTCDateTime(), nullable=False),
    )
    op.create_index("uq_camera_devices_serial", "camera_devices", ["serial"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_camera_devices_serial", table_name="camera_devices")
    op.drop_table("camera_devices")
