"""Three `kustosz serve --node` processes on one PostgreSQL database of their own, six cameras
from the test RTSP server (issue 16, the real test): the cameras spread two a node; one node is
killed with SIGKILL and its cameras resume on the others within the lease plus one segment;
the node comes back and the leases rebalance, each camera handed over at a segment's end with
no second gap; the index never holds two overlapping segments of one camera.

Every wait is for a condition, with WAIT_SCALE's margin as a safety net (issue 27 item 8); the
bounds asserted are the product's promise (lease plus one segment, with CONNECT for the RTSP
set-up), measured on the index as it stands when the test ends, so that a segment the victim
had closed but not yet indexed at the kill (its restart takes it in) is not counted as a hole
on a slow machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import text

from kustosz.cameras.register import add_site, add_zone
from kustosz.vault import Vault
from tests.cameras.camera_helpers import register_camera, stored, wait_for
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
LEASE, MARGIN, SEGMENT = 6.0, 2.0, 2.0
# A camera's new node connects and writes its first segment: RTSP set-up, one lease pass.
CONNECT = 4.0


def start_node(root: Path, name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kustosz", "--data", str(root), "serve", "--node", name,
             "--port", "0", "--log-format", "text"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out)


def holders(vault: Vault) -> dict[str, str | None]:
    with vault.engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT resource, node FROM leases WHERE resource LIKE 'camera:%' AND node IS NOT "
            "NULL AND until > now() AT TIME ZONE 'UTC'")).all())


def spread(vault: Vault) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in holders(vault).values():
        if node:
            counts[node] = counts.get(node, 0) + 1
    return counts


def gaps_after(vault: Vault, source_id: int, after: datetime) -> list[float]:
    recs = [r for r in stored(vault, source_id) if r.end_at > after]
    return [(b.start_at - a.end_at).total_seconds() for a, b in pairwise(recs)]


def no_overlaps(vault: Vault, ids: list[int]) -> None:
    """Segments of different sessions (nodes, restarts) never overlap; within one ffmpeg
    session the listed times are frame-rounded, a few milliseconds either way."""
    for sid in ids:
        for a, b in pairwise(stored(vault, sid)):
            slack = 0.05 if a.meta["session"] == b.meta["session"] else 0.0
            assert (b.start_at - a.end_at).total_seconds() >= -slack, \
                (sid, a.meta, a.start_at, a.end_at, b.meta, b.start_at, b.end_at)


def warnings(logs: dict[str, Path]) -> str:
    parts = []
    for name, log in logs.items():
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if " WARNING " in line or " ERROR " in line or "took " in line]
        parts.append(f"--- {name}:\n" + "\n".join(lines[-25:]))
    return "\n".join(parts)


def diagnosis(srv: RtspServer, logs: dict[str, Path]) -> str:
    """What a failed wait needs explained: the nodes' warnings and the cameras' server."""
    return warnings(logs) + "\n--- RTSP server:\n" + srv.stderr()[-3000:]


def test_three_nodes_share_six_cameras_and_survive_a_kill(
        tmp_path: Path, pg_database: str) -> None:
    vault = Vault.init(tmp_path / "vault", "pleszew", pg_database, actor="test")
    with (vault.root / "kustosz.toml").open("a") as f:
        f.write(f"\n[cluster]\nlease_seconds = {LEASE}\nmargin_seconds = {MARGIN}\n")
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    logs = {n: tmp_path / f"{n}.log" for n in ("n1", "n2", "n3")}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # Live encoders, not tests/reliability's pre-encoded clip: a new client of the clip waits
    # about 4.5 s for its first frame (1.9 s here), which alone would take the hand-over's
    # CONNECT. The encoders are cheap (six take 0.16 of a core).
    with RtspServer(mounts=6, audio=False, shared=False) as srv:
        names = [f"cam-{i}" for i in range(1, 7)]
        ids = [register_camera(vault, name, srv.url(i), segment=SEGMENT).source_id
               for i, name in enumerate(names, 1)]
        try:
            for name in logs:
                procs[name] = start_node(vault.root, name, logs[name])
            wait_for(lambda: sorted(spread(vault).values()) == [2, 2, 2], 20,
                     "two cameras on each node")
            # Two segments of every camera begun after the spread settled: a camera the first
            # node handed to a later one at start-up is then recorded by its holder, not still
            # connecting there (a kill during that hand-over adds its set-up to the hole: CI
            # saw 12.2 s against the 12 s bound, camera 1 resumed 6.9 s after the kill).
            spread_at = datetime.now(UTC)
            wait_for(lambda: all(sum(r.start_at > spread_at for r in stored(vault, i)) >= 2
                                 for i in ids), 20, "every camera recording on its holder")
            victim = "n2"
            theirs = sorted(r.partition(":")[2] for r, n in holders(vault).items()
                            if n == victim)
            victim_ids = [sid for sid, name in zip(ids, names, strict=True) if name in theirs]
            killed_at = datetime.now(UTC)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            wait_for(lambda: all(any(r.start_at > killed_at for r in stored(vault, i))
                                 for i in victim_ids), 20, "the victim's cameras resumed")
            for sid in victim_ids:
                resumed = min(r.start_at for r in stored(vault, sid) if r.start_at > killed_at)
                print(f"camera {sid}: resumed {(resumed - killed_at).total_seconds():.1f} s "
                      "after the kill")
            # the two survivors hold three each (waited for: a renewal that is late on a busy
            # machine leaves a lease out of `holders` for a moment without anyone losing it)
            wait_for(lambda: sorted(spread(vault).values()) == [3, 3], 20,
                     "the victim's cameras on the survivors, three each")
            no_overlaps(vault, ids)
            # the node comes back: the others hand over one camera each, at a segment's end
            back_at = datetime.now(UTC)
            procs[victim] = start_node(vault.root, victim, logs[victim])
            wait_for(lambda: sorted(spread(vault).values()) == [2, 2, 2], 20,
                     "the leases rebalanced")
            settled = datetime.now(UTC)
            # three segments of every camera after it, to look at the hand-overs' gaps in
            wait_for(lambda: all(sum(r.start_at > settled for r in stored(vault, i)) >= 3
                                 for i in ids), 20, "every camera recording after it")
            for sid in ids:  # no second gap: a hand-over costs a reconnect, not a lease
                print(f"camera {sid}: largest gap after the return "
                      f"{max(gaps_after(vault, sid, back_at), default=0):.1f} s")
                # (the holes only: the gaps between one session's segments are 0, and a list of
                # them cut the one that failed out of CI's report)
                assert all(g <= SEGMENT + CONNECT for g in gaps_after(vault, sid, back_at)), \
                    (sid, [round(g, 2) for g in gaps_after(vault, sid, back_at) if g > 0.05])
            no_overlaps(vault, ids)
            with vault.engine.connect() as conn:
                epochs = dict(conn.execute(text(
                    "SELECT resource, epoch FROM leases WHERE resource LIKE 'camera:%'")).all())
            assert max(epochs.values()) >= 2  # moved at least once, each move a new epoch
        except AssertionError as exc:  # a wait ran out, or a bound was passed: say why
            raise AssertionError(f"{exc}\n{diagnosis(srv, logs)}") from exc
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            codes = {n: p.wait(30) for n, p in procs.items()}
    assert codes == {"n1": 0, "n2": 0, "n3": 0}, {n: logs[n].read_text()[-3000:] for n in logs}
    for name, log in logs.items():
        assert "Traceback" not in log.read_text(), (name, log.read_text()[-5000:])
    assert not [p for p in (vault.root / "spool" / "nodes").rglob("*.ts")]
    # the hole the kill made, per camera: from its last segment recorded before the kill
    for sid in victim_ids:
        recs = stored(vault, sid)
        before = max(r.end_at for r in recs if r.start_at < killed_at)
        after = min(r.start_at for r in recs if r.start_at > killed_at)
        gap = (after - before).total_seconds()
        print(f"camera {sid}: the kill's gap {gap:.1f} s")
        assert gap <= LEASE + SEGMENT + CONNECT, \
            (sid, gap, [(r.start_at, r.end_at, r.meta.get("session")) for r in recs
                        if before - (after - before) < r.end_at < after + (after - before)],
             warnings(logs))
    no_overlaps(vault, ids)
    os.environ.get("KUSTOSZ_TEST_PG")  # the database is dropped by the fixture
    vault.close()
