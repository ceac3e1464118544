"""Many rows written at once, in as few statements as the database allows.

Why statements and not rows: SQLite's driver lets go of the interpreter's lock around every
statement it steps, and an `executemany` steps once per row. While an intake's copy threads
run beside it (ingest/files.py), each row's step then waits for the lock to come back: an
`executemany` UPDATE of 30 000 rows took 2.7-3.2 s in a tiny-file PBX intake against 0.3 s
for the same rows alone (bench/calls.py, bench/README.md). One statement of many rows waits
once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert, update
from sqlalchemy.orm import Session

from kustosz.db.types import UTCDateTime, as_stored

# Rows per multi-row statement: well under SQLite's 32 766 parameters at a few columns a row.
_ROWS = 500
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)  # UPDATE ... FROM (VALUES ...)
# Parameters per statement of the driver's multi-row INSERT: SQLite's limit (32 766 since
# 3.32, 999 before), less a margin.
_PARAMETERS = 32000 if sqlite3.sqlite_version_info >= (3, 32) else 990


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
    plain = driver_rows(session, table, rows)
    if plain is not None:
        got = dict(_sqlite_insert(session, table, *plain, returning=(key, "id")))
    else:
        got = dict(session.execute(insert(table).returning(table.c[key], table.c.id),
                                   rows).all())
    if len(got) != len(rows):
        raise ValueError(f"{len(rows)} rows inserted into {table.name} but "
                         f"{len(got)} distinct {key} values came back")
    return [got[row[key]] for row in rows]


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` in multi-row statements. A RETURNING of the primary key is what makes
    SQLAlchemy write them so (its "insertmanyvalues"; without one, SQLite gets one statement
    a row); the keys returned are not wanted."""
    if not rows:
        return
    plain = driver_rows(session, table, rows)
    if plain is not None:
        _sqlite_insert(session, table, *plain, returning=())
    else:
        session.execute(insert(table).returning(*table.primary_key.columns), rows)


def driver_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
                ) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """On SQLite, ``rows`` as the driver takes them: the column names, and each row's values
    in their order converted once (`sqlite_values`), not by SQLAlchemy's processors value by
    value inside its statement (a third of a tiny-file PBX intake's rows' cost,
    bench/README.md, calls). None elsewhere, or where a column the rows leave out has a
    default computed in Python (Core computes those; a statement of the driver would leave
    them empty): then Core writes them."""
    if session.get_bind().dialect.name != "sqlite" or table.schema is not None:
        return None
    names = list(rows[0])
    # Only rows naming columns by their own names (Core also takes a column's key, and
    # leaves out a key that names no column), none left to a default computed in Python.
    if not names or any(n not in table.c or table.c[n].name != n for n in names):
        return None
    if any(c.default is not None and c.name not in names for c in table.columns):
        return None
    if any(len(row) != len(names) for row in rows):
        return None  # rows naming different columns: Core's way
    values = itemgetter(*names)  # a row's values at C speed
    convert = [(i, f) for i, f in enumerate(sqlite_values(session, table, names))
               if f is not None]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        try:
            got = values(row)
        except KeyError:  # as many columns, other ones: Core's way (which refuses it)
            return None
        if convert:
            got = list(got) if len(names) > 1 else [got]
            for i, f in convert:
                got[i] = f(got[i])
            out.append(tuple(got))
        else:
            out.append(got if len(names) > 1 else (got,))
    return names, out


def sqlite_values(session: Session, table: Table, names: Sequence[str]
                  ) -> list[Callable[[Any], Any] | None]:
    """Per column of ``names``, what turns a Python value into SQLite's (None: nothing): a
    time of `UTCDateTime` as SQLAlchemy's SQLite dialect writes it (naive UTC, microseconds
    always: the text sorts and compares as the dialect's own), JSON by `json.dumps` as the
    dialect's default serializer, anything else by SQLAlchemy's own processor for its type.
    The same values either way: tests/test_bulk_driver_rows.py compares them."""
    dialect = session.get_bind().dialect
    out: list[Callable[[Any], Any] | None] = []
    for name in names:
        kind = table.c[name].type
        # The dialect's own form of the type (SQLite's DATETIME, JSON...): its processor.
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(kind, UTCDateTime):
            out.append(_remembered(_utc_text))
        elif isinstance(kind, JSON) and dialect._json_serializer is None:
            out.append(partial(_json_text, processor))
        else:
            out.append(processor)
    return out


def _json_text(fallback: Callable[[Any], Any] | None, value: Any) -> Any:
    if type(value) is dict or type(value) is list:  # what the project's JSON columns hold
        return json.dumps(value)
    # None (JSON's null or SQL's NULL by the type's setting), JSON.NULL, null(), scalars:
    # the type's own processor decides, as Core would.
    return fallback(value) if fallback is not None else value


def _remembered(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` of times remembering its answers for the rows of one statement: a batch's
    rows share their times (the intake's now in every row, a call's start in its recording's
    row and its call's), each turned into text once. Keyed with the fold too: two readings
    of the hour that happens twice, in one zone, compare (and hash) equal."""
    known: dict[tuple[Any, int], Any] = {}

    def remembered(value: Any) -> Any:
        key = (value, getattr(value, "fold", 0))
        try:
            return known[key]
        except KeyError:
            text = known[key] = convert(value)
            return text
    return remembered


def _utc_text(value: datetime | None) -> str | None:
    stored = as_stored(value)
    return None if stored is None else stored.isoformat(" ", "microseconds")


def _sqlite_insert(session: Session, table: Table, names: list[str],
                   rows: list[tuple[Any, ...]], *, returning: Sequence[str]) -> list[Any]:
    """``rows`` (the driver's values, in ``names``' order) in multi-row INSERTs, each as many
    rows as SQLite's parameters allow; the ``returning`` columns of each row, if any."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    conn = session.connection()
    one = "(" + ", ".join("?" * len(names)) + ")"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
    tail = f" RETURNING {', '.join(quote(n) for n in returning)}" if returning else ""
    per = max(1, _PARAMETERS // len(names))
    out: list[Any] = []
    for first in range(0, len(rows), per):
        part = rows[first:first + per]
        result = conn.exec_driver_sql(head + ", ".join([one] * len(part)) + tail,
                                      tuple(v for row in part for v in row))
        if returning:
            out.extend(result.all())
    return out


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
