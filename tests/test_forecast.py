"""The dashboard's storage forecast (R6.3): net growth of the last 7 days against free space."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kustosz.index.forecast import forecast
from kustosz.index.sources import add_source
from kustosz.ingest.files import ingest_file
from kustosz.retention import run_sweep
from kustosz.vault import Vault


def test_forecast_from_intake_and_deletions(sqlite_vault: Vault, tmp_path: Path) -> None:
    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hall", "camera", "test")
    now = datetime.now(UTC)
    sample = tmp_path / "seg.ts"
    sample.write_bytes(b"x" * 7000)
    ingest_file(sqlite_vault, "hall", sample, now - timedelta(hours=1))  # this week: 7000 B
    sample.write_bytes(b"y" * 1400)
    ingest_file(sqlite_vault, "hall", sample, now - timedelta(days=60))  # old, expired
    run_sweep(sqlite_vault, now)  # deletes the 1400 B item this week
    with sqlite_vault.reading() as s:
        f = forecast(s, free_bytes=56_000, total_bytes=100_000, now=now)
    assert f.stored_bytes == 7000
    assert f.in_per_day == 7000 / 7  # recorded this week; the old item is a backfill
    assert f.out_per_day == 1400 / 7
    assert f.days_left == 56_000 / ((7000 - 1400) / 7)
    with sqlite_vault.reading() as s:
        steady = forecast(s, 56_000, 100_000, now + timedelta(days=30))
    assert steady.days_left is None  # nothing came in for a week: the disk does not fill
