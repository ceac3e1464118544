"""more checks: a recorder's state, a phone spool file's outcome, an alert's kind and a viewing
session's action are refused when the program does not know them

Issue 15 item 1, after 0016: the closed lists of kustosz.states (RecorderState, SpoolOutcome),
kustosz.alert_kinds (AlertRow) and kustosz.kinds (Action) become CHECK constraints named
ck_<table>_<column>. Every value a vault of any earlier release holds is on the lists; a row
that is not stops the upgrade with the rows named, and nothing is changed.

The values are written out here, not imported: a migration stays as it ran.

Done as 0016 does it (its docstring says why): PostgreSQL adds the constraints; SQLite gets
them written into the tables' definitions in sqlite_master, after the rows have been checked,
inside the migration's transaction.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22 22:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
# camera_recorder_status is made by 0002 (cameras), phone_spool_items by 0003 (calls): their
# branches must have run before the constraints are added to them.
depends_on = ("0002", "0003")

CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("camera_recorder_status", "state"): (
        "recording", "connecting", "down", "disk_full", "stopped", "disabled", "waiting",
        "refused"),
    ("phone_spool_items", "outcome"): ("stored", "out_of_scope", "skipped"),
    ("alerts", "kind"): (
        "camera_down", "phone.unreachable", "phone.backlog", "phone.silent", "disk_pressure",
        "disk_full", "disk_full_held", "audit.witness", "recorder_restarting", "disk_forecast",
        "sweep_failed", "sweep_late", "audit_verify_failed", "cert_expiring", "clock_jump",
        "backup_missing", "backup_failed"),
    ("access_viewing_sessions", "action"): (
        "live", "playback", "listening", "calls", "export", "mail", "events"),
}


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"


def _condition(column: str, values: tuple[str, ...], cast: str = "") -> str:
    return f"{column}{cast} IN ({', '.join(repr(v) for v in values)})"


def _clause(table: str, column: str, values: tuple[str, ...]) -> str:
    return f",\n\tCONSTRAINT {_name(table, column)} CHECK ({_condition(column, values)})"


def _refuse_unknown(conn: sa.Connection) -> None:
    wrong = []
    for (table, column), values in CHECKS.items():
        found = conn.execute(sa.text(
            f"SELECT DISTINCT {column} FROM {table} WHERE NOT ({_condition(column, values)})"
        )).scalars().all()
        wrong += [f"{table}.{column} = {v!r}" for v in found]
    if wrong:
        raise RuntimeError("rows hold values this version does not know (nothing was "
                           "changed): " + "; ".join(wrong))


def _sqlite_tables(conn: sa.Connection) -> dict[str, str]:
    tables = sorted({t for t, _ in CHECKS})
    rows = conn.execute(sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN "
        f"({', '.join(repr(t) for t in tables)})")).all()
    return {name: sql for name, sql in rows}


def _sqlite_rewrite(conn: sa.Connection, changed: dict[str, str]) -> None:
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in changed.items():
            conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                                 "AND name = :name"), {"sql": sql, "name": table})
        # The new schema cookie makes every connection (this one too) read the schema again.
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema change left the database inconsistent: {problems}")


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_unknown(conn)
    if conn.dialect.name != "sqlite":
        for (table, column), values in CHECKS.items():
            # ::text, as in 0016: the constraint reads back from a dump as written.
            op.create_check_constraint(_name(table, column), table,
                                       _condition(column, values, "::text"))
        return
    sqls = _sqlite_tables(conn)
    for (table, column), values in CHECKS.items():
        sql = sqls[table].rstrip()
        if not sql.endswith(")"):
            raise RuntimeError(f"unexpected definition of {table}: {sql!r}")
        sqls[table] = sql[:-1].rstrip() + _clause(table, column, values) + "\n)"
    _sqlite_rewrite(conn, sqls)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        for table, column in reversed(CHECKS):
            op.drop_constraint(_name(table, column), table, type_="check")
        return
    sqls = _sqlite_tables(conn)
    for (table, column), values in CHECKS.items():
        clause = _clause(table, column, values)
        if clause not in sqls[table]:
            raise RuntimeError(f"{_name(table, column)} is not where 0017 put it in {table}")
        sqls[table] = sqls[table].replace(clause, "")
    _sqlite_rewrite(conn, sqls)
