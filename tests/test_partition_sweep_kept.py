"""What a day swept as a partition keeps, and how it is told (issue 68 item 3, PostgreSQL):
an object store whose lock still holds some of the day's versions keeps those rows in the
index and out of the day's record; a day the audit log keeps back goes row by row and is
kept. Either is told by the `retention_disagrees` alert, Polish first, folded per source,
and `audit verify` passes after both. The audit log's record, asked once per source and day,
finds what asking it row by row finds."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import and_, insert, select

from kustosz.audit.verifier import verify
from kustosz.custody.holds import place_hold
from kustosz.db.models import Alert, AuditEntry, DeletionDay, Recording, Source
from kustosz.holds.record import VICTIM_FACTS, disagreements
from kustosz.holds.record_days import day_disagreements
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.retention import run_sweep
from kustosz.retention.day_sweep import check_record
from kustosz.retention.partitions import day_bounds, ensure_days
from kustosz.storage.memory import MemoryStorage
from kustosz.vault import Vault
from tests.conftest import make_vault

SEGMENTS = 20


@pytest.fixture
def pg_vault(tmp_path: Path, pg_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", url=pg_url)
    yield v
    v.close()


def _day(vault: Vault, store: MemoryStorage, locked: int, expires_in: timedelta | None
         ) -> tuple[datetime, list[int]]:
    """SEGMENTS items of one camera on a day 5 days ahead, in ``store``; the first
    ``locked`` retained by the store's lock until a year on. ``expires_in``: the index's
    expiry, when not the policy's (the audit log keeps the policy's). Returns the expiry
    and the ids."""
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=5)
    lo = day_bounds(day, tz)[0].replace(tzinfo=UTC)
    with vault.engine.begin() as conn:
        ensure_days(conn, tz, lo)
    rows = []
    for i in range(SEGMENTS):
        key = f"cam/{day:%Y/%m/%d}/{i:04d}.ts"
        until = lo + timedelta(days=365) if i < locked else None
        stored = store.put(key, io.BytesIO(b"abc"), retain_until=until)
        rows.append({"storage_key": key, "version_id": stored.version_id, "sha256":
                     stored.sha256, "start_at": lo + timedelta(minutes=60 * i),
                     "end_at": lo + timedelta(minutes=60 * i + 60)})
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "cam", "camera", "test")
        s.flush()
        expires = lo + expires_in if expires_in else expiry_of(source, lo, vault.policy)
        s.execute(insert(Recording), [{
            **r, "source_id": source.id, "kind": "camera", "size": 3, "meta": {},
            "state": "stored", "expires_at": expires, "ingested_at": lo} for r in rows])
        ids = list(s.execute(select(Recording.id).order_by(Recording.id)).scalars())
    return expires, ids


def _alerts(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == "retention_disagrees", Alert.cleared_at.is_(None))).scalars())


def test_versions_the_store_still_locks_stay_indexed_and_out_of_the_record(
        pg_vault: Vault) -> None:
    vault = pg_vault
    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    expires, ids = _day(vault, store, locked=2, expires_in=None)
    report = run_sweep(vault, now=expires + timedelta(hours=1), detail=False)
    assert [d["count"] for d in report.deleted_days] == [SEGMENTS - 2]
    assert sorted(d["id"] for d in report.deleted) == ids[2:]  # the kept two not among them
    with vault.reading() as s:
        left = list(s.execute(select(Recording.id, Recording.state)
                              .order_by(Recording.id)).all())
        record = s.execute(select(DeletionDay)).scalar_one()
        refused = s.execute(select(AuditEntry).where(
            AuditEntry.action == "sweep.refused")).scalars().all()
        assert verify(s)[1] is None
    assert [(r.id, r.state) for r in left] == [(rid, "stored") for rid in ids[:2]]
    assert record.count == SEGMENTS - 2 and check_record(record) is None
    assert sorted(k.rsplit("/", 1)[1] for k in store.iterate()) == ["0000.ts", "0001.ts"]
    assert len(refused) == 1
    (message,) = _alerts(vault)
    assert message.startswith("Usuwanie po terminie wstrzymało usunięcie nagrań (2;")
    assert "według źródeł: cam: 2" in message and "/ The sweep kept 2" in message
    assert message.index("według źródeł") < message.index("by source: cam: 2")


def test_a_day_the_audit_log_keeps_goes_row_by_row_and_is_told_per_source(
        pg_vault: Vault) -> None:
    vault = pg_vault
    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    # The index says one day, the audit log's record the policy's period: all are kept back.
    expires, ids = _day(vault, store, locked=0, expires_in=timedelta(days=1))
    report = run_sweep(vault, now=expires + timedelta(hours=1), detail=False)
    assert report.deleted_days == [] and report.deleted == []
    assert sorted(report.refused) == ids
    with vault.reading() as s:
        assert s.execute(select(DeletionDay)).first() is None
        assert verify(s)[1] is None
    assert len(list(store.iterate())) == SEGMENTS
    (message,) = _alerts(vault)
    assert f"({SEGMENTS}; nr" in message and f"według źródeł: cam: {SEGMENTS}" in message


def test_the_record_asked_per_source_and_day_finds_what_asking_per_row_finds(
        pg_vault: Vault) -> None:
    vault = pg_vault
    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    expires, ids = _day(vault, store, locked=0, expires_in=None)
    tz = vault.policy.timezone
    lo, hi = (t.replace(tzinfo=UTC) for t in day_bounds(
        datetime.now(UTC).astimezone(tz).date() + timedelta(days=5), tz))
    in_day = and_(Recording.start_at >= lo, Recording.start_at < hi)

    def both(now: datetime) -> tuple[list[int], list[int]]:
        with vault.reading() as s:
            rows = s.execute(select(*VICTIM_FACTS).where(in_day)).all()
            return (sorted(d.id for d in day_disagreements(vault, s, in_day, now)),
                    sorted(d.id for d in disagreements(vault, s, (), now, True, rows=rows)))

    after, before = expires + timedelta(hours=1), expires - timedelta(hours=1)
    assert both(after) == ([], []) and both(before) == (ids, ids)
    with vault.transaction() as s:  # two hours of the day by range, one item by id
        source = s.execute(select(Source)).scalar_one()
        place_hold(s, sources=[source], start=lo + timedelta(hours=3),
                   end=lo + timedelta(hours=4, minutes=30), basis="sprawa 2", actor="test")
        place_hold(s, sources=[], start=None, end=None, basis="sprawa 3", actor="test",
                   items=[ids[10]])
    found, per_row = both(after)
    assert found == per_row == sorted([*ids[2:5], ids[10]])
