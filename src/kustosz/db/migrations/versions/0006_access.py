"""access: web accounts and sessions, API tokens, authorisations, viewing sessions, access log,
listening protocols

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-21 09:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("access_accounts",
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("failed_logins", sa.Integer(), nullable=False),
    sa.Column("locked_until", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("totp_secret", sa.String(length=64), nullable=True),
    sa.Column("one_time", sa.Boolean(), nullable=False),
    sa.Column("password_set_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("user_id")
    )
    op.create_table("access_api_tokens",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("created_by", sa.String(length=100), nullable=False),
    sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("expires_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("revoked_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash")
    )
    op.create_table("access_authorisations",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("holder_id", sa.Integer(), nullable=False),
    sa.Column("sources", sa.JSON(), nullable=False),
    sa.Column("source_kinds", sa.JSON(), nullable=False),
    sa.Column("actions", sa.JSON(), nullable=False),
    sa.Column("basis", sa.Text(), nullable=True),
    sa.Column("issued_by", sa.String(length=100), nullable=False),
    sa.Column("issued_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("valid_from", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("valid_to", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("revoked_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("revoked_by", sa.String(length=100), nullable=True),
    sa.Column("revoke_reason", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(["holder_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("access_authorisations", schema=None) as batch_op:
        batch_op.create_index("ix_access_authorisations_holder", ["holder_id"], unique=False)

    op.create_table("access_web_sessions",
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("csrf", sa.String(length=64), nullable=False),
    sa.Column("client", sa.String(length=100), nullable=False),
    sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("expires_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("ended_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("access_web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_access_web_sessions_user", ["user_id"], unique=False)

    op.create_table("access_viewing_sessions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("user_name", sa.String(length=100), nullable=False),
    sa.Column("authorisation_id", sa.Integer(), nullable=True),
    sa.Column("action", sa.String(length=12), nullable=False),
    sa.Column("source_id", sa.Integer(), nullable=True),
    sa.Column("recording_id", sa.BigInteger(), nullable=True),
    sa.Column("copy_id", sa.Integer(), nullable=True),
    sa.Column("window_start", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("window_end", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("purpose", sa.Text(), nullable=False),
    sa.Column("case_ref", sa.String(length=200), nullable=True),
    sa.Column("request_id", sa.Integer(), nullable=True),
    sa.Column("witness", sa.String(length=200), nullable=True),
    sa.Column("client", sa.String(length=100), nullable=False),
    sa.Column("started_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("last_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("ended_at", kustosz.db.types.UTCDateTime(), nullable=True),
    sa.Column("served", sa.Integer(), nullable=False),
    sa.Column("bytes_served", sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(["authorisation_id"], ["access_authorisations.id"], ),
    sa.ForeignKeyConstraint(["copy_id"], ["custody_copies.id"], ),
    sa.ForeignKeyConstraint(["request_id"], ["custody_requests.id"], ),
    sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash")
    )
    with op.batch_alter_table("access_viewing_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_access_viewing_sessions_user", ["user_id", "started_at"],
                                  unique=False)

    op.create_table("access_listening_protocols",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("viewing_id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), nullable=True),
    sa.Column("case_ref", sa.String(length=200), nullable=True),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("pdf", sa.String(length=400), nullable=False),
    sa.Column("made_by", sa.String(length=100), nullable=False),
    sa.Column("made_at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["request_id"], ["custody_requests.id"], ),
    sa.ForeignKeyConstraint(["viewing_id"], ["access_viewing_sessions.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("access_log",
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              autoincrement=True, nullable=False),
    sa.Column("viewing_id", sa.Integer(), nullable=False),
    sa.Column("at", kustosz.db.types.UTCDateTime(), nullable=False),
    sa.Column("what", sa.String(length=400), nullable=False),
    sa.Column("recording_id", sa.BigInteger(), nullable=True),
    sa.Column("client", sa.String(length=100), nullable=False),
    sa.Column("bytes", sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(["viewing_id"], ["access_viewing_sessions.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_viewing", ["viewing_id"], unique=False)

    op.create_table(
        "employees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_table(
        "notice_acknowledgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("notice_version", sa.String(length=40), nullable=False),
        sa.Column("acknowledged_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_id", "notice_version",
                            name="uq_notice_ack_employee_version"),
    )


def downgrade() -> None:
    op.drop_table("notice_acknowledgments")
    op.drop_table("employees")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_access_log_viewing")

    op.drop_table("access_log")
    op.drop_table("access_listening_protocols")
    with op.batch_alter_table("access_viewing_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_access_viewing_sessions_user")

    op.drop_table("access_viewing_sessions")
    with op.batch_alter_table("access_web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_access_web_sessions_user")

    op.drop_table("access_web_sessions")
    with op.batch_alter_table("access_authorisations", schema=None) as batch_op:
        batch_op.drop_index("ix_access_authorisations_holder")

    op.drop_table("access_authorisations")
    op.drop_table("access_api_tokens")
    op.drop_table("access_accounts")
