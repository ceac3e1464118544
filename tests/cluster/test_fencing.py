"""Fencing with a real recorder (the simulated camera: ffmpeg's test pattern, the same recorder
as a real camera) on a real PostgreSQL: once another node holds the camera's lease (a newer
epoch), this node indexes no further segment of it — the next one is discarded and its recorder
stops — and a node's leftovers from an earlier run are kept only where no other node's
segments already cover the time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from kustosz.cli.serve import run_node
from kustosz.cluster.coordinator import Coordinator
from kustosz.cluster.settings import ClusterSettings
from kustosz.cluster.work import NodePool, no_overlap, node_spool
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault
from tests.cameras.camera_helpers import stored, wait_for

CAM = "camera:kamera-demo"


def test_a_recorder_whose_lease_was_taken_indexes_nothing_more(pg_vault: Vault) -> None:
    start_simulated_camera(pg_vault, segment_seconds=1.0, start=False)
    coordinator = Coordinator(pg_vault, ClusterSettings("a", 15.0, 5.0),
                              lambda: [CAM])
    coordinator.register()
    coordinator.tick()
    assert CAM in coordinator.holding()
    pool = NodePool(pg_vault, coordinator, options=RecorderOptions(measure_clock=False))
    pool.reconcile()
    try:
        wait_for(lambda: len(stored(pg_vault)) >= 2, 20, "two segments")
        (recorder,) = pool.recorders.values()
        with pg_vault.engine.begin() as conn:  # another node took it over (its lease ran out)
            taken_at = conn.execute(text(
                "UPDATE leases SET node = 'b', epoch = epoch + 1, taken_at = now() AT TIME "
                "ZONE 'UTC' WHERE resource = :r RETURNING taken_at"), {"r": CAM}).scalar_one()
        wait_for(lambda: not recorder.alive, 10, "the fenced recorder to stop")
        # Judged by when it was recorded: nothing indexed since of the time the lease was
        # another's, less the margin (what was recorded before and indexed after is kept).
        taken_at = taken_at.replace(tzinfo=UTC)
        after = [(r.start_at, r.end_at) for r in stored(pg_vault) if r.ingested_at > taken_at
                 and r.end_at > taken_at - timedelta(seconds=5)]
        assert after == []
    finally:
        pool.stop_all()
    assert not list(pool.spool.rglob("*.ts"))  # discarded, not left for a later start


def test_leftovers_overlapping_another_nodes_segments_are_discarded(pg_vault: Vault) -> None:
    start_simulated_camera(pg_vault, segment_seconds=1.0, start=False)
    coordinator = Coordinator(pg_vault, ClusterSettings("a", 15.0, 5.0), lambda: [CAM])
    coordinator.register()
    coordinator.tick()
    pool = NodePool(pg_vault, coordinator, options=RecorderOptions(measure_clock=False))
    pool.reconcile()
    wait_for(lambda: len(stored(pg_vault)) >= 3, 20, "three segments")
    recs = stored(pg_vault)
    source_id = recs[0].source_id
    admit = no_overlap(pg_vault, source_id)
    first = recs[0]
    assert not admit(first.start_at, first.end_at)  # covered already
    assert not admit(first.start_at + timedelta(milliseconds=100),
                     first.end_at + timedelta(seconds=5))
    assert admit(recs[-1].end_at + timedelta(seconds=30), recs[-1].end_at + timedelta(seconds=31))
    pool.stop_all()


def _ffmpeg_writing_into(folder: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "ffmpeg" in cmd and str(folder) in cmd:
                pids.append(int(proc.name))
    return pids


def test_a_node_cut_off_from_its_leases_stops_recording_before_they_run_out(
        pg_vault: Vault) -> None:
    """The lease table is locked by another connection (renewals and fence checks hang until
    their timeout): the node drops the camera at until - margin by its own steady clock, its
    ffmpeg is gone before the lease runs out, and nothing recorded meanwhile is indexed. A
    real `run_node`, a real lock."""
    start_simulated_camera(pg_vault, segment_seconds=1.0, start=False)
    stop = threading.Event()
    node = threading.Thread(target=run_node, args=(pg_vault, stop, ClusterSettings(
        "a", 3.0, 1.0)), kwargs={"options": RecorderOptions(measure_clock=False)})
    node.start()
    spool = node_spool(pg_vault, "a")
    blocker = pg_vault.engine.connect()
    try:
        wait_for(lambda: len(stored(pg_vault)) >= 2 and _ffmpeg_writing_into(spool), 20,
                 "recording")
        blocker.begin()
        blocker.execute(text("LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"))
        until = blocker.execute(text("SELECT until FROM leases WHERE resource = :r"),
                                {"r": CAM}).scalar_one().replace(tzinfo=UTC)
        gone_at = None
        while datetime.now(UTC) < until + timedelta(seconds=1.5):
            if gone_at is None and not _ffmpeg_writing_into(spool):
                gone_at = datetime.now(UTC)
            time.sleep(0.05)
        blocker.rollback()
        released = datetime.now(UTC)
        assert gone_at is not None and gone_at <= until, (gone_at, until)
        time.sleep(1.0)
        for rec in stored(pg_vault):  # before the drop, or recorded after the lock went
            assert rec.end_at <= until or rec.start_at >= released, (rec.start_at, rec.end_at)
    finally:
        blocker.close()
        stop.set()
        node.join(30)
