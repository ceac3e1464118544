"""checks: the database refuses a kind or state the program does not know

Issue 15 item 1: the closed lists of kustosz.kinds and kustosz.states (source and recording
kinds, a recording's state, a sweep's mode, a custody request's kind, material and status, a
copy's state, a decision's capacity) become CHECK constraints named ck_<table>_<column>. Every
value a vault of any earlier release holds is on the lists; a row that is not stops the
upgrade with the rows named, and nothing is changed.

The values are written out here, not imported: a migration stays as it ran.

SQLite cannot add a constraint to an existing table. Alembic's batch mode would rebuild the
table, which the foreign keys of every table naming a source, request or copy refuse inside
the migration's transaction (as 0013 found for `users`), and which would copy every row of
`recordings`. A CHECK constraint changes nothing in how rows are stored, so the constraint is
added to the table's definition in sqlite_master instead, after the rows have been checked —
SQLite's documented procedure for changes of this sort (sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"), all inside the migration's transaction.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22 20:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_KINDS = ("camera", "phone", "mailbox", "endpoint")
CHECKS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sources", "kind"): _KINDS,
    ("recordings", "kind"): _KINDS,
    ("recordings", "state"): ("pending", "stored", "deleting"),
    ("sweeps", "mode"): ("retention", "disk_pressure", "restore"),
    ("custody_requests", "kind"): ("authority", "interested", "data_subject", "internal"),
    ("custody_requests", "material"): ("video", "calls", "mail", "events"),
    ("custody_requests", "status"): ("registered", "approved", "refused", "copied"),
    ("custody_copies", "state"): ("kept", "destroyed"),
    ("custody_decisions", "capacity"): ("head", "deputy"),
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
            # ::text: PostgreSQL keeps `varchar IN (…)` in a form that a dump and restore
            # rewrites (each value cast again); compared as text it reads back as written.
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
            raise RuntimeError(f"{_name(table, column)} is not where 0016 put it in {table}")
        sqls[table] = sqls[table].replace(clause, "")
    _sqlite_rewrite(conn, sqls)
