"""Benchmark: how long a camera goes unrecorded when its node dies (issue 16: "another node takes
its cameras within the lease time plus one segment").

`--nodes` `kustosz serve --node` processes share `--cameras` cameras from the GStreamer RTSP
test server (`tests/support/rtsp.py`, one mount per camera) on a PostgreSQL database made for
the run (CREATE DATABASE on the server of `--pg`, default `$KUSTOSZ_TEST_PG`, dropped after),
one data folder. Then `--kills` times: wait until the cameras are spread evenly and recording,
SIGKILL one node (in turn), and for each of its cameras measure, from the kill,

* resumed: the start of the camera's first segment recorded after the kill (by another node:
  the killed one is gone) — the time the camera is really unrecorded for, counted from the kill;
* indexed: when that segment was in the index (`ingested_at`: the segment had to be finished).

The victim is started again after its cameras resumed (the leases rebalance before the next
kill). The baseline is the issue's promise, lease + one segment; the bench prints the median
and the maximum of both measures and their ratio to the baseline (resumed ≤ 1.0 keeps the
promise; indexed adds one segment by nature). Correctness check (exit 1 if it fails): no two
overlapping segments of one camera in the index, every victim camera resumed.

Run: `.venv/bin/python bench/failover.py [--kills 10] [--nodes 3] [--cameras 6] [--lease 6]
[--margin 2] [--segment 2] [--json]`. Needs PostgreSQL and the
GStreamer RTSP server (`make test` installs it when root); without either it exits 77.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import text  # noqa: E402
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason  # noqa: E402

import _smoke  # noqa: E402 - bench/ is the script's folder
from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone  # noqa: E402
from kustosz.vault import Vault  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC).date()


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def wait(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class Cluster:
    def __init__(self, root: Path, names: list[str], logs: Path) -> None:
        self.root, self.names, self.logs = root, names, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "kustosz", "--data", str(self.root), "serve", "--node",
                 name, "--port", "0", "--log-format", "text"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def kill(self, name: str) -> datetime:
        at = datetime.now(UTC)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        return at

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def holders(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT resource, node FROM leases WHERE resource LIKE 'camera:%' AND node IS NOT "
            "NULL AND until > now() AT TIME ZONE 'UTC'")).all())


def first_after(engine: sa.Engine, source_id: int, after: datetime
                ) -> tuple[datetime, datetime] | None:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT start_at, ingested_at FROM recordings WHERE source_id = :s AND state = "
            "'stored' AND start_at > :t ORDER BY start_at LIMIT 1"),
            {"s": source_id, "t": after.replace(tzinfo=None)}).first()
    return None if row is None else (row[0].replace(tzinfo=UTC), row[1].replace(tzinfo=UTC))


def overlaps(engine: sa.Engine) -> list[tuple[int, str, str]]:
    """Segments of one camera from different ffmpeg sessions (nodes, restarts) that overlap;
    within one session the listed times are frame-rounded, a few milliseconds either way."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT source_id, start_at, end_at, meta FROM recordings WHERE state = 'stored' "
            "ORDER BY source_id, start_at")).all()
    found = []
    for a, b in pairwise(rows):
        if a[0] != b[0]:
            continue
        meta_a = json.loads(a[3]) if isinstance(a[3], str) else a[3]
        meta_b = json.loads(b[3]) if isinstance(b[3], str) else b[3]
        slack = 0.05 if meta_a.get("session") == meta_b.get("session") else 0.0
        if (b[1] - a[2]).total_seconds() < -slack:
            found.append((a[0], str(a[2]), str(b[1])))
    return found


def run(args: argparse.Namespace) -> dict[str, object]:
    admin = sa.create_engine(args.pg.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    dbname = f"kb_failover_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
    url = sa.make_url(args.pg).set(database=dbname).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="kustosz-failover-"))
    names = [f"n{i}" for i in range(1, args.nodes + 1)]
    cluster = Cluster(work / "vault", names, work)
    resumed: list[float] = []
    indexed: list[float] = []
    try:
        vault = Vault.init(work / "vault", "pleszew", url, actor="bench")
        with (vault.root / "kustosz.toml").open("a") as f:
            f.write(f"\n[cluster]\nlease_seconds = {args.lease}\n"
                    f"margin_seconds = {args.margin}\n")
        with vault.transaction() as s:
            add_site(s, "Ratusz", "bench", "Rynek 1")
            add_zone(s, "Ratusz", "hol parter", "corridor", "bench")
        engine = vault.engine
        with RtspServer(mounts=args.cameras, audio=False, shared=False) as srv:
            ids = {}
            for i in range(1, args.cameras + 1):
                spec = CameraSpec(f"cam-{i}", "Ratusz", "hol parter", srv.url(i), "property",
                                  segment_seconds=args.segment, notice_date=LONG_AGO,
                                  signage_date=LONG_AGO)
                with vault.transaction() as s:
                    ids[f"cam-{i}"] = add_camera(s, vault.policy, spec, "bench").source_id
            for name in names:
                cluster.start(name)
            fair = -(-args.cameras // args.nodes)
            for kill in range(args.kills):
                victim = names[kill % len(names)]

                def balanced() -> bool:
                    counts: dict[str, int] = {}
                    for node in holders(engine).values():
                        counts[node] = counts.get(node, 0) + 1
                    return len(counts) == len(names) and max(counts.values()) <= fair and \
                        sum(counts.values()) == args.cameras

                wait(balanced, 90, "the cameras spread over every node")
                settled = datetime.now(UTC)
                wait(lambda t=settled: all(first_after(engine, i, t) for i in ids.values()),
                     60, "every camera recording")
                theirs = [ids[r.partition(":")[2]] for r, n in holders(engine).items()
                          if n == victim]
                killed_at = cluster.kill(victim)
                wait(lambda t=killed_at, c=theirs: all(first_after(engine, i, t) for i in c),
                     120, f"{victim}'s cameras to resume elsewhere")
                for sid in theirs:
                    found = first_after(engine, sid, killed_at)
                    assert found is not None
                    resumed.append((found[0] - killed_at).total_seconds())
                    indexed.append((found[1] - killed_at).total_seconds())
                say(f"kill {kill + 1}/{args.kills}: {victim} ({len(theirs)} cameras) "
                    f"resumed after {', '.join(f'{x:.1f}' for x in resumed[-len(theirs):])} s")
                cluster.start(victim)
            bad = overlaps(engine)
        cluster.stop()
        _smoke.check_vault(vault)
        vault.close()
    finally:
        cluster.stop()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.dispose()
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    baseline = args.lease + args.segment
    return {
        "nodes": args.nodes, "cameras": args.cameras, "kills": args.kills,
        "lease_s": args.lease, "margin_s": args.margin, "segment_s": args.segment,
        "baseline_s": baseline, "samples": len(resumed),
        "resumed_median_s": statistics.median(resumed), "resumed_max_s": max(resumed),
        "indexed_median_s": statistics.median(indexed), "indexed_max_s": max(indexed),
        "resumed_median_ratio": statistics.median(resumed) / baseline,
        "resumed_max_ratio": max(resumed) / baseline,
        "indexed_median_ratio": statistics.median(indexed) / baseline,
        "indexed_max_ratio": max(indexed) / baseline,
        "overlaps": len(bad), "loadavg": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("KUSTOSZ_TEST_PG", DEFAULT_PG))
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=6)
    parser.add_argument("--lease", type=float, default=6.0)
    parser.add_argument("--margin", type=float, default=2.0)
    parser.add_argument("--segment", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", action="store_true")
    args = _smoke.parse(parser, {"kills": 1, "nodes": 2, "cameras": 2, "lease": 3.0,
                                 "margin": 1.0})
    if args.nodes < 2:
        parser.error("--nodes: at least 2 (a killed node's cameras need another)")
    if not gst_available():
        _smoke.unavailable(gst_skip_reason())
    try:
        import psycopg

        psycopg.connect(args.pg, connect_timeout=3).close()
    except Exception as exc:
        _smoke.unavailable(f"PostgreSQL does not answer at --pg ({type(exc).__name__})")
    result = run(args)
    table = [
        f"failover: {result['nodes']} nodes, {result['cameras']} cameras, "
        f"{result['kills']} kills ({result['samples']} camera moves); lease "
        f"{result['lease_s']:g} s, margin {result['margin_s']:g} s, segment "
        f"{result['segment_s']:g} s; load average {result['loadavg'][0]:.2f}",  # type: ignore[index]
        f"{'':10}{'median':>10}{'max':>10}{'median/base':>13}{'max/base':>10}",
        f"{'baseline':10}{result['baseline_s']:>9.1f}s{'':>10}  (lease + one segment)",
        f"{'resumed':10}{result['resumed_median_s']:>9.1f}s{result['resumed_max_s']:>9.1f}s"
        f"{result['resumed_median_ratio']:>13.2f}{result['resumed_max_ratio']:>10.2f}",
        f"{'indexed':10}{result['indexed_median_s']:>9.1f}s{result['indexed_max_s']:>9.1f}s"
        f"{result['indexed_median_ratio']:>13.2f}{result['indexed_max_ratio']:>10.2f}",
        f"overlapping segments of one camera: {result['overlaps']}",
    ]
    for line in table:
        say(line)
    if args.json:
        print(json.dumps(result))
    return 1 if result["overlaps"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
