"""Benchmark: an installation at the scale of a powiat (issue 67 item 6) — `--offices` offices of
`--cameras` cameras each on one PostgreSQL server, recording at once: does every segment reach
its office's index, how long does each office's retention sweep take, and how fast do the
offices' pages answer meanwhile.

The installation is made as `kustosz offices init/add` make one (a database created for the run
on the server of `--pg`, default `$KUSTOSZ_TEST_PG`, dropped after; each office its own schema
and login role, its own vault folder), each office from Pleszew's regulation under its own name.
Cameras are **synthetic segment streams**, not encoders: on this 2-core machine 240 ffmpeg
processes would measure ffmpeg. Each camera is a thread that, every `--segment` seconds, writes a
segment of `--segment-kib` random bytes into its office's camera spool and hands it to the
product's own intake (`ingest.camera.index_batch.adopt_segment`: the office's batched committer,
its pending row, the rename into storage, the stored mark) with its size and SHA-256 known, as
the recorder does. Every office's vault is opened in this one process (in production each office
runs its own `kustosz serve`); their engines, committers and connections are the product's.

Measured:
* recording: segments written vs segments `stored` in each office's index — none missing is the
  correctness check (exit 1 otherwise) — and the time each segment's intake took (p50/p99);
* pages, while recording: the installation's one web server (`web.installation_app`, every
  office mounted at /o/<slug>/), one signed-in person per office, its dashboard and cameras page
  in turn — p50/p99 per request;
* the sweep: each office's `retention.run_sweep` as of a moment past every period, so that all
  its segments are due — seconds per office (median, max), every row and file gone after;
* the PostgreSQL connections the offices held while recording (`pg_stat_activity`), the figure a
  300-office installation has to plan for (docs/design.md, "Installations").
Then each office's vault passes the store check and `audit verify` (bench/_smoke.check_vault).

Run: `.venv/bin/python bench/offices.py [--offices 30] [--cameras 8] [--seconds 60]
[--segment 6] [--segment-kib 200] [--json]`. Needs PostgreSQL; without it it exits 77.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

import _smoke  # noqa: E402 - bench/ is the script's folder
from kustosz.access import accounts  # noqa: E402
from kustosz.access.users import add_user  # noqa: E402
from kustosz.db.models import Recording  # noqa: E402
from kustosz.index.sources import add_source  # noqa: E402
from kustosz.ingest.camera import index_batch  # noqa: E402
from kustosz.ingest.camera.spool import new_session  # noqa: E402
from kustosz.installation.add import add_office  # noqa: E402
from kustosz.installation.pg_scope import role_name  # noqa: E402
from kustosz.installation_layout import write_new  # noqa: E402
from kustosz.retention import run_sweep  # noqa: E402
from kustosz.states import RecordingState  # noqa: E402
from kustosz.vault import Vault  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "Bardzo-tajne-hasło-1"
PRESET = (resources.files("kustosz.policy") / "presets" / "pleszew.toml").read_text("utf-8")
PRESET_NAME = "Urząd Miasta i Gminy Pleszew"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text("utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Office:
    slug: str
    vault: Vault
    cameras: list[int]
    written: int = 0
    intake_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_installation(root: Path, url: str, n: int, cameras: int) -> list[Office]:
    write_new(root, "Powiat benchmarkowy — wspólna obsługa", url)
    offices = []
    for i in range(n):
        slug = f"u{i:03d}-{uuid.uuid4().hex[:6]}"
        text = PRESET.replace(f'name = "{PRESET_NAME}"', f'name = "Urząd nr {i + 1} 🏛"', 1)
        vault = add_office(root, slug, text, "bench")
        with vault.transaction() as s:
            ids = [add_source(s, vault.policy, f"kamera-{c + 1}", "camera", "bench").id
                   for c in range(cameras)]
            person = add_user(s, "kierownik", "Zofia Źdźbło", ["approver", "dpo"], "bench")
            accounts.set_password(s, person, PASSWORD, "bench")
        offices.append(Office(slug, vault, ids))
    return offices


def camera_loop(office: Office, source_id: int, until: float, segment_s: float,
                size: int, stop: threading.Event) -> None:
    spool = office.vault.root / "spool" / "cameras"
    _name, folder = new_session(spool, source_id)
    start = datetime.now(UTC)
    n = 0
    while not stop.is_set() and time.monotonic() < until:
        body = os.urandom(size)
        path = folder / f"seg{n:08d}.ts"
        path.write_bytes(body)
        end = start + timedelta(seconds=segment_s)
        began = time.monotonic()
        try:
            index_batch.adopt_segment(office.vault, source_id, path, start, end,
                                      {"segment": path.name}, None,
                                      (size, hashlib.sha256(body).hexdigest()))
        except Exception as exc:  # counted: a segment lost is the finding
            with office.lock:
                office.failures.append(f"{type(exc).__name__}: {exc}"[:200])
        took = time.monotonic() - began
        with office.lock:
            office.written += 1
            office.intake_s.append(took)
        n, start = n + 1, end
        stop.wait(max(0.0, segment_s - took))


def pages(base: str, offices: list[Office], until: float) -> list[float]:
    """One signed-in person per office, its dashboard and cameras page in turn until
    ``until``: each request's seconds."""
    clients = []
    for o in offices:
        c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
        page = c.get(f"/o/{o.slug}/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text[:300]
        r = c.post(f"/o/{o.slug}/login", data={"username": "kierownik", "password": PASSWORD,
                                              "csrf": csrf.group(1), "next": "/"})
        assert r.status_code == 303, r.text[:300]
        clients.append((o.slug, c))
    took: list[float] = []
    while time.monotonic() < until:
        for slug, c in clients:
            for path in ("/", "/cameras"):
                began = time.monotonic()
                r = c.get(f"/o/{slug}{path}")
                took.append(time.monotonic() - began)
                if r.status_code != 200:
                    raise SystemExit(f"/o/{slug}{path} answered {r.status_code}")
            if time.monotonic() >= until:
                break
    for _slug, c in clients:
        c.close()
    return took


def stored(vault: Vault) -> int:
    with vault.reading() as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(Recording).where(
            Recording.state == RecordingState.STORED)).scalar_one())


def connections(url: str, database: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE "
                                            "datname = :d"), {"d": database}).scalar_one())
    finally:
        engine.dispose()


def record_and_browse(args: argparse.Namespace, offices: list[Office], url: str,
                      database: str) -> dict[str, Any]:
    from kustosz.web.installation_app import Office as Served
    from kustosz.web.installation_app import create_installation_app
    from kustosz.web.server import WebServer

    app = create_installation_app("Powiat benchmarkowy",
                                  [Served(o.slug, o.vault, o.vault.policy.office_name)
                                   for o in offices])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    web = WebServer(None, "127.0.0.1", port, app=app)
    web.start()
    stop = threading.Event()
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=camera_loop, args=(o, cam, until, args.segment,
                                                          args.segment_kib * 1024, stop),
                                daemon=True) for o in offices for cam in o.cameras]
    began = time.monotonic()
    for t in threads:
        t.start()
    try:
        latencies = pages(web.url.rstrip("/"), offices, until - args.segment)
        held = connections(url, database)  # every office recording and signed in
        for t in threads:
            t.join(args.segment * 4 + 60)
    finally:
        stop.set()
        web.stop()
    return {"wall_s": time.monotonic() - began, "page_p50_s": pct(latencies, 50),
            "page_p99_s": pct(latencies, 99), "pages": len(latencies), "connections": held}


def sweep_all(offices: list[Office]) -> list[float]:
    """Each office swept as of a year on: every segment past its period."""
    later = datetime.now(UTC) + timedelta(days=400)
    took = []
    for o in offices:
        began = time.monotonic()
        run_sweep(o.vault, now=later, actor="bench", detail=False)
        took.append(time.monotonic() - began)
        left = stored(o.vault)
        if left:
            raise SystemExit(f"office {o.slug}: {left} segment(s) left after the sweep")
    return took


def run(args: argparse.Namespace) -> dict[str, Any]:
    database = f"bench_offices_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = str(sa.engine.make_url(args.pg).set(database=database))
    work = Path(tempfile.mkdtemp(prefix="kustosz-bench-offices-"))
    offices: list[Office] = []
    try:
        made = time.monotonic()
        offices = make_installation(work / "instalacja", url, args.offices, args.cameras)
        say(f"{args.offices} offices made in {time.monotonic() - made:.1f} s")
        result = record_and_browse(args, offices, url, database)
        missing = {o.slug: o.written - stored(o.vault) for o in offices}
        failures = [f for o in offices for f in o.failures]
        sweeps = sweep_all(offices)
        for o in offices:
            _smoke.check_vault(o.vault)
        intake = [t for o in offices for t in o.intake_s]
        result.update({
            "offices": args.offices, "cameras": args.cameras, "seconds": args.seconds,
            "segment_s": args.segment, "segment_kib": args.segment_kib,
            "segments": sum(o.written for o in offices),
            "missing": sum(missing.values()), "failures": failures[:5],
            "intake_p50_s": pct(intake, 50), "intake_p99_s": pct(intake, 99),
            "sweep_median_s": statistics.median(sweeps), "sweep_max_s": max(sweeps),
            "cpu": cpu_name(), "cores": os.cpu_count(), "loadavg": os.getloadavg(),
            "at": datetime.now(UTC).isoformat(timespec="seconds")})
        return result
    finally:
        for o in offices:
            o.vault.close()
        shutil.rmtree(work, ignore_errors=True)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :d"), {"d": database})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
            for o in offices:  # roles are the server's, not the database's
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role_name(o.slug)}"'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("KUSTOSZ_TEST_PG", DEFAULT_PG))
    parser.add_argument("--offices", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--segment", type=float, default=6.0)
    parser.add_argument("--segment-kib", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = _smoke.parse(parser, {"offices": 2, "cameras": 1, "seconds": 8.0, "segment": 2.0,
                                 "segment_kib": 16})
    try:
        import psycopg

        psycopg.connect(args.pg, connect_timeout=3).close()
    except Exception as exc:
        _smoke.unavailable(f"PostgreSQL does not answer at --pg ({type(exc).__name__})")
    r = run(args)
    say(f"offices: {r['offices']} × {r['cameras']} cameras, {r['seconds']:g} s, segments of "
        f"{r['segment_s']:g} s and {r['segment_kib']} KiB; {r['cpu']} ({r['cores']} cores), "
        f"load average "
        f"{r['loadavg'][0]:.2f}")
    say(f"  segments written {r['segments']}, missing from the index {r['missing']}")
    say(f"  intake per segment p50 {r['intake_p50_s'] * 1000:.0f} ms, p99 "
        f"{r['intake_p99_s'] * 1000:.0f} ms")
    say(f"  pages ({r['pages']} requests, while recording) p50 {r['page_p50_s'] * 1000:.0f} "
        f"ms, p99 {r['page_p99_s'] * 1000:.0f} ms")
    say(f"  sweep per office median {r['sweep_median_s']:.2f} s, max {r['sweep_max_s']:.2f} s")
    say(f"  PostgreSQL connections held while recording: {r['connections']}")
    for failure in r["failures"]:
        say(f"  intake failure: {failure}")
    if args.json:
        print(json.dumps(r))
    return 1 if r["missing"] or r["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
