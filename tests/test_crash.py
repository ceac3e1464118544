"""DESIGN invariant 5 for the sweep: kill it at random points (SIGKILL), restart, and the index
and the files agree again, with every deletion recorded exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.db.models import Deletion, Recording
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import add_source
from kustosz.vault import Vault

N = 8000


def build(root: Path) -> tuple[Vault, int]:
    """N expired one-file recordings (bulk-built: the intake path has its own tests)."""
    vault = Vault.init(root, "pleszew", actor="test")
    with vault.transaction() as s:
        src = add_source(s, vault.policy, "hall", "camera", "test")
        src.max_duration_s = 10
        s.flush()
        base = datetime(2026, 1, 1, tzinfo=UTC)
        rows = []
        for i in range(N):
            start = base + timedelta(seconds=10 * i)
            key = f"hall/2026/01/01/{i:06d}.ts"
            path = vault.storage.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(i.to_bytes(4, "big") * 64)
            rows.append({"source_id": src.id, "kind": "camera", "start_at": start,
                         "end_at": start + timedelta(seconds=10), "size": 256,
                         "sha256": vault.storage.hash_of(key), "storage_key": key, "meta": {},
                         "state": "stored", "expires_at": expiry_of(src, start, vault.policy),
                         "ingested_at": start})
        s.execute(sa.insert(Recording), rows)
    # A hold over a slice of them: it must survive every crash.
    from kustosz.custody.holds import place_hold
    from kustosz.index.sources import get_source

    with vault.transaction() as s:
        place_hold(s, sources=[get_source(s, "hall")], start=base + timedelta(seconds=5000),
                   end=base + timedelta(seconds=6000), basis="test", actor="test")
    return vault, N


def sweeps_started(root: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(root / "kustosz.db", timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM sweeps").fetchone()[0]
    finally:
        conn.close()


def agree(vault: Vault) -> tuple[int, int]:
    with vault.engine.connect() as conn:
        rows = conn.execute(sa.select(Recording.storage_key, Recording.state,
                                      Recording.sha256)).all()
        deleted = conn.execute(sa.select(sa.func.count()).select_from(Deletion)).scalar_one()
        distinct = conn.execute(sa.select(sa.func.count(sa.distinct(Deletion.recording_id))))
        assert distinct.scalar_one() == deleted, "a deletion was recorded twice"
    assert all(state == "stored" for _, state, _ in rows), "half-done rows after recovery"
    assert {k for k, _, _ in rows} == set(vault.storage.keys()), "index and files disagree"
    for key, _, sha in rows:
        assert vault.storage.hash_of(key) == sha
    return len(rows), deleted


@pytest.mark.slow
def test_sweep_killed_at_random_points_recovers(tmp_path: Path) -> None:
    vault, total = build(tmp_path / "vault")
    vault.close()
    rng = random.Random(2026)
    env = {**os.environ, "KUSTOSZ_DATA": str(tmp_path / "vault"), "KUSTOSZ_ACTOR": "crash"}
    cmd = [sys.executable, "-m", "kustosz", "retention", "run",
           "--now", "2026-06-01T00:00:00Z", "--json"]
    kills = 0
    for attempt in range(8):
        before = sweeps_started(tmp_path / "vault")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if attempt % 2:
            # Kill at a random moment after the sweep has marked its victims (unlink/finish).
            deadline = time.monotonic() + 20
            while sweeps_started(tmp_path / "vault") == before and time.monotonic() < deadline \
                    and proc.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            time.sleep(rng.uniform(0.4, 1.6))  # anywhere from start-up to the end
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        # Restart: the next start-up finishes or rolls back what the killed one left.
        vault = Vault.open(tmp_path / "vault")
        from kustosz.retention import recover

        recover(vault)
        kept, deleted = agree(vault)
        assert kept + deleted == total
        vault.close()
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert '"dry_run": false' in final.stdout
    vault = Vault.open(tmp_path / "vault")
    kept, deleted = agree(vault)
    # Held: segments touching [5000 s, 6000 s] (closed), i.e. starts 4990 s … 6000 s: 102 of them.
    assert kept == 102 and deleted == total - 102
    from kustosz.audit import verify

    with vault.reading() as s:
        assert verify(s, vault.head_file)[1] is None
    assert kills >= 1, "the sweep always finished before the kill; the test proved nothing"
