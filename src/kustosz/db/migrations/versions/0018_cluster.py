"""cluster: recorder nodes and their leases; the alert rows of a missing node, a source no node
records and a node whose clock is off

Issue 16 item 2: several `kustosz serve --node NAME` on one PostgreSQL share the cameras, the
phone lines and the once-per-cluster work through leases (kustosz.cluster). `nodes` is what
each node last reported of itself, `leases` who holds a resource until when (the database's
clock) and the fencing epoch. On SQLite the tables are made and stay empty.

The alert kinds' CHECK constraint of 0017 is replaced by one that also takes node_missing,
source_without_node and node_clock_skew (the downgrade refuses while rows of those kinds
exist, naming them, and changes nothing). On SQLite the constraint is rewritten in the
table's definition in sqlite_master, as 0016 and 0017 do (0016's docstring says why).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-22 22:40:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

import kustosz.db.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_BEFORE = (  # 0017's list
    "camera_down", "phone.unreachable", "phone.backlog", "phone.silent", "disk_pressure",
    "disk_full", "disk_full_held", "audit.witness", "recorder_restarting", "disk_forecast",
    "sweep_failed", "sweep_late", "audit_verify_failed", "cert_expiring", "clock_jump",
    "backup_missing", "backup_failed")
NEW_KINDS = ("node_missing", "source_without_node", "node_clock_skew")
# Written out, not imported (a migration stays as it ran); the newest list of each column is
# its enum's values (tests/test_migration_0017.py).
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {("alerts", "kind"): _BEFORE + NEW_KINDS}
_CK = "ck_alerts_kind"
_SQLITE_CK = re.compile(r",\s*CONSTRAINT ck_alerts_kind CHECK \(kind IN \([^)]*\)\)")


def _sqlite_set(conn: sa.Connection, kinds: tuple[str, ...]) -> None:
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'alerts'")).scalar_one()
    clause = (f",\n\tCONSTRAINT {_CK} CHECK (kind IN "
              f"({', '.join(repr(k) for k in kinds)}))")
    changed, n = _SQLITE_CK.subn(lambda _m: clause, sql)
    if n != 1:
        raise RuntimeError(f"{_CK} is not where 0017 put it in alerts")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND "
                             "name = 'alerts'"), {"sql": changed})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema change left the database inconsistent: {problems}")


def _set_kinds(conn: sa.Connection, kinds: tuple[str, ...]) -> None:
    if conn.dialect.name == "sqlite":
        _sqlite_set(conn, kinds)
        return
    op.drop_constraint(_CK, "alerts", type_="check")
    op.create_check_constraint(_CK, "alerts",
                               f"kind::text IN ({', '.join(repr(k) for k in kinds)})")


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("incarnation", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen", kustosz.db.types.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("clock_skew_s", sa.Double(), nullable=True),
        sa.Column("backlog_files", sa.Integer(), nullable=False),
        sa.Column("backlog_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "leases",
        sa.Column("resource", sa.String(length=200), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=True),
        sa.Column("until", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", kustosz.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("resource"),
    )
    _set_kinds(op.get_bind(), CHECKS[("alerts", "kind")])


def downgrade() -> None:
    conn = op.get_bind()
    used = conn.execute(sa.text(
        f"SELECT DISTINCT kind FROM alerts WHERE kind IN "
        f"({', '.join(repr(k) for k in NEW_KINDS)})")).scalars().all()
    if used:
        raise RuntimeError("alert rows of kinds the earlier version does not know (nothing "
                           "was changed): " + ", ".join(sorted(used)))
    _set_kinds(conn, _BEFORE)
    op.drop_table("leases")
    op.drop_table("nodes")
