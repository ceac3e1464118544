"""A node's start-up recovery touches only what it left: another node's intake under way (a
`pending` row of a moment ago) is left alone, one pending for longer than PENDING_STALE is
undone; segments another node's spool holds are not taken in by this one."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from kustosz.cli.serve import PENDING_STALE, run_node
from kustosz.cluster.settings import ClusterSettings
from kustosz.vault import Vault


def test_recovery_leaves_other_nodes_work_alone(pg_vault: Vault) -> None:
    now = datetime.now(UTC)
    with pg_vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, enabled, created_at, "
                          "max_duration_s, settings) VALUES (1, 'hol', 'camera', true, :t, 0, "
                          "'{}')"), {"t": now.replace(tzinfo=None)})
        for key, at in (("hol/fresh.ts", now - timedelta(seconds=5)),
                        ("hol/stale.ts", now - PENDING_STALE - timedelta(minutes=1))):
            conn.execute(text(
                "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
                "meta, state, expires_at, ingested_at) VALUES (1, 'camera', :t, :t, 0, :k, "
                "'{}', 'pending', :t, :t)"), {"k": key, "t": at.replace(tzinfo=None)})
    other: Path = pg_vault.root / "spool" / "nodes" / "b" / "cameras" / "1" / "20261122T1-x"
    other.mkdir(parents=True)
    (other / "seg00000000.ts").write_bytes(b"\x47" * 188)  # b's open segment
    stop = threading.Event()
    node = threading.Thread(target=run_node, args=(pg_vault, stop, ClusterSettings("a")))
    node.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with pg_vault.engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM leases WHERE node = 'a'")
                                ).scalar_one():
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("node a took nothing")
    finally:
        stop.set()
        node.join(30)
    with pg_vault.engine.connect() as conn:
        left = conn.execute(text("SELECT storage_key FROM recordings")).scalars().all()
    assert left == ["hol/fresh.ts"]
    assert (other / "seg00000000.ts").exists()
