"""The index's days made ahead (issue 68 item 3, PostgreSQL): at the start of `serve` (and of
the sweeper: `recover`) and before every scheduled sweep, so that in normal use no recording
lands in the default partition; a day whose rows did land there (nothing ran to make it) is
made from them, and then goes whole like any other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from kustosz.db.models import DeletionDay, Recording
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.retention import run_sweep
from kustosz.retention.partitions import AHEAD_DAYS, day_bounds, existing_days, make_days
from kustosz.retention.scheduler import run_scheduler
from kustosz.retention.sweep import recover
from kustosz.vault import Vault
from tests.conftest import make_vault


@pytest.fixture
def pg_vault(tmp_path: Path, pg_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", url=pg_url)
    yield v
    v.close()


def _days(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return {d.isoformat() for d in existing_days(conn)}


def test_serve_start_and_the_scheduler_make_the_days_ahead(pg_vault: Vault) -> None:
    vault = pg_vault
    tz = vault.policy.timezone
    today = datetime.now(UTC).astimezone(tz).date()
    ahead = [today + timedelta(days=n) for n in (3, AHEAD_DAYS)]
    recover(vault)  # as serve's start does (kustosz.cli.serve.recover_all)
    assert {(today + timedelta(days=n)).isoformat() for n in range(3, AHEAD_DAYS + 1)} \
        <= _days(vault)
    with vault.engine.begin() as conn:
        for day in ahead:
            conn.execute(text(f"DROP TABLE recordings_d{day:%Y%m%d}"))
    assert not {d.isoformat() for d in ahead} & _days(vault)
    recover(vault)
    assert {d.isoformat() for d in ahead} <= _days(vault)

    with vault.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE recordings_d{ahead[0]:%Y%m%d}"))
    stop = threading.Event()
    swept: list[int] = []

    def once(deleted: int) -> None:
        swept.append(deleted)
        stop.set()

    run_scheduler(vault, stop, on_sweep=once)
    assert swept and ahead[0].isoformat() in _days(vault)


def test_rows_that_landed_in_the_default_get_their_day_and_it_goes_whole(
        pg_vault: Vault) -> None:
    vault = pg_vault
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=AHEAD_DAYS + 5)
    lo = day_bounds(day, tz)[0].replace(tzinfo=UTC)
    with vault.transaction() as s:  # beyond the days made: the default takes them
        source = add_source(s, vault.policy, "cam", "camera", "test")
        s.flush()
        expires = expiry_of(source, lo, vault.policy)
        s.execute(insert(Recording), [{
            "source_id": source.id, "kind": "camera", "start_at": lo + timedelta(hours=i),
            "end_at": lo + timedelta(hours=i, minutes=10), "size": 3, "sha256": f"{i:064x}",
            "storage_key": f"cam/{day:%Y/%m/%d}/{i:04d}.ts", "meta": {}, "state": "stored",
            "expires_at": expires, "ingested_at": lo} for i in range(5)])
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM recordings_rest")).scalar_one() == 5
    assert day in make_days(vault, lo)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM recordings_rest")).scalar_one() == 0
        assert conn.execute(text(f"SELECT count(*) FROM recordings_d{day:%Y%m%d}")
                            ).scalar_one() == 5
    report = run_sweep(vault, now=expires + timedelta(hours=1), detail=False)
    assert [d["count"] for d in report.deleted_days] == [5]
    with vault.reading() as s:
        assert s.query(DeletionDay).count() == 1 and s.query(Recording).count() == 0
