"""Migration 0024 (issue 18 item 5) up and down on SQLite and PostgreSQL: `recordings.session`
copied out of meta (existing rows by the upgrade, new ones by the model) and the index
`(source_id, start_at, end_at, state, session, id)` in place of `(source_id, start_at)`; the
timeline/playlist query is answered from that index alone (its plan on both databases), so a
later change cannot lose it silently; the downgrade puts the old index back and loses
nothing (the session stays in meta)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, insert, inspect, select, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.db.models import Recording, Source
from kustosz.index.recordings import spans
from kustosz.index.sources import add_source
from kustosz.vault import Vault

PREVIOUS = "0023"
NEW, OLD = "ix_recordings_source_span", "ix_recordings_source_start"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _schema(vault: Vault) -> tuple[bool, set[str]]:
    with vault.engine.connect() as conn:
        i = inspect(conn)
        return ("session" in {c["name"] for c in i.get_columns("recordings")},
                {ix["name"] for ix in i.get_indexes("recordings")})


def _source(vault: Vault, name: str = "cam") -> int:
    with vault.transaction() as s:
        src = add_source(s, vault.policy, name, "camera", "test")
        src.max_duration_s = 10.0
        s.flush()
        return src.id


def _row(source_id: int, i: int, meta: dict[str, Any]) -> dict[str, Any]:
    start = T0 + timedelta(seconds=10 * i)
    return {"source_id": source_id, "kind": "camera", "start_at": start,
            "end_at": start + timedelta(seconds=10), "storage_key": f"k/{source_id}/{i}.ts",
            "meta": meta, "state": "stored", "size": 1, "ingested_at": start}


def _raw_insert(vault: Vault, source_id: int, i: int, meta_json: str) -> None:
    """A row as a vault of release 0023 holds it (no session column)."""
    start = T0 + timedelta(seconds=10 * i)
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
            "meta, state, ingested_at) VALUES (:s, 'camera', :a, :b, 1, :k, :m, 'stored', "
            ":a)"), {"s": source_id, "a": start.replace(tzinfo=None),
                     "b": (start + timedelta(seconds=10)).replace(tzinfo=None),
                     "k": f"old/{i}.ts", "m": meta_json})


def _sessions(vault: Vault) -> dict[str, str | None]:
    with vault.engine.connect() as conn:
        return dict(conn.execute(text("SELECT storage_key, session FROM recordings")).all())


def test_0024_copies_the_session_and_swaps_the_index_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    has_column, indexes = _schema(vault)
    assert has_column and NEW in indexes and OLD not in indexes
    command.downgrade(cfg, PREVIOUS)
    has_column, indexes = _schema(vault)
    assert not has_column and OLD in indexes and NEW not in indexes
    sid = _source(vault)
    metas = ['{"session": "20261102T100000", "segment": "00000001.ts"}',
             '{"segment": "x.ts"}', '{"session": 7}', '{"session": null}', '{}',
             '{"session": "' + "s" * 201 + '"}', '{"session": "' + "s" * 200 + '"}']
    for i, meta in enumerate(metas):
        _raw_insert(vault, sid, i, meta)
    with vault.engine.connect() as conn:
        before = sorted(conn.execute(text("SELECT id, meta FROM recordings")).all())
    upgrade(vault.engine)
    assert NEW in _schema(vault)[1] and OLD not in _schema(vault)[1]
    # only a text session of at most 200 characters is copied (as models.session_of)
    assert _sessions(vault) == {"old/0.ts": "20261102T100000", "old/1.ts": None,
                                "old/2.ts": None, "old/3.ts": None, "old/4.ts": None,
                                "old/5.ts": None, "old/6.ts": "s" * 200}
    command.downgrade(cfg, PREVIOUS)
    has_column, indexes = _schema(vault)
    assert not has_column and OLD in indexes and NEW not in indexes
    with vault.engine.connect() as conn:  # meta untouched both ways
        assert sorted(conn.execute(text("SELECT id, meta FROM recordings")).all()) == before
    upgrade(vault.engine)
    assert _sessions(vault)["old/0.ts"] == "20261102T100000"


def test_new_rows_get_the_session_from_meta_however_written(vault: Vault) -> None:
    sid = _source(vault)
    with vault.transaction() as s:
        # Core, as the recorders' shared batches and the intake insert
        s.execute(insert(Recording), [_row(sid, 0, {"session": "a", "segment": "1.ts"}),
                                      _row(sid, 1, {"segment": "2.ts"})])
        s.add(Recording(**_row(sid, 2, {"session": "b"})))  # the ORM
        s.add(Recording(**{**_row(sid, 3, {}), "meta": {"session": 5}}))
    assert _sessions(vault) == {f"k/{sid}/0.ts": "a", f"k/{sid}/1.ts": None,
                                f"k/{sid}/2.ts": "b", f"k/{sid}/3.ts": None}
    with vault.transaction() as s:
        rec = s.execute(select(Recording).where(Recording.storage_key == f"k/{sid}/1.ts")
                        ).scalar_one()
        rec.meta = {**rec.meta, "session": "c"}
    assert _sessions(vault)[f"k/{sid}/1.ts"] == "c"
    with vault.reading() as s:
        source = s.get(Source, sid)
        assert source is not None
        got = [r.session for r in s.execute(spans(source, T0, T0 + timedelta(hours=1)))]
    assert got == ["a", "c", "b", None]


def test_spans_reads_times_as_the_orm_does(vault: Vault) -> None:
    """`spans` decodes the index's times itself (PostgreSQL: timestamptz in SQL; SQLite: one
    parse): the same aware UTC instants as `UTCDateTime`, to the microsecond, and in UTC."""
    sid = _source(vault, "cam")
    odd = [T0 + timedelta(seconds=10 * i, microseconds=us)
           for i, us in enumerate([0, 1, 999_999, 500_000, 123_456])]
    with vault.transaction() as s:
        s.execute(insert(Recording), [{**_row(sid, i, {"session": "s"}), "start_at": t,
                                       "end_at": t + timedelta(seconds=9, microseconds=7)}
                                      for i, t in enumerate(odd)])
    with vault.reading() as s:
        source = s.get(Source, sid)
        assert source is not None
        rows = s.execute(spans(source, T0, T0 + timedelta(minutes=5))).all()
        orm = s.execute(select(Recording.id, Recording.start_at, Recording.end_at)
                        .where(Recording.source_id == sid).order_by(Recording.start_at)).all()
    assert [(r.id, r.start_at, r.end_at) for r in rows] == [tuple(r) for r in orm]
    assert [r.start_at for r in rows] == odd
    assert all(r.start_at.utcoffset() == timedelta(0) == r.end_at.utcoffset() for r in rows)


@pytest.fixture
def captured(vault: Vault) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(vault.engine, "before_cursor_execute", capture)
    yield seen
    event.remove(vault.engine, "before_cursor_execute", capture)


def test_the_timeline_and_playlist_query_reads_only_the_index(
        vault: Vault, captured: list[tuple[str, Any]]) -> None:
    """EXPLAIN of `spans` as the web app runs it: SQLite answers it from the covering index,
    PostgreSQL by an index-only scan (the table's pages are what made it slow at 80 M rows)."""
    sids = [_source(vault, f"cam{n}") for n in range(3)]
    with vault.transaction() as s:  # interleaved, as recorders write them
        s.execute(insert(Recording), [_row(sid, i, {"session": f"s{i // 360}"})
                                      for i in range(720) for sid in sids])
    with vault.reading() as s:
        source = s.get(Source, sids[1])
        assert source is not None
        captured.clear()
        rows = s.execute(spans(source, T0 + timedelta(minutes=30),
                               T0 + timedelta(minutes=90))).all()
    assert len(rows) == 362 and rows[0].session == "s0"
    statement, params = captured[-1]
    if vault.engine.dialect.name == "sqlite":
        with vault.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params))
        assert f"USING COVERING INDEX {NEW} " in plan, plan
        return
    with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The visibility map, as autovacuum would set it. VACUUM marks a page all-visible only
        # when no open transaction in the database may still not see its rows: another
        # session's (under pytest-xdist, another worker's test in the same database) can hold
        # that back for a moment, and the scan then fetches heap pages. VACUUM again until
        # every page is marked (a plan with heap fetches after 30 s still fails below).
        deadline = time.monotonic() + 30
        while True:
            conn.exec_driver_sql("VACUUM ANALYZE recordings")
            pages, visible = conn.exec_driver_sql(
                "SELECT relpages, relallvisible FROM pg_class "
                "WHERE oid = 'recordings'::regclass").one()
            if visible >= pages or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # a table this small would be read whole; the question is which index serves it
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        plan = " | ".join(r[0] for r in conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, params))
    # partitioned (0062): each day the period touches is read by its own copy of the index
    used = re.findall(r"Index Only Scan using (\S+) on (recordings\w*)", plan)
    assert used and all(index.startswith(NEW) or "source_id_start_at_end_at" in index
                        for index, _table in used), plan
    assert "Seq Scan" not in plan and "Bitmap" not in plan and "Index Scan using" not in plan
    assert "Heap Fetches: 0" in plan, plan


def test_postgresql_sessions_run_in_utc_and_keep_the_urls_options(vault: Vault) -> None:
    """The engine adds the session's zone to libpq's options without losing the URL's own:
    the test's schema (search_path) is such an option, and losing it would put the vault's
    tables into `public`."""
    if vault.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's session settings")
    with vault.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW timezone").scalar() == "UTC"
        assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("kt_")

