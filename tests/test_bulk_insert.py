"""db.bulk.inserted_ids: one multi-row INSERT, and each id is the one of its own row."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from kustosz.db.bulk import inserted_ids
from kustosz.db.models import Recording
from kustosz.index.sources import add_source
from kustosz.states import RecordingState
from kustosz.vault import Vault


def _rows(source_id: int, n: int) -> list[dict[str, object]]:
    base = datetime(2026, 11, 2, 8, tzinfo=UTC)
    keys = [f"cam/2026/11/02/{i:06d}.ts" for i in range(n)]
    random.Random(7).shuffle(keys)  # not in the order the database would number them
    return [{"source_id": source_id, "kind": "camera", "start_at": base + timedelta(seconds=i),
             "end_at": base + timedelta(seconds=i + 1), "storage_key": key, "meta": {},
             "state": RecordingState.PENDING, "size": i, "ingested_at": base}
            for i, key in enumerate(keys)]


def test_ids_follow_the_rows_and_the_insert_is_not_per_row(vault: Vault) -> None:
    with vault.transaction() as s:
        source_id = add_source(s, vault.policy, "cam-hol", "camera", "test").id
    rows = _rows(source_id, 2500)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    engine = vault.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with vault.transaction() as s:
            ids = inserted_ids(s, Recording.__table__, rows, "storage_key")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(ids) == len(set(ids)) == len(rows)
    assert len(statements) < 50, f"{len(statements)} INSERT statements for {len(rows)} rows"
    with vault.reading() as s:
        stored = dict(s.execute(select(Recording.id, Recording.storage_key)
                                .where(Recording.id.in_(ids))).all())
    assert [stored[i] for i in ids] == [row["storage_key"] for row in rows]


def test_no_rows_no_statement(vault: Vault) -> None:
    with vault.transaction() as s:
        assert inserted_ids(s, Recording.__table__, [], "storage_key") == []
