"""The sweep runs on a schedule: at each local midnight and every interval (R2.2)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from kustosz.db.models import Sweep
from kustosz.retention.scheduler import next_run, run_scheduler
from kustosz.vault import Vault


def test_next_run_is_local_midnight_when_sooner(sqlite_vault: Vault) -> None:
    # 22:50 UTC in winter is 23:50 in Warsaw: midnight comes before a 15-minute interval.
    now = datetime(2026, 12, 1, 22, 50, tzinfo=UTC)
    assert next_run(now, timedelta(minutes=15), sqlite_vault) == \
        datetime(2026, 12, 1, 23, 0, 1, tzinfo=UTC)
    early = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert next_run(early, timedelta(minutes=15), sqlite_vault) == early + timedelta(minutes=15)


def test_scheduler_sweeps_until_stopped(sqlite_vault: Vault, tmp_path: Path) -> None:
    from kustosz.index.sources import add_source
    from kustosz.ingest.files import ingest_file

    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hall", "camera", "test")
    sample = tmp_path / "a.ts"
    sample.write_bytes(b"x" * 10)
    ingest_file(sqlite_vault, "hall", sample, datetime(2020, 1, 1, tzinfo=UTC))
    stop = threading.Event()
    runs: list[int] = []

    def after(deleted: int) -> None:
        runs.append(deleted)
        if len(runs) == 2:
            stop.set()

    sqlite_vault.config.sweep_interval_minutes = 0.001
    thread = threading.Thread(target=run_scheduler, args=(sqlite_vault, stop),
                              kwargs={"on_sweep": after})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert runs[0] == 1 and runs[1] == 0  # the old item went at the first run
    with sqlite_vault.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Sweep)).scalar_one() >= 2
