"""Fencing judges a segment by when it was recorded, not when it is indexed (issue 16, found in
review): a node whose database access stalls between recording a segment and indexing it keeps
the segments it recorded while it still held the camera's lease — they are indexed once the
database answers again, though another node holds the camera by then — and drops what it
recorded after its lease's span. The two nodes' segments of the camera never overlap.

Node "a" runs as `run_node` reaching PostgreSQL through the test's `StallingProxy` (real
PostgreSQL, the packets simply stop); node "b" is a coordinator and recorder pool on a direct
connection, recording the same simulated camera once it takes the lease."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from kustosz.cli.serve import run_node
from kustosz.cluster.coordinator import Coordinator
from kustosz.cluster.settings import ClusterSettings
from kustosz.cluster.work import NodePool, node_spool
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.vault import Vault
from tests.cameras.camera_helpers import stored, wait_for
from tests.cluster.test_fencing import _ffmpeg_writing_into
from tests.cluster.test_stalled_database import StallingProxy, _direct, _through

pytestmark = pytest.mark.slow
CAM = "camera:kamera-demo"
LEASE, MARGIN = 6.0, 2.0


def _lease_until(vault: Vault) -> datetime:
    with vault.engine.connect() as conn:
        until: datetime = conn.execute(text("SELECT until FROM leases WHERE resource = :r"),
                                       {"r": CAM}).scalar_one()
    return until.replace(tzinfo=UTC)


def _stall_just_after_a_renewal(vault: Vault, proxy: StallingProxy) -> None:
    """Stalls a's database as soon as a renewal is committed, so that a's confirmed span
    leaves room for whole segments after the stall (about LEASE - MARGIN). Stalled at a random
    moment, a busy host could leave less than one segment's length between the stall and the
    end of the span, and nothing for the test to see indexed late. Only a's requests stop:
    the renewal's answer, owed already, still reaches a, and no later query of a's is
    answered (none reaches the database)."""
    before = _lease_until(vault)
    deadline = time.monotonic() + 30
    while _lease_until(vault) == before:
        assert time.monotonic() < deadline, "a never renewed its lease"
        time.sleep(0.02)
    proxy.stall(answers=True)


def test_segments_recorded_under_the_lease_are_kept_when_indexing_comes_after_a_stall(
        tmp_path: Path, pg_database: str) -> None:
    pg = sa.make_url(pg_database)
    proxy = StallingProxy((pg.host or "127.0.0.1", pg.port or 5432))
    vault = Vault.init(tmp_path / "vault", "pleszew", _through(pg_database, proxy.port),
                       actor="test")
    direct = _direct(vault, pg_database)
    direct.secrets = vault.secrets  # b reads the camera's address
    start_simulated_camera(vault, segment_seconds=1.0, start=False)
    options = RecorderOptions(measure_clock=False)
    stop = threading.Event()
    node = threading.Thread(target=run_node, args=(vault, stop, ClusterSettings(
        "a", LEASE, MARGIN)), kwargs={"options": options})
    node.start()
    other = Coordinator(direct, ClusterSettings("b", LEASE, MARGIN), lambda: [CAM])
    pool_b = NodePool(direct, other, options=options)
    try:
        wait_for(lambda: len(stored(direct)) >= 2
                 and _ffmpeg_writing_into(node_spool(vault, "a")), 30, "a recording")
        _stall_just_after_a_renewal(direct, proxy)  # a records on; its indexing waits
        stalled = datetime.now(UTC)
        until = _lease_until(direct)
        other.register()
        deadline = time.monotonic() + 30
        while CAM not in other.holding():  # b takes the camera once a's lease ran out
            assert time.monotonic() < deadline, "b never took the camera"
            other.tick()
            time.sleep(0.1)
        taken = datetime.now(UTC)
        assert taken >= until
        pool_b.reconcile()

        def b_recorded() -> bool:
            # b goes on as a node does, keeping its lease: on a slow host its first segment
            # came after the lease's span (LEASE - MARGIN) and was fenced off (CI of c486313)
            other.tick()
            pool_b.reconcile()
            return any(r.start_at >= taken for r in stored(direct))

        wait_for(b_recorded, 20, "b recording")
        proxy.resume()

        def a_indexed_its_backlog() -> bool:
            return any(r.start_at >= stalled and r.end_at <= until for r in stored(direct))

        # Recorded after the stall began and before a's lease ended: a's, indexed late.
        wait_for(a_indexed_its_backlog, 20, "the segments a recorded during the stall")
        other.tick()
        pool_b.reconcile()
        seen = len(stored(direct))

        def two_more_stored() -> bool:
            other.tick()  # b keeps its lease while the test watches
            return len(stored(direct)) >= seen + 2

        wait_for(two_more_stored, 20, "two more segments after a's backlog")
        recs = stored(direct)
        for rec in recs:  # a's end inside its lease's span (less the margin), b's after it
            assert rec.end_at <= until - timedelta(seconds=MARGIN) + timedelta(seconds=0.5) \
                or rec.start_at >= until - timedelta(seconds=MARGIN), \
                (rec.start_at, rec.end_at, until)
        for a, b in pairwise(recs):  # never two nodes at once
            slack = 0.05 if a.meta["session"] == b.meta["session"] else 0.0
            assert (b.start_at - a.end_at).total_seconds() >= -slack, \
                (a.meta["session"], a.start_at, a.end_at, b.meta["session"], b.start_at,
                 b.end_at)
    finally:
        proxy.resume()
        stop.set()
        node.join(30)
        pool_b.stop_all()
        other.close()
        proxy.close()
        direct.engine.dispose()
        vault.close()
    assert not node.is_alive()
