"""database alert: the database did not answer serve's watch for longer than its grace

Issue 27 item 4: an outage of the database is told from memory while it lasts (nothing can be
written then) and written as an alert row, start and end, once the database is back, so that
the history shows it. The alert kinds' CHECK constraint of 0021 is replaced by one that also
takes database_unreachable (the downgrade refuses while rows of that kind exist, naming it,
and changes nothing). On SQLite the constraint is rewritten in the table's definition in
sqlite_master, as 0016-0021 do (0016's docstring says why).

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-24 10:00:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_BEFORE = (  # 0021's list
    "camera_down", "phone.unreachable", "phone.backlog", "phone.silent", "disk_pressure",
    "disk_full", "disk_full_held", "audit.witness", "recorder_restarting", "disk_forecast",
    "sweep_failed", "sweep_late", "audit_verify_failed", "cert_expiring", "clock_jump",
    "backup_missing", "backup_failed", "node_missing", "source_without_node", "node_clock_skew",
    "storage_unreachable", "spool_over_limit", "storage_unknown_objects")
NEW_KINDS = ("database_unreachable",)
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
        raise RuntimeError(f"{_CK} is not where 0021 put it in alerts")
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
    _set_kinds(op.get_bind(), _BEFORE + NEW_KINDS)


def downgrade() -> None:
    conn = op.get_bind()
    used = conn.execute(sa.text(
        f"SELECT DISTINCT kind FROM alerts WHERE kind IN "
        f"({', '.join(repr(k) for k in NEW_KINDS)})")).scalars().all()
    if used:
        raise RuntimeError("alert rows of kinds the earlier version does not know (nothing "
                           "was changed): " + ", ".join(sorted(used)))
    _set_kinds(conn, _BEFORE)
