"""one storage key under two rows of the index: an alert of its own

Issue 68 item 3: on PostgreSQL the recordings index is partitioned by day (0062), so
`storage_key` is unique per `(storage_key, start_at)` only, and the store check looks for a
key two rows hold (kustosz.maintenance.key_repeats). What it finds is told to the alert
recipients (index_repeated_keys, cleared when no key repeats), not only written in the log.
One kind joins the CHECK constraint of 0050; the downgrade refuses while rows hold it,
naming it, and changes nothing. On SQLite the constraint is rewritten in the table's
definition in sqlite_master, as 0016-0050 do.

Revision ID: 0063
Revises: 0062
Create Date: 2026-11-30 13:00:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0063"
down_revision = "0062"
branch_labels = None
depends_on = None

_KINDS_BEFORE = (  # 0050's
    "camera_down", "phone.unreachable", "phone.backlog", "phone.silent", "disk_pressure",
    "disk_full", "disk_full_held", "audit.witness", "recorder_restarting", "disk_forecast",
    "sweep_failed", "sweep_late", "audit_verify_failed", "cert_expiring", "clock_jump",
    "backup_missing", "backup_failed", "node_missing", "source_without_node", "node_clock_skew",
    "storage_unreachable", "spool_over_limit", "storage_unknown_objects",
    "database_unreachable", "storage_missing_versions", "retention_disagrees",
    "camera_clock_off", "camera_onvif_unreachable", "camera_tamper", "camera_video_loss",
    "phone.session_refused", "phone.no_sound", "phone.loss", "phone.not_stored",
    "input.refused", "serve.unclean_stop", "config.reload_failed", "report.failed",
    "phone.capture_away", "camera_codec_changed")
NEW: dict[tuple[str, str], tuple[str, ...]] = {
    ("alerts", "kind"): ("index_repeated_keys",)}
_BEFORE: dict[tuple[str, str], tuple[str, ...]] = {("alerts", "kind"): _KINDS_BEFORE}
# Written out, not imported (a migration stays as it ran); the newest list of each column is
# its enum's values (tests/test_migration_0017.py).
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {k: _BEFORE[k] + NEW[k] for k in NEW}


def _sqlite_set(conn: sa.Connection, table: str, column: str,
                values: tuple[str, ...]) -> None:
    name = f"ck_{table}_{column}"
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = :t"), {"t": table}).scalar_one()
    pattern = re.compile(rf",\s*CONSTRAINT {name} CHECK \({column} IN \([^)]*\)\)")
    clause = (f",\n\tCONSTRAINT {name} CHECK ({column} IN "
              f"({', '.join(repr(v) for v in values)}))")
    changed, n = pattern.subn(lambda _m: clause, sql)
    if n != 1:
        raise RuntimeError(f"{name} is not where 0016/0050 put it in {table}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND "
                             "name = :t"), {"sql": changed, "t": table})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema change left the database inconsistent: {problems}")


def _set(conn: sa.Connection, lists: dict[tuple[str, str], tuple[str, ...]]) -> None:
    for (table, column), values in lists.items():
        if conn.dialect.name == "sqlite":
            _sqlite_set(conn, table, column, values)
            continue
        name = f"ck_{table}_{column}"
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table,
                                   f"{column}::text IN ({', '.join(repr(v) for v in values)})")


def upgrade() -> None:
    _set(op.get_bind(), CHECKS)


def downgrade() -> None:
    conn = op.get_bind()
    used = []
    for (table, column), values in NEW.items():
        used += [f"{table}.{column} = {v!r}" for v in conn.execute(sa.text(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN "
            f"({', '.join(repr(v) for v in values)})")).scalars().all()]
    if used:
        raise RuntimeError("rows hold values the earlier version does not know (nothing was "
                           "changed): " + "; ".join(sorted(used)))
    _set(conn, _BEFORE)
