"""Re-dating on a store that keeps a lock (issue 16 leftovers): redate_all reads the rows whose
end moved a page at a time (keyset on the id), never the whole index at once, and still
lengthens every object's retention. The memory store enforces the lock as S3 does; SQLite
and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kustosz.db.models import Recording
from kustosz.holds import object_lock
from kustosz.index.expiry import redate_all
from kustosz.index.sources import add_source
from kustosz.policy import Period
from kustosz.storage.memory import MemoryStorage
from kustosz.vault import Vault

ROWS = 2_500
BATCH = 400


def test_redating_many_rows_lengthens_every_object_in_bounded_pages(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=2)  # two days of material, five per minute
    old_end = now + timedelta(days=10)
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "hall", "camera", "test")
        rows = []
        for i in range(ROWS):
            key = f"camera/hall/{i:05d}.ts"
            got = store.put(key, io.BytesIO(b"\x47" * 188), retain_until=old_end)
            at = start + timedelta(seconds=12 * i)
            rows.append({"source_id": source.id, "kind": "camera", "start_at": at,
                         "end_at": at + timedelta(seconds=12), "size": 188,
                         "sha256": got.sha256, "storage_key": key, "state": "stored",
                         "expires_at": old_end, "ingested_at": at,
                         "version_id": got.version_id})
        s.execute(sa.insert(Recording), rows)
    pages: list[int] = []
    real = object_lock.lengthen

    def counting(session, changed):  # type: ignore[no-untyped-def]
        changed = list(changed)
        pages.append(len(changed))
        return real(session, changed)

    monkeypatch.setattr(object_lock, "lengthen", counting)
    # a longer period, within the law's cap the expiry holds video to (issue 66 item 2)
    policy = dataclasses.replace(vault.policy, retention={**vault.policy.retention,
                                                         "camera": Period.parse("3 months")})
    with vault.transaction() as s:
        changed = redate_all(s, policy, batch=BATCH)
    assert changed == ROWS
    # every row read in pages of at most BATCH: at least ROWS / BATCH of them, none larger
    assert pages and max(pages) <= BATCH and sum(pages) == ROWS
    assert len(pages) >= ROWS // BATCH
    with vault.reading() as s:
        ends = dict(s.execute(sa.select(Recording.storage_key, Recording.expires_at)).all())
    assert all(store.lock_of(key).retain_until == end for key, end in ends.items())
    assert all(end > old_end + timedelta(days=60) for end in ends.values())


def test_redating_to_a_shorter_period_reads_nothing_to_lengthen(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    now = datetime.now(UTC).replace(microsecond=0)
    far = now + timedelta(days=900)
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "hall", "camera", "test")
        got = store.put("camera/hall/a.ts", io.BytesIO(b"x"), retain_until=far)
        s.add(Recording(source_id=source.id, kind="camera", start_at=now, end_at=now,
                        size=1, sha256=got.sha256, storage_key="camera/hall/a.ts",
                        state="stored", expires_at=far, ingested_at=now,
                        version_id=got.version_id))
    calls: list[int] = []
    monkeypatch.setattr(object_lock, "lengthen", lambda s, c: calls.append(len(list(c))))
    with vault.transaction() as s:
        assert redate_all(s, vault.policy) == 1
    assert calls == []  # the end moved earlier: the object keeps its longer lock
    assert store.lock_of("camera/hall/a.ts").retain_until == far


def test_a_sources_days_without_material_cost_no_update(vault: Vault) -> None:
    """Three recordings a year apart in all: each is re-dated from its own local day, and the
    days between them are skipped, not updated one by one (issue 52 item 7: the retention
    property test re-dated four months of empty days at every change of the policy)."""
    from kustosz.index.expiry import expiry_of

    now = datetime.now(UTC).replace(microsecond=0)
    starts = [now - timedelta(days=400), now - timedelta(days=200, hours=5), now]
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "hall", "camera", "test")
        s.execute(sa.insert(Recording), [
            {"source_id": source.id, "kind": "camera", "start_at": at,
             "end_at": at + timedelta(seconds=10), "size": 1, "sha256": "0" * 64,
             "storage_key": f"camera/hall/{n}.ts", "state": "stored", "expires_at": at,
             "ingested_at": at} for n, at in enumerate(starts)])
    # a longer period, within the law's cap the expiry holds video to (issue 66 item 2)
    policy = dataclasses.replace(vault.policy, retention={**vault.policy.retention,
                                                         "camera": Period.parse("3 months")})
    updates: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    sa.event.listen(vault.engine, "before_cursor_execute", count)
    try:
        with vault.transaction() as s:
            assert redate_all(s, policy) == 3
    finally:
        sa.event.remove(vault.engine, "before_cursor_execute", count)
    # one a day with material, and the first day of each stretch without (401 before)
    assert len(updates) <= 2 * len(starts) - 1, len(updates)
    with vault.reading() as s:
        source = s.get(type(source), source.id)
        got = dict(s.execute(sa.select(Recording.storage_key, Recording.expires_at)).all())
        for n, at in enumerate(starts):
            assert got[f"camera/hall/{n}.ts"] == expiry_of(source, at, policy), n


def test_the_legal_holds_job_reads_its_rows_a_page_at_a_time(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """hold.legal_holds over many rows: pages of at most PAGE rows (keyset on the id), every
    covered object under legal hold at the end (the memory store enforces the lock)."""
    from kustosz import jobs
    from kustosz.custody.holds import place_hold
    from kustosz.holds.object_lock import jobs_queued

    store = MemoryStorage(vault.root / "tmp")
    vault.storage = store
    now = datetime.now(UTC).replace(microsecond=0)
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "hall", "camera", "test")
        rows = []
        for i in range(23):
            key = f"camera/hall/{i:03d}.ts"
            got = store.put(key, io.BytesIO(b"\x47" * 188), retain_until=now + timedelta(days=30))
            at = now - timedelta(hours=2) + timedelta(minutes=i)
            rows.append({"source_id": source.id, "kind": "camera", "start_at": at,
                         "end_at": at + timedelta(seconds=10), "size": 188,
                         "sha256": got.sha256, "storage_key": key, "state": "stored",
                         "expires_at": now + timedelta(days=30), "ingested_at": at,
                         "version_id": got.version_id})
        s.execute(sa.insert(Recording), rows)
    pages: list[int] = []
    real = object_lock._objects

    def counting(session, condition, limit=None):  # type: ignore[no-untyped-def]
        found = real(session, condition, limit)
        if limit is not None:
            pages.append(len(found))
        return found

    monkeypatch.setattr(object_lock, "PAGE", 5)
    monkeypatch.setattr(object_lock, "_objects", counting)
    with vault.transaction() as s:
        place_hold(s, sources=[source], start=now - timedelta(days=1), end=now,
                   basis="wniosek policji", actor="anna")
    [job_id] = jobs_queued(s)  # no worker here: the job ran in the caller, after the commit
    view = jobs.get(vault, job_id)
    assert view.state == "done" and view.result["objects"] == 23
    assert pages == [5, 5, 5, 5, 3]
    assert all(store.lock_of(r["storage_key"]).legal_hold for r in rows)
