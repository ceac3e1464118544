"""kill -9 of a real `kustosz phones scan` in the middle of a batch (issue 18 item 3): after
the batch's pending rows were committed and while its copies are being written, before the
commit that makes them stored. Nothing of the batch may be half taken — no call row, spool
mark or stored recording without the others — and recovery plus the next scan take every
file exactly once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import wave
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, stored_calls
from tests.conftest import make_vault

from kustosz.db.calls import Call, PhoneSpoolItem
from kustosz.db.models import Recording
from kustosz.ingest.files import recover_pending
from kustosz.states import RecordingState, SpoolOutcome
from kustosz.vault import Vault

N = 400
SECONDS = 40  # 640 kB a file: a batch's copies take long enough to be caught in the middle


def long_day(pbx: Pbx) -> dict[str, bytes]:
    """N real 8 kHz 16-bit mono WAV recordings, each with its own samples, and their CDR."""
    rng = random.Random(18)
    noise = rng.randbytes(2 * 8000 * SECONDS + 2 * N)
    base = datetime(2026, 11, 20, 8, 0, 0)
    out = {}
    for i in range(N):
        call = PhoneCall("in", OFFICE_DID, f"600{i:06d}", base + timedelta(minutes=i),
                         f"1763622000.{i}", seconds=SECONDS)
        path = pbx.spool / call.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(noise[2 * i:2 * i + 2 * 8000 * SECONDS])
        out[call.uniqueid] = path.read_bytes()
        pbx.log(call, src=f"600{i:06d}", dst="201", clid=f"600{i:06d}")
    return out


def counts(engine: sa.Engine) -> tuple[int, int]:
    """(pending recordings, stored recordings) as another connection sees them."""
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(Recording.state, sa.func.count())
                                 .group_by(Recording.state)).all())
    return rows.get(RecordingState.PENDING, 0), rows.get(RecordingState.STORED, 0)


def nothing_half_taken(vault: Vault) -> None:
    """Calls, spool marks and stored recordings agree, one to one."""
    with vault.reading() as s:
        stored = set(s.execute(sa.select(Recording.id)
                               .where(Recording.state == RecordingState.STORED)).scalars())
        called = set(s.execute(sa.select(Call.recording_id)).scalars())
        marked = s.execute(sa.select(sa.func.count()).select_from(PhoneSpoolItem)
                           .where(PhoneSpoolItem.outcome == SpoolOutcome.STORED)).scalar()
    assert called == stored
    assert marked == len(stored)


@pytest.mark.slow
def test_scan_killed_mid_batch_takes_nothing_half(tmp_path: Path, backend_url: str) -> None:
    root = tmp_path / "vault"
    vault = make_vault(root, "boleslawiec", backend_url)
    pbx = Pbx(tmp_path / "pbx")
    originals = long_day(pbx)
    add_line(vault, pbx)
    url = vault.engine.url
    vault.close()
    watcher = sa.create_engine(url)
    env = {**os.environ, "KUSTOSZ_DATA": str(root), "KUSTOSZ_ACTOR": "crash"}
    cmd = [sys.executable, "-m", "kustosz", "phones", "scan", "centrala", "--json"]
    said = tmp_path / "scan.out"
    with said.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    caught = None
    seen: list[tuple[int, int]] = []  # each state the watcher saw, once: for the message
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            pending, stored = counts(watcher)
            if not seen or seen[-1] != (pending, stored):
                seen.append((pending, stored))
            # A batch after the first committed one: its pending rows are in, its copies
            # are being written.
            if pending and stored:
                proc.send_signal(signal.SIGKILL)
                caught = (pending, stored)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert caught is not None, (
        f"the scan was never seen in the middle of a batch: it ended with {proc.returncode}, "
        f"the watcher saw (pending, stored) {seen}; it said:\n"
        + said.read_text(errors="replace")[-2000:])
    pending, stored = counts(watcher)
    watcher.dispose()
    assert pending > 0 and 0 < stored < N, (pending, stored)

    vault = Vault.open(root)
    nothing_half_taken(vault)
    assert recover_pending(vault) == pending  # the killed batch's rows and copies go
    assert counts(vault.engine) == (0, stored)
    assert {rec.storage_key for _, rec in stored_calls(vault).values()} \
        == set(vault.storage.keys())
    vault.close()

    subprocess.run(cmd, env=env, check=True, capture_output=True)
    vault = Vault.open(root)
    nothing_half_taken(vault)
    kept = stored_calls(vault)  # raises if a call is stored twice
    assert set(kept) == set(originals)
    assert {rec.storage_key for _, rec in kept.values()} == set(vault.storage.keys())
    for uid, (_, rec) in kept.items():
        assert vault.storage.path(rec.storage_key).read_bytes() == originals[uid]
    vault.close()
