"""A restart in the middle of intake neither loses nor duplicates a call: SIGKILL of a real
`kustosz phones scan`, and failures injected between the steps of the intake protocol."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, state_of, stored_calls
from tests.conftest import make_vault

import kustosz.ingest.copies as copies
import kustosz.ingest.phone.calls_written as calls_written
import kustosz.ingest.phone.intake as intake
from kustosz.ingest.files import recover_pending
from kustosz.ingest.phone.intake import scan
from kustosz.storage.local import LocalStorage
from kustosz.vault import Vault

N = 240


def busy_day(pbx: Pbx, n: int) -> dict[str, bytes]:
    base = datetime(2026, 11, 20, 8, 0, 0)
    out = {}
    for i in range(n):
        call = PhoneCall("in", OFFICE_DID, f"600{i:06d}", base + timedelta(minutes=i),
                         f"1763622000.{i}", seconds=0.5)
        out[call.uniqueid] = pbx.record(call, pitch=200.0 + i)
        pbx.log(call, src=f"600{i:06d}", dst="201", clid=f"600{i:06d}")
    return out


def stored_count(root: Path) -> int:
    conn = sqlite3.connect(root / "kustosz.db", timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    finally:
        conn.close()


def agree(vault: Vault, originals: dict[str, bytes]) -> None:
    """Every call once, as the PBX wrote it; index and files agree; no leftovers."""
    recover_pending(vault)  # what `kustosz recover` (and serve's start-up) does
    kept = stored_calls(vault)  # raises if a call is stored twice
    assert set(kept) == set(originals)
    assert {rec.storage_key for _, rec in kept.values()} == set(vault.storage.keys())
    for uid, (_, rec) in kept.items():
        assert vault.storage.path(rec.storage_key).read_bytes() == originals[uid]
    assert state_of(vault).stored == len(originals)


@pytest.mark.slow
def test_scan_killed_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    vault = make_vault(root, "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    originals = busy_day(pbx, N)
    add_line(vault, pbx)
    vault.close()
    env = {**os.environ, "KUSTOSZ_DATA": str(root), "KUSTOSZ_ACTOR": "crash"}
    cmd = [sys.executable, "-m", "kustosz", "phones", "scan", "centrala", "--json"]
    rng = random.Random(4)
    kills = 0
    for _ in range(4):
        before = stored_count(root)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while stored_count(root) == before and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        assert stored_count(root) <= N
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    vault = Vault.open(root)
    agree(vault, originals)
    vault.close()
    assert kills >= 1, "every scan finished before the kill; the test proved nothing"


def test_failure_while_copying_leaves_nothing_half_done(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    originals = busy_day(pbx, 6)
    add_line(vault, pbx)
    real_put = LocalStorage.put_file
    calls = {"n": 0}

    def failing_put(self: LocalStorage, source: Path, key: str,  # type: ignore[no-untyped-def]
                    durable: bool = True):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk went away")
        return real_put(self, source, key, durable)

    monkeypatch.setattr(LocalStorage, "put_file", failing_put)
    # One copy at a time, so that "the third copy" is the third file of the batch.
    monkeypatch.setattr(copies, "COPY_WORKERS", 1)
    with pytest.raises(RuntimeError):
        scan(vault, "centrala", sleep=lambda _: None)
    assert len(stored_calls(vault)) == 2
    monkeypatch.setattr(LocalStorage, "put_file", real_put)
    scan(vault, "centrala", sleep=lambda _: None)
    agree(vault, originals)
    vault.close()


def test_failure_while_committing_undoes_the_copy(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    pbx = Pbx(tmp_path / "pbx")
    originals = busy_day(pbx, 6)
    add_line(vault, pbx)
    real_audit = calls_written.audit  # the audit entry written with a batch's call rows
    calls = {"n": 0}
    # Batches of three files, one audit entry each: the second batch's commit fails.
    monkeypatch.setattr(intake, "BATCH_FILES", 3)

    def failing_audit(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(calls_written, "audit", failing_audit)
    with pytest.raises(RuntimeError):
        scan(vault, "centrala", sleep=lambda _: None)
    # The second batch's copies are gone again and no pending row is left behind.
    assert len(stored_calls(vault)) == 3 and len(list(vault.storage.keys())) == 3
    assert recover_pending(vault) == 0
    monkeypatch.setattr(calls_written, "audit", real_audit)
    scan(vault, "centrala", sleep=lambda _: None)
    agree(vault, originals)
    vault.close()
