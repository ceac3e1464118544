"""alarms in the reader's language, and the devices of those on duty

Issue 65 item 3 and its smaller findings. An alert row's `message` is the Polish the raiser
wrote, kept as written (the notifier's mails, the record); a raiser that can word it in
English too writes `message_en`, and the technical detail a device or program gave (English,
as its log says it: "403: not on any SIPREC line's list") goes to `detail` instead of in
parentheses inside the Polish sentence. Rows from before keep NULL in both: a page shows
their Polish message as before (kustosz.web.alarm_words).

`alarm_devices`: a browser that asked for alarm notifications (Web Push, RFC 8030): its
user, the push service's endpoint (a capability: never shown, never logged), the keys the
message is encrypted to (RFC 8291), the language it is told in, the web session that last
confirmed it (signing out there ends it), and when and why it ended.

Revision ID: 0052
Revises: 0050
Create Date: 2026-12-10 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from kustosz.db.types import UTCDateTime

revision = "0052"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("message_en", sa.Text(), nullable=True))
    op.add_column("alerts", sa.Column("detail", sa.Text(), nullable=True))
    op.create_table(
        "alarm_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.UniqueConstraint("endpoint_hash", name="uq_alarm_devices_endpoint"),
    )
    op.create_index("ix_alarm_devices_user", "alarm_devices", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_alarm_devices_user", table_name="alarm_devices")
    op.drop_table("alarm_devices")
    for column in ("detail", "message_en"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
        else:
            op.drop_column("alerts", column)
