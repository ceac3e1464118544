"""db.bulk's driver path on SQLite (issue 68 item 5): rows converted once and written by the
driver's own multi-row INSERT must read back exactly as Core's INSERT writes them — the same
text for times (SQLite compares and sorts them as text), the same JSON, the same defaults —
and refuse what Core refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from kustosz.db.bulk import _utc_text, driver_rows, insert_many, inserted_ids
from kustosz.db.models import Recording
from kustosz.db.tables import table_of
from kustosz.db.types import UTCDateTime
from kustosz.index.sources import add_source
from kustosz.states import RecordingState
from kustosz.vault import Vault

WARSAW = ZoneInfo("Europe/Warsaw")


def _rows(source_id: int, tag: str, n: int) -> list[dict[str, Any]]:
    base = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the night the clocks go back
    out = []
    for i in range(n):
        start = base + timedelta(minutes=17 * i, microseconds=i)
        out.append({
            "source_id": source_id, "kind": "camera",
            # In another zone, or UTC: stored as the same naive UTC text either way.
            "start_at": start.astimezone(WARSAW) if i % 2 else start,
            "end_at": start + timedelta(seconds=3),
            "storage_key": f"{tag}/Józef Żółć 😀 {i}.wav",
            "meta": {"caller_raw": "Józef Żółć <600 100 200>", "emoji": "📞", "i": i,
                     "none": None, "nested": {"ą": [1, 2.5, True]}},
            "state": RecordingState.PENDING, "size": i,
            "retain_from": None if i % 3 else start.astimezone(timezone(timedelta(hours=5))),
            "expires_at": start + timedelta(days=90), "ingested_at": base,
            "session": None})
    return out


def _read_back(vault: Vault, tag: str) -> list[tuple[Any, ...]]:
    """Every column as the database holds it (raw text), and as the ORM reads it."""
    with vault.reading() as s:
        raw = s.execute(text(
            "SELECT source_id, kind, start_at, end_at, substr(storage_key, instr(storage_key,"
            " '/')), meta, state, size, retain_from, expires_at, ingested_at, session, "
            "typeof(meta), typeof(start_at) FROM recordings WHERE storage_key LIKE :t "
            "ORDER BY storage_key"), {"t": f"{tag}/%"}).all()
        orm = s.execute(select(Recording.start_at, Recording.meta, Recording.retain_from)
                        .where(Recording.storage_key.like(f"{tag}/%"))
                        .order_by(Recording.storage_key)).all()
    return [(*r, *o) for r, o in zip(raw, orm, strict=True)]


def test_driver_rows_read_back_as_cores(sqlite_vault: Vault) -> None:
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-wejscie", "camera", "test").id
    with sqlite_vault.transaction() as s:
        s.execute(insert(table_of(Recording)), _rows(sid, "core", 40))
    with sqlite_vault.transaction() as s:
        assert driver_rows(s, table_of(Recording), _rows(sid, "driver", 1)) is not None
        ids = inserted_ids(s, table_of(Recording), _rows(sid, "driver", 40), "storage_key")
    assert len(set(ids)) == 40
    core, driver = _read_back(sqlite_vault, "core"), _read_back(sqlite_vault, "driver")
    assert driver == core
    assert core[0][12:14] == ("text", "text")


def test_a_column_with_a_default_left_out_goes_through_core(sqlite_vault: Vault) -> None:
    """Recording.session is computed from meta by Core's default: rows that leave it out
    must not be written by the driver with the column empty."""
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-1", "camera", "test").id
    rows = _rows(sid, "cam", 3)
    for row in rows:
        del row["session"]
        row["meta"] = {"session": "sesja-ż-😀"}
    with sqlite_vault.transaction() as s:
        assert driver_rows(s, table_of(Recording), rows) is None
        inserted_ids(s, table_of(Recording), rows, "storage_key")
    with sqlite_vault.reading() as s:
        got = s.execute(select(Recording.session)
                        .where(Recording.storage_key.like("cam/%"))).scalars().all()
    assert got == ["sesja-ż-😀"] * 3


def test_rows_naming_different_columns_are_refused_as_core_refuses_them(
        sqlite_vault: Vault) -> None:
    """A row without a column the others name: the driver's path declines it, Core refuses
    it, and nothing of the batch is written (not a NULL taken for the value)."""
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-wejscie", "camera", "test").id
    rows = _rows(sid, "mixed", 4)
    del rows[2]["retain_from"]
    with pytest.raises(StatementError, match="retain_from"), sqlite_vault.transaction() as s:
        assert driver_rows(s, table_of(Recording), rows) is None
        insert_many(s, table_of(Recording), rows)
    assert _read_back(sqlite_vault, "mixed") == []


def test_a_naive_time_is_refused_and_nothing_is_written(sqlite_vault: Vault) -> None:
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-wejscie", "camera", "test").id
    rows = _rows(sid, "naive", 5)
    rows[3]["start_at"] = datetime(2026, 11, 2, 8, 0)  # no zone: Core refuses it too
    with pytest.raises(ValueError, match="naive datetime"), sqlite_vault.transaction() as s:
        inserted_ids(s, table_of(Recording), rows, "storage_key")
    assert _read_back(sqlite_vault, "naive") == []


_SQLITE = sqlite.dialect()
_CORE_TIME = UTCDateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)
assert _CORE_TIME is not None


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, WARSAW, ZoneInfo("America/St_Johns"),
                                               timezone(timedelta(hours=-11, minutes=-30))])))
def test_a_time_is_written_as_the_dialects_text(at: datetime) -> None:
    assert _utc_text(at) == _CORE_TIME(at)


def test_what_the_driver_cannot_take_as_it_is_goes_core_s_way(sqlite_vault: Vault) -> None:
    """Found by attacking the change: JSON's own null and SQL's null() are the JSON type's to
    decide (the text 'null'; SQL NULL, which this NOT NULL column refuses); a key naming no
    column, or rows of one length naming other columns, leave the rows to Core."""
    from sqlalchemy import JSON, null
    from sqlalchemy.exc import IntegrityError

    from kustosz.db.calls import PhoneCdrRecord

    table = table_of(PhoneCdrRecord)
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-wejscie", "camera", "test").id
    at = datetime(2026, 11, 2, 8, tzinfo=UTC)

    def row(uid: str, record: object) -> dict[str, object]:
        return {"source_id": sid, "uniqueid": uid, "recordingfile": "Żółć 😀.wav",
                "start_at": at, "read_at": at, "record": record}

    with sqlite_vault.transaction() as s:
        insert_many(s, table, [row("json-null", JSON.NULL)])
    with pytest.raises(IntegrityError, match="NOT NULL"), sqlite_vault.transaction() as s:
        insert_many(s, table, [row("sql-null", null())])
    with sqlite_vault.transaction() as s:
        assert driver_rows(s, table, [{**row("extra", {}), "no_such_column": 1}]) is None
        other = {k: v for k, v in row("other", {}).items() if k != "read_at"}
        assert driver_rows(s, table, [row("one", {}), {**other, "id": 99}]) is None
        assert driver_rows(s, table, [{}]) is None
    with sqlite_vault.reading() as s:
        got = s.execute(text("SELECT uniqueid, typeof(record), record FROM phone_cdr_records"
                             )).all()
    assert [tuple(r) for r in got] == [("json-null", "text", "null")]


def test_times_remembered_per_statement_keep_the_twice_happening_hour_apart(
        sqlite_vault: Vault) -> None:
    """The driver's path turns each distinct time of a statement into text once; the autumn
    hour's two readings in one zone (02:30 before and after the clocks go back) compare and
    hash equal in Python, and must still be stored as the two instants they are — and one
    instant written in three zones as one text."""
    with sqlite_vault.transaction() as s:
        sid = add_source(s, sqlite_vault.policy, "kamera-wejscie", "camera", "test").id
    first = datetime(2026, 10, 25, 2, 30, tzinfo=WARSAW)  # 00:30 UTC, summer time
    second = first.replace(fold=1)  # 01:30 UTC, winter time
    assert first == second and hash(first) == hash(second)
    same = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    starts = [first, second, first, same, same.astimezone(WARSAW),
              same.astimezone(timezone(timedelta(hours=-3)))]
    for tag in ("core", "driver"):
        rows = _rows(sid, tag, len(starts))
        for row, start in zip(rows, starts, strict=True):
            row["start_at"] = row["end_at"] = row["ingested_at"] = start
        with sqlite_vault.transaction() as s:
            if tag == "core":
                s.execute(insert(table_of(Recording)), rows)
            else:
                inserted_ids(s, table_of(Recording), rows, "storage_key")
    core, driver = _read_back(sqlite_vault, "core"), _read_back(sqlite_vault, "driver")
    assert driver == core
    assert [r[2] for r in driver] == ["2026-10-25 00:30:00.000000", "2026-10-25 01:30:00.000000",
                                      "2026-10-25 00:30:00.000000"] + [
                                          "2026-10-25 01:30:00.000000"] * 3
