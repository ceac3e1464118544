"""The day sweep's crash procedure (issue 68 item 3, docs/design.md "Retention as partitions"):
a real process sweeping a day as a partition is SIGKILLed inside and after each step; the
next start (`recover`, as serve's) and the next sweep leave the day swept exactly once — its
rows out of the index, its files gone, one record per source and day counting every item,
no detached table left — and `audit verify` passes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from kustosz.audit.verifier import verify
from kustosz.db.models import Deletion, DeletionDay, PartitionSweep, Recording
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.retention import recover, run_sweep
from kustosz.retention.partitions import day_bounds, ensure_days
from kustosz.vault import Vault
from tests.conftest import make_vault

SEGMENTS = 60
CHILD = Path(__file__).with_name("day_sweep_kill_child.py")
POINTS = ["inside_detach", "after_detach", "inside_record", "mid_unlink", "before_drop",
          "inside_drop", "after_drop"]


@pytest.fixture
def pg_root(tmp_path: Path, pg_url: str) -> Iterator[tuple[Path, datetime]]:
    """A vault on PostgreSQL with one expired-to-be day of one camera; its root and the
    moment that day has expired."""
    vault = make_vault(tmp_path / "vault", url=pg_url)
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=5)
    lo = day_bounds(day, tz)[0].replace(tzinfo=UTC)
    with vault.engine.begin() as conn:
        ensure_days(conn, tz, lo)
    with vault.transaction() as s:
        source = add_source(s, vault.policy, "cam", "camera", "test")
        s.flush()
        expires = expiry_of(source, lo, vault.policy)
        s.execute(insert(Recording), [{
            "source_id": source.id, "kind": "camera", "start_at": lo + timedelta(minutes=20 * i),
            "end_at": lo + timedelta(minutes=20 * i + 20), "size": 3, "sha256": f"{i:064x}",
            "storage_key": f"cam/{day:%Y/%m/%d}/{i:04d}.ts", "meta": {}, "state": "stored",
            "expires_at": expires, "ingested_at": lo} for i in range(SEGMENTS)])
    for i in range(SEGMENTS):
        path = vault.root / "media" / f"cam/{day:%Y/%m/%d}/{i:04d}.ts"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"abc")
    vault.close()
    yield tmp_path / "vault", expires + timedelta(hours=1)


@pytest.mark.parametrize("point", POINTS)
def test_a_day_sweep_killed_at_each_step_ends_swept_exactly_once(
        pg_root: tuple[Path, datetime], point: str) -> None:
    root, now = pg_root
    child = subprocess.run([sys.executable, str(CHILD), str(root), now.isoformat(), point],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    vault = Vault.open(root, actor="test")
    try:
        recover(vault)  # the next start
        run_sweep(vault, now=now, detail=False)  # and the next sweep
        with vault.reading() as s:
            assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
            days = list(s.execute(select(DeletionDay)).scalars())
            per_item = s.execute(select(func.count()).select_from(Deletion)).scalar_one()
            assert s.execute(select(func.count()).select_from(PartitionSweep).where(
                PartitionSweep.state != "dropped")).scalar_one() == 0
            assert s.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                  "'recordings_gone_%'")).scalar_one() == 0
            assert verify(s, vault.head_file)[1] is None
        assert [d.count for d in days] == [SEGMENTS] and per_item == 0
        assert not [p for p in (root / "media").rglob("*.ts")]
    finally:
        vault.close()
