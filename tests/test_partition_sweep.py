"""Retention as partitions (issue 68 item 3, PostgreSQL): an expired local day goes as its
partition, the held rows and their files stay, the deletion is one record per source and day
whose list is checked against its digest, and a sweep cut between detach and drop is finished
by the next start."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Interval, func, insert, literal, select, text, update
from sqlalchemy.orm import object_session

from kustosz.audit import deletion_days
from kustosz.audit.deletion_days import record_problem
from kustosz.audit.verifier import verify
from kustosz.custody.holds import place_hold
from kustosz.db.deleted import list_line
from kustosz.db.models import DeletionDay, PartitionSweep, Recording, Source
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.retention import day_sweep, run_sweep
from kustosz.retention.day_sweep import DaysResult, _detach, check_record
from kustosz.retention.partitions import day_bounds, ensure_days, partition_name
from kustosz.retention.sweep import recover
from kustosz.vault import Vault
from tests.conftest import make_vault

SEGMENTS = 40


@pytest.fixture
def pg_vault(tmp_path: Path, pg_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", url=pg_url)
    yield v
    v.close()


def _day_of_segments(vault: Vault, name: str = "cam"
                     ) -> tuple[Source, datetime, list[tuple[int, str]]]:
    """A local day 5 days ahead (past the legacy partition), its partition, SEGMENTS rows and
    files of one camera; returns the source, the day's expiry, the rows."""
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=5)
    lo = day_bounds(day, tz)[0].replace(tzinfo=UTC)
    with vault.engine.begin() as conn:
        ensure_days(conn, tz, lo)
    with vault.transaction() as s:
        source = add_source(s, vault.policy, name, "camera", "test")
        s.flush()
        expires = expiry_of(source, lo, vault.policy)  # the day's, as the audit log has it
        s.execute(insert(Recording), [{
            "source_id": source.id, "kind": "camera",
            "start_at": lo + timedelta(minutes=10 * i),
            "end_at": lo + timedelta(minutes=10 * i + 10), "size": 3, "sha256": f"{i:064x}",
            "storage_key": f"{name}/{day:%Y/%m/%d}/{i:04d}.ts", "meta": {}, "state": "stored",
            "expires_at": expires, "ingested_at": lo} for i in range(SEGMENTS)])
        rows = list(s.execute(select(Recording.id, Recording.storage_key).where(
            Recording.source_id == source.id).order_by(Recording.id)).all())
        s.expunge(source)
    for _rid, key in rows:
        path = vault.root / "media" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"abc")
    with vault.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {partition_name(day)} "
                                 "WHERE source_id = :s"), {"s": source.id}).scalar_one() \
            == SEGMENTS
    return source, expires, [(r.id, r.storage_key) for r in rows]


def test_the_day_goes_as_a_partition_and_the_held_rows_and_files_stay(pg_vault: Vault) -> None:
    vault = pg_vault
    source, end, rows = _day_of_segments(vault)
    held = [rid for rid, _key in rows[:3]]
    with vault.transaction() as s:
        place_hold(s, sources=[], start=None, end=None, basis="sprawa 1", actor="test",
                   items=held)
    report = run_sweep(vault, now=end + timedelta(hours=1), detail=False)
    assert [d["count"] for d in report.deleted_days] == [SEGMENTS - 3]
    with vault.reading() as s:
        left = set(s.execute(select(Recording.id).where(
            Recording.source_id == source.id)).scalars())
        record = s.execute(select(DeletionDay)).scalar_one()
        assert s.execute(select(func.count()).select_from(PartitionSweep).where(
            PartitionSweep.state != "dropped")).scalar_one() == 0
        assert verify(s)[1] is None
    assert left == set(held)
    assert [(vault.root / "media" / key).exists() for _rid, key in rows] == \
        [rid in held for rid, _key in rows]
    assert record.count == SEGMENTS - 3 and check_record(record) is None


def test_a_changed_list_fails_its_digest(pg_vault: Vault) -> None:
    vault = pg_vault
    _source, end, _rows = _day_of_segments(vault)
    run_sweep(vault, now=end + timedelta(hours=1), detail=False)
    with vault.transaction() as s:
        record = s.execute(select(DeletionDay)).scalar_one()
        body = gzip.decompress(record.listing)
        first = body.split(b"\n", 1)[0]
        record.listing = gzip.compress(body.replace(first + b"\n", b"", 1))  # one item removed
        assert check_record(record) is not None
        record.listing = gzip.compress(body.replace(b":3:", b":4:", 1))  # one size changed
        assert check_record(record) is not None
    with vault.reading() as s:
        problem = verify(s)[1]
    assert problem is not None and "deletion record" in str(problem)
    with vault.transaction() as s:  # list and digest changed together: the sweep's entry
        record = s.execute(select(DeletionDay)).scalar_one()
        changed = body.replace(first + b"\n", b"", 1)
        record.listing, record.count = gzip.compress(changed), record.count - 1
        record.list_sha256 = hashlib.sha256(changed).hexdigest()
        assert check_record(record) is None
    with vault.reading() as s:
        problem = verify(s)[1]
    assert problem is not None and "digest its entry sealed" in str(problem)


def test_audit_verify_reads_the_day_records_a_page_at_a_time(
        pg_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year of day records is too much to hold at once: `audit verify` holds a page of
    them, and a changed list on the last page is found all the same."""
    vault = pg_vault
    for name in ("wejscie", "hol", "parking", "sala-obrad"):
        _source, end, _rows = _day_of_segments(vault, name)
    run_sweep(vault, now=end + timedelta(hours=1), detail=False)
    held: list[int] = []

    def counting(row: DeletionDay) -> str | None:
        session = object_session(row)
        assert session is not None
        held.append(len(session.identity_map))
        return record_problem(row)

    monkeypatch.setattr(deletion_days, "RECORDS_PAGE", 3)
    monkeypatch.setattr(deletion_days, "record_problem", counting)
    with vault.reading() as s:
        assert verify(s)[1] is None
    assert len(held) == 4 and max(held) == 3
    with vault.transaction() as s:
        last = s.execute(select(DeletionDay).order_by(DeletionDay.id.desc()).limit(1)
                         ).scalar_one()
        body = gzip.decompress(last.listing)
        last.listing = gzip.compress(body.replace(b":3:", b":4:", 1))
        last_id = last.id
    with vault.reading() as s:
        problem = verify(s)[1]
    assert problem is not None and f"deletion record {last_id}:" in str(problem)


def test_a_sweep_cut_between_detach_and_drop_is_finished_by_the_next_start(
        pg_vault: Vault) -> None:
    vault = pg_vault
    _source, end, rows = _day_of_segments(vault)
    now = end + timedelta(hours=1)
    day = datetime.now(UTC).astimezone(vault.policy.timezone).date() + timedelta(days=5)
    gone = _detach(vault, 77, day, now, DaysResult())  # step 1 committed, then killed
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
    assert all((vault.root / "media" / key).exists() for _rid, key in rows)
    recover(vault)
    with vault.reading() as s:
        state = s.execute(select(PartitionSweep.state)).scalar_one()
        record = s.execute(select(DeletionDay)).scalar_one()
        still = s.execute(text("SELECT to_regclass(:n)"), {"n": gone}).scalar()
    assert state == "dropped" and still is None
    assert record.count == SEGMENTS and check_record(record) is None
    assert not any((vault.root / "media" / key).exists() for _rid, key in rows)


def test_a_row_indexed_into_the_day_while_its_record_is_asked_is_asked_too(
        pg_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A late segment indexed into the day after the audit log's record was asked and before
    the lock was never asked whether the record keeps it: the day goes row by row instead."""
    vault = pg_vault
    source, end, rows = _day_of_segments(vault)
    asked = day_sweep.day_disagreements
    late = f"cam/late/{'żółć'}.ts"

    def asked_then_a_late_row(*args: object, **kw: object) -> object:
        answer = asked(*args, **kw)  # type: ignore[arg-type]
        with vault.transaction() as s:
            first = s.get(Recording, rows[0][0])
            assert first is not None
            s.execute(insert(Recording), [{
                "source_id": source.id, "kind": "camera",
                "start_at": first.start_at + timedelta(seconds=5),
                "end_at": first.start_at + timedelta(seconds=9), "size": 3,
                "sha256": "f" * 64, "storage_key": late, "meta": {}, "state": "stored",
                "expires_at": first.expires_at, "ingested_at": first.start_at}])
        (vault.root / "media" / late).parent.mkdir(parents=True, exist_ok=True)
        (vault.root / "media" / late).write_bytes(b"abc")
        return answer

    monkeypatch.setattr(day_sweep, "day_disagreements", asked_then_a_late_row)
    report = run_sweep(vault, now=end + timedelta(hours=1), detail=False)
    assert report.deleted_days == []  # not as a partition: a row of it was not asked
    with vault.reading() as s:
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(DeletionDay)).scalar_one() == 0
        assert verify(s)[1] is None
    assert len(report.deleted) == SEGMENTS + 1  # each asked and deleted row by row
    assert not (vault.root / "media" / late).exists()


def test_the_list_the_database_writes_is_list_line_for_every_row_whatever_the_datestyle(
        tmp_path: Path, pg_url: str) -> None:
    """The day's list is built by the server (`day_sweep._iso`), checked by Python
    (`db.deleted.list_line`): the same text to the byte, for whole seconds and every width of
    a fraction, with or without an entry count, on a connection whose DateStyle is not ISO
    (a database set for Polish dates), and in id order from a day whose rows lie in the
    table in reverse (`day_sweep._BY_ID` aggregates them in the order they are read)."""
    url = pg_url.replace("options=", "options=-cDateStyle%3DSQL%2CDMY%20", 1)
    vault = make_vault(tmp_path / "vault", url=url)
    try:
        with vault.engine.connect() as conn:
            assert conn.execute(text("SHOW DateStyle")).scalar_one() == "SQL, DMY"
        _source, end, rows = _day_of_segments(vault)
        fractions = [0, 1, 10, 500_000, 123_456, 999_999, 100_000]
        with vault.transaction() as s:  # last id first: the rows' new versions in reverse
            for i, (rid, _key) in reversed(list(enumerate(rows))):
                s.execute(update(Recording).where(Recording.id == rid).values(
                    start_at=Recording.start_at + literal(timedelta(
                        microseconds=fractions[i % len(fractions)]), Interval()),
                    end_at=Recording.end_at + literal(timedelta(
                        microseconds=fractions[(i + 3) % len(fractions)]), Interval()),
                    meta={"lines": i * 7} if i % 2 else {}))
        with vault.reading() as s:  # the list's id order is the sweep's, not the heap's
            heap = s.execute(text("SELECT array_agg(id ORDER BY ctid) FROM recordings")).scalar()
            assert heap == sorted(heap, reverse=True)
            expected = "".join(list_line(
                r.id, r.sha256, r.size, r.start_at, r.end_at, r.meta.get("lines"))
                for r in s.execute(select(Recording).order_by(Recording.id)).scalars())
        run_sweep(vault, now=end + timedelta(hours=1), detail=False)
        with vault.reading() as s:
            record = s.execute(select(DeletionDay)).scalar_one()
            assert verify(s)[1] is None
        assert gzip.decompress(record.listing).decode() == expected
        assert ".000001+00:00:" in expected and ".500000+00:00:" in expected
        assert check_record(record) is None
    finally:
        vault.close()
