"""who was told of each alert: a lasting record of the notifier's deliveries

Issue 53: the accountability report says, for each alert, who was told and when. The notifier
keeps its queues in `vault_settings` (`alerts.notifier`) and an entry leaves them once a
channel took it, so nothing lasting said who was told. `alert_deliveries` keeps one row per
message per channel attempt: the alert rows it covered (a JSON list: a message may cover
several, a digest many), the event, the channel's name and kind, the recipients as the
channel addresses them (never a secret), when, and whether it went (or failed, and why).
Rows from before the table do not exist: the report says "nie powiadomiono nikogo" only for
what it can read. The downgrade drops the table and what it held.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-04 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from kustosz.db.types import UTCDateTime

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Compared as text on PostgreSQL: a varchar IN list is stored in a form its dump does not
    # read back the same (0016 and 0020 do the same; tests/test_migration_template.py).
    outcome = "outcome::text" if op.get_bind().dialect.name == "postgresql" else "outcome"
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(60), nullable=False),
        sa.Column("channel_kind", sa.String(60), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(60), nullable=True),
        sa.Column("from_memory", sa.Boolean(), nullable=False),
        sa.CheckConstraint(f"{outcome} IN ('sent', 'failed')",
                           name="ck_alert_deliveries_outcome"),
    )
    op.create_index("ix_alert_deliveries_sent_at", "alert_deliveries", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_sent_at", "alert_deliveries")
    op.drop_table("alert_deliveries")
