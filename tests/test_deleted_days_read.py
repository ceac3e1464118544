"""Every reader of deletions reads a day swept whole as it reads the same day swept row by row
(issue 68 item 3): the same day of one camera is swept as a partition on PostgreSQL and per
item on SQLite, and the accountability report, the forecast, the daily digest's totals, the
backup's journal and the restore applying it see the same items."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select, update

from kustosz.backup import journal
from kustosz.backup.restore_finish import _apply_deletions
from kustosz.db.deleted import (
    Which,
    bytes_recorded_since,
    day_items,
    deleted_items,
    deleted_totals,
    list_line,
)
from kustosz.db.models import Deletion, DeletionDay, Recording
from kustosz.index.expiry import expiry_of
from kustosz.index.forecast import forecast
from kustosz.index.sources import add_source
from kustosz.report import material
from kustosz.report.period import ReportPeriod
from kustosz.retention import run_sweep
from kustosz.retention.partitions import day_bounds, ensure_days
from kustosz.vault import Vault
from tests.conftest import make_vault

SEGMENTS = 30
FIRST_ID = 5000  # the same ids in both vaults, so their records compare item by item


@pytest.fixture
def both(tmp_path: Path, pg_url: str) -> Iterator[tuple[Vault, Vault]]:
    lite, pg = make_vault(tmp_path / "lite"), make_vault(tmp_path / "pg", url=pg_url)
    yield lite, pg
    lite.close()
    pg.close()


def _day(vault: Vault, day: date, files: bool = True) -> datetime:
    """SEGMENTS rows (ids from FIRST_ID) and files of one camera on ``day``; its expiry."""
    tz = vault.policy.timezone
    lo = day_bounds(day, tz)[0].replace(tzinfo=UTC)
    with vault.engine.begin() as conn:
        ensure_days(conn, tz, lo)  # nothing on SQLite
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "cam", "camera", "test")
        s.flush()
        expires = expiry_of(source, lo, vault.policy)
        s.execute(insert(Recording), [{
            "id": FIRST_ID + i, "source_id": source.id, "kind": "camera",
            "start_at": lo + timedelta(minutes=45 * i, microseconds=250 * (i % 2)),
            "end_at": lo + timedelta(minutes=45 * i + 45), "size": 3 + i,
            "sha256": f"{i:064x}" if i else None,
            "storage_key": f"cam/{day:%Y/%m/%d}/{i:04d}.ts",
            "meta": {"lines": i} if i % 3 == 0 else {}, "state": "stored",
            "expires_at": expires, "ingested_at": lo}
            for i in range(SEGMENTS)])
    if files:
        for i in range(SEGMENTS):
            path = vault.root / "media" / f"cam/{day:%Y/%m/%d}/{i:04d}.ts"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"abc")
    return expires


def _period(lo: datetime, hi: datetime) -> ReportPeriod:
    return ReportPeriod("month", "test", lo.date(), hi.date(), lo, hi)


def _view(vault: Vault, lo: datetime, day_end: datetime, now: datetime) -> dict[str, Any]:
    """What each reader says about the swept day, without the ids only one vault has."""
    with vault.reading() as s:
        items = deleted_items(s, Which())
        mid = lo + timedelta(hours=12)
        report = material.Facts(s, vault.policy, _period(lo, now + timedelta(hours=1)),
                                timedelta(minutes=vault.config.sweep_interval_minutes))
        at_end = material.Facts(s, vault.policy, _period(lo, day_end), report.sweep_every)
        gone = material.deleted(report)
        cast = forecast(s, 10**9, 10**10, now)
        count, size, sweeps = deleted_totals(s, Which(deleted_from=lo))
        rows = journal.deletions_after(s, 0)
        shown = {k: v for k, v in gone.items() if k not in ("late", "early")}
        return {
            "items": [(d.recording_id, d.source_id, d.start_at, d.end_at, d.size, d.sha256,
                       d.rule, d.deleted_at, d.entries) for d in items],
            "overlapping": len(deleted_items(s, Which(start_before=mid, end_after=mid))),
            "recorded": material.recorded(report),
            "kept_at_day_end": material.kept(at_end),
            "deleted": shown, "late": [{k: v for k, v in d.items() if k != "deletion"}
                                       for d in gone["late"] + gone["early"]],
            "forecast": (cast.in_per_day, cast.out_per_day),
            "bytes_since_mid_day": bytes_recorded_since(s, mid),
            "digest": (count, size, len(sweeps)), "journal_rows": rows}


def test_a_day_swept_whole_reads_as_the_same_day_swept_row_by_row(
        both: tuple[Vault, Vault], tmp_path: Path) -> None:
    lite, pg = both
    day = datetime.now(UTC).astimezone(pg.policy.timezone).date() + timedelta(days=5)
    lo = day_bounds(day, pg.policy.timezone)[0].replace(tzinfo=UTC)
    views = []
    for vault in (lite, pg):
        expires = _day(vault, day)
        now = expires + timedelta(hours=1)
        report = run_sweep(vault, now=now, detail=False)
        # the day's items reported as the per-item ones are (ids), and as one record
        assert sorted(d["id"] for d in report.deleted) == [FIRST_ID + i for i in range(SEGMENTS)]
        assert sum(d["count"] for d in report.deleted_days) in (0, SEGMENTS)
        with vault.transaction() as s:  # recorded at the sweep's moment, not today's
            for model in (Deletion, DeletionDay):
                s.execute(update(model).values(deleted_at=now))
        views.append(_view(vault, lo, expires, now))
    with pg.reading() as s:  # the PostgreSQL side did go as a day
        assert s.execute(select(func.count()).select_from(DeletionDay)).scalar_one() == 1
    rows = [v.pop("journal_rows") for v in views]
    assert views[0] == views[1]
    assert len(views[1]["items"]) == SEGMENTS and views[1]["deleted"]["count"] == SEGMENTS
    assert views[1]["recorded"][0]["items"] == SEGMENTS
    assert views[1]["kept_at_day_end"][0]["items"] == SEGMENTS
    assert views[1]["digest"][:2] == (SEGMENTS, sum(3 + i for i in range(SEGMENTS)))

    # The backup's journal: the day is one signed line, read back as its items; a restore
    # of a vault that still holds the day deletes exactly them.
    key = Ed25519PrivateKey.generate()
    per_item: list[set[int]] = []
    for n, got in enumerate(rows):
        folder = tmp_path / f"backup{n}"
        folder.mkdir()
        lines, chain = journal.chained(got, "b1", key, journal.anchor("b1"))
        journal.append(folder, lines)
        journal.write_head(folder, "b1", chain, key)
        assert journal._last_id(folder) == max(r.id for r in got)
        read = journal.read(folder, "b1", key.public_key()).lines
        per_item.append({int(d["recording_id"]) for d in read})
        assert {d["rule"] for d in read} == {views[0]["items"][0][6]}
    assert len(rows[1]) == 1 and per_item[0] == per_item[1] == {
        FIRST_ID + i for i in range(SEGMENTS)}
    restored = make_vault(tmp_path / "restored")
    try:
        _day(restored, day, files=False)
        assert _apply_deletions(restored, read, "b1", "test") == SEGMENTS
        with restored.reading() as s:
            assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
    finally:
        restored.close()


def test_a_list_line_keeps_every_fact_of_an_item() -> None:
    start = datetime(2026, 3, 29, 0, 59, 58, 250000, tzinfo=UTC)
    body = (list_line(7, "ab" * 32, 10, start, start + timedelta(seconds=8), 41)
            + list_line(8, None, 0, start, start, None)).encode()
    row = DeletionDay(id=3, sweep_id=2, source_id=1, day=start.date(), count=2, size=10,
                      first_start=start, last_end=start, rule="r", deleted_at=start,
                      list_sha256="", listing=gzip.compress(body))
    got = [(d.recording_id, d.sha256, d.size, d.start_at, d.end_at, d.entries)
           for d in day_items(row)]
    assert got == [(7, "ab" * 32, 10, start, start + timedelta(seconds=8), 41),
                   (8, None, 0, start, start, None)]

