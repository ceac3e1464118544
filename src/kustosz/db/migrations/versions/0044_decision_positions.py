"""a decision per position: approvers as the office's named positions

Issue 51 item 1: who decides a disclosure is a list of positions the office's policy declares
(`[positions.<key>]` beside the head and the deputy), and with `[disclosure] approval = "all"`
each listed position records its own decision on the same request. So
`custody_decisions.capacity` holds a position's key (up to 40 characters, the policy's
`policy.positions.KEY`) and loses its CHECK to head/deputy — each office declares its own
keys and the policy checks them — and the one-decision-per-request UNIQUE (request_id)
becomes UNIQUE (request_id, capacity): one decision per position.

The downgrade refuses, changing nothing, while a request holds more than one decision or a
decision names a position other than head or deputy: the earlier schema cannot hold them, and
merging or dropping a position's decision would falsify the record of who agreed.

SQLite cannot drop a constraint: the table is rebuilt from its own definition with the
constraints changed (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
Changes"); nothing references custody_decisions, so the rebuild touches no other table, and
the downgrade writes back the exact clause 0016 added, which 0016's own downgrade looks for.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-05 09:00:00.000000
"""

import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

# CHECK constraints of earlier migrations this one removes (tests/test_migration_0017.py).
DROPPED_CHECKS = (("custody_decisions", "capacity"),)
_CHECK = "ck_custody_decisions_capacity"
_UNIQUE = "uq_custody_decisions_request_capacity"
# 0016's clause, as 0016 appends it and its downgrade looks for it
_CHECK_CLAUSE = f",\n\tCONSTRAINT {_CHECK} CHECK (capacity IN ('head', 'deputy'))"


def _sub(pattern: str, new: str, sql: str) -> str:
    changed, n = re.subn(pattern, lambda _m: new, sql)
    if n != 1:  # the definition as the earlier migrations leave it, whichever way they ran
        raise RuntimeError(f"unexpected definition of custody_decisions: {sql!r}")
    return changed


def _widened(sql: str) -> str:
    sql = _sub(r"capacity VARCHAR\(10\)", "capacity VARCHAR(40)", sql)
    sql = _sub(r",\s*CONSTRAINT ck_custody_decisions_capacity CHECK \(capacity IN "
               r"\('head', 'deputy'\)\)", "", sql)
    return _sub(r"UNIQUE \(request_id\)", f"CONSTRAINT {_UNIQUE} UNIQUE (request_id, capacity)",
                sql)


def _narrowed(sql: str) -> str:
    sql = _sub(r"capacity VARCHAR\(40\)", "capacity VARCHAR(10)", sql)
    sql = _sub(rf"CONSTRAINT {_UNIQUE} UNIQUE \(request_id, capacity\)", "UNIQUE (request_id)",
               sql).rstrip()
    if not sql.endswith(")"):
        raise RuntimeError(f"unexpected definition of custody_decisions: {sql!r}")
    return sql[:-1].rstrip() + _CHECK_CLAUSE + "\n)"


def _sqlite_rebuild(conn: sa.Connection, edit: Callable[[str], str]) -> None:
    sql = edit(conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                    "name = 'custody_decisions'")).scalar_one())
    _, _, rest = sql.partition("(")
    conn.exec_driver_sql("CREATE TABLE custody_decisions_0044 (" + rest)
    conn.exec_driver_sql("INSERT INTO custody_decisions_0044 SELECT * FROM custody_decisions")
    conn.exec_driver_sql("DROP TABLE custody_decisions")
    conn.exec_driver_sql("ALTER TABLE custody_decisions_0044 RENAME TO custody_decisions")
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        raise RuntimeError(f"the rebuild of custody_decisions broke references: {problems}")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_rebuild(conn, _widened)
        return
    for unique in sa.inspect(conn).get_unique_constraints("custody_decisions"):
        if unique["column_names"] == ["request_id"] and unique["name"]:
            op.drop_constraint(unique["name"], "custody_decisions", type_="unique")
    op.drop_constraint(_CHECK, "custody_decisions", type_="check")
    op.alter_column("custody_decisions", "capacity", type_=sa.String(40),
                    existing_type=sa.String(10), existing_nullable=False)
    op.create_unique_constraint(_UNIQUE, "custody_decisions", ["request_id", "capacity"])


def _refuse_what_the_old_schema_cannot_hold(conn: sa.Connection) -> None:
    several = conn.execute(sa.text(
        "SELECT request_id FROM custody_decisions GROUP BY request_id HAVING count(*) > 1 "
        "ORDER BY request_id")).scalars().all()
    other = conn.execute(sa.text(
        "SELECT DISTINCT capacity FROM custody_decisions WHERE capacity NOT IN "
        "('head', 'deputy') ORDER BY capacity")).scalars().all()
    if several or other:
        raise RuntimeError(
            "the schema before 0044 holds one decision per request, by the head or the deputy; "
            "this vault holds "
            + "; ".join(([f"several decisions on requests {', '.join(map(str, several))}"]
                         if several else [])
                        + ([f"decisions by positions {', '.join(other)}"] if other else []))
            + " — nothing was changed (merging them would falsify who decided)")


def downgrade() -> None:
    conn = op.get_bind()
    _refuse_what_the_old_schema_cannot_hold(conn)
    if conn.dialect.name == "sqlite":
        _sqlite_rebuild(conn, _narrowed)
        return
    op.drop_constraint(_UNIQUE, "custody_decisions", type_="unique")
    op.alter_column("custody_decisions", "capacity", type_=sa.String(10),
                    existing_type=sa.String(40), existing_nullable=False)
    op.create_check_constraint(_CHECK, "custody_decisions",
                               "capacity::text IN ('head', 'deputy')")
    op.create_unique_constraint("custody_decisions_request_id_key", "custody_decisions",
                                ["request_id"])
