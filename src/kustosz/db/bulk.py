"""Many rows written at once, in as few statements as the database allows.

Why statements and not rows: SQLite's driver lets go of the interpreter's lock around every
statement it steps, and an `executemany` steps once per row. While an intake's copy threads
run beside it (ingest/files.py), each row's step then waits for the lock to come back: an
`executemany` UPDATE of 30 000 rows took 2.7-3.2 s in a tiny-file PBX intake against 0.3 s
for the same rows alone (bench/calls.py, bench/README.md). One statement of many rows waits
once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

# Rows per multi-row statement: well under SQLite's 32 766 parameters at a few columns a row.
_ROWS = 500
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)  # UPDATE ... FROM (VALUES ...)


def inserted_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                 key: str) -> list[int]:
    """Insert ``rows`` into ``table`` and return their ids in the rows' order, matched by the
    unique column ``key`` that every row names.

    Not ``returning(..., sort_by_parameter_order=True)``: on SQLite (an integer primary key)
    SQLAlchemy cannot order a multi-row RETURNING and sends one INSERT per row — 30 000
    statements for a PBX spool of 30 000 small recordings, against 30 here (bench/calls.py).
    """
    if not rows:
        return []
    got = dict(session.execute(insert(table).returning(table.c[key], table.c.id), rows).all())
    if len(got) != len(rows):
        raise ValueError(f"{len(rows)} rows inserted into {table.name} but "
                         f"{len(got)} distinct {key} values came back")
    return [got[row[key]] for row in rows]


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` in multi-row statements. A RETURNING of the primary key is what makes
    SQLAlchemy write them so (its "insertmanyvalues"; without one, SQLite gets one statement
    a row); the keys returned are not wanted."""
    if rows:
        session.execute(insert(table).returning(*table.primary_key.columns), rows)


def update_many(session: Session, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], fixed: Mapping[str, Any]) -> None:
    """For each row (its ``key`` value, then one value per name of ``columns``): set those
    columns, and each of ``fixed`` to its value, in the row of ``table`` whose ``key`` it
    names. The values are the driver's own (numbers, text, None): nothing converts them.

    On SQLite, `UPDATE ... FROM (VALUES ...)`, one statement per `_ROWS` rows; elsewhere
    (PostgreSQL's driver sends an `executemany` in one pipeline) an `executemany`."""
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite" or not _UPDATE_FROM:
        values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
        session.execute(update(table).where(table.c[key] == bindparam("v_key"))
                        .values(**values, **fixed),
                        [{"v_key": row[0], **{f"v_{c}": v for c, v in zip(columns, row[1:],
                                                                           strict=True)}}
                         for row in rows])
        return
    # The fixed values are parameters too: the SET clause's come first, in the text's order.
    sets = [f"{c} = v.column{i}" for i, c in enumerate(columns, 2)] + [f"{c} = ?" for c in fixed]
    one = "(" + ", ".join("?" * (len(columns) + 1)) + ")"
    conn = session.connection()
    for first in range(0, len(rows), _ROWS):
        part = rows[first:first + _ROWS]
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(sets)} FROM (VALUES "
            f"{', '.join([one] * len(part))}) AS v WHERE {table.name}.{key} = v.column1",
            (*fixed.values(), *(v for row in part for v in row)))
