"""Benchmark: the product's retention sweep of one expired day on a partitioned index
(issue 68 item 3, PostgreSQL) against `find -delete` of the same files, in the same run.

The database, rows and files as `bench/partition_floor.py` makes them (100 cameras × 8 640
segments a day, `--days` days, day 0's 864 000 files empty, a copy for `find`), but in days
after migration 0062's cutover, so each local (Europe/Warsaw) day has its own partition, and
with every day's expiry where the audit log's record puts it (30 days, the preset's camera
period). Then `kustosz.retention.run_sweep(vault, now, detail=False)` at day 0's expiry + 1 h
— which takes day 0 as a partition (retention/day_sweep.py) — and `find COPY -type f -delete`,
in the order `--find-first` says. Checks: day 0 gone from the index and both trees, one
deletion record per camera whose counts sum to the day, `audit verify` clean.
Run: `.venv/bin/python bench/partition_sweep.py` (bench/README.md, `partition_floor.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

import _smoke
from kustosz.audit.verifier import vault_report
from kustosz.db.deadline import LONG_WORK_S, patience
from kustosz.db.models import DeletionDay
from kustosz.index.sources import add_source
from kustosz.retention import run_sweep
from kustosz.retention.partitions import ensure_days
from kustosz.vault import Vault
from partition_floor import PG_ADMIN, PRESET, admin, log, make_files, rows_sql

DB_NAME = "bench_partition_sweep"  # its own: the suite runs the smokes side by side
PERIOD_DAYS = 31  # the camera period's end, a day after its 30 days (Period.end)


def build(root: Path, url: str, args: argparse.Namespace) -> tuple[Vault, datetime]:
    vault = Vault.init(root, PRESET, database_url=url, actor="bench")
    tz = vault.policy.timezone
    with vault.transaction() as s:
        for i in range(args.sources):
            add_source(s, vault.policy, f"cam{i:03d}", "camera", "bench")
    day0 = datetime.now(UTC).astimezone(tz).date() + timedelta(days=2)  # past the cutover
    base = datetime.combine(day0, dtime(0), tzinfo=tz).astimezone(UTC)
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        ensure_days(con, tz, base, ahead=args.days + 2)
        con.execute(text(rows_sql(base.replace(tzinfo=None), args.sources, args.day_slots,
                                  args.days, PERIOD_DAYS)))
    with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(text("VACUUM ANALYZE recordings"))
        # The build's writes flushed now, not by a checkpoint spread over the timed sweep: a
        # day 31 days old has long been written out (it cost step 1 4 s of 5 in one run).
        con.execute(text("CHECKPOINT"))
    log(f"  {args.days * args.day_slots * args.sources:,} rows in day partitions in "
        f"{time.perf_counter() - t0:.0f} s")
    return vault, base


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + DB_NAME
    admin(args.pg_admin, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(args.pg_admin, f"CREATE DATABASE {DB_NAME}")
    vault, base = build(work / "vault", url, args)
    try:
        copy = work / "find-copy"
        keys = make_files(vault, base, copy)
        now = base + timedelta(days=PERIOD_DAYS, hours=1)
        result: dict[str, Any] = {"table_rows": args.days * args.day_slots * args.sources,
                                  "day_rows": len(keys)}
        runs: dict[str, Callable[[], object]] = {"find_s": lambda: subprocess.run(
                    ["find", str(copy), "-type", "f", "-delete"], check=True),
                "sweep_s": lambda: result.setdefault(
                    "report", run_sweep(vault, now, detail=False))}
        for name in sorted(runs, reverse=not args.find_first):
            t0 = time.perf_counter()
            runs[name]()
            result[name] = time.perf_counter() - t0
        report = result.pop("report")
        left = sum(len(f) for _, _, f in os.walk(copy)) + sum(
            len(f) for _, _, f in os.walk(vault.root / "media"))
        with vault.reading() as s:
            indexed = s.execute(text("SELECT count(*) FROM recordings WHERE start_at < :d"),
                                {"d": base + timedelta(days=1)}).scalar_one()
            recorded = s.execute(select(func.sum(DeletionDay.count))).scalar() or 0
            problems = vault_report(s, vault.head_file).problems
        result["days_as_partitions"] = len(report.deleted_days)
        if left or indexed or recorded != len(keys) or problems:
            raise SystemExit(f"CHECK FAILED: {left} files left, {indexed} rows of day 0 left, "
                             f"{recorded} of {len(keys)} recorded; {problems[:3]}")
        return result
    finally:
        vault.close()
        admin(args.pg_admin, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sources", type=int, default=100, help="cameras")
    p.add_argument("--day-slots", type=int, default=8640, help="segments per camera and day")
    p.add_argument("--days", type=int, default=5, help="days of material in the table")
    p.add_argument("--pg-admin", default=PG_ADMIN, help="URL of a database to create ours")
    p.add_argument("--find-first", action="store_true", help="run find before the sweep")
    p.add_argument("--json", action="store_true", help="one JSON line on stdout")
    return _smoke.parse(p, {"sources": 3, "day_slots": 200, "days": 3}, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        admin(args.pg_admin, "SELECT 1")
    except Exception as exc:  # no server here: not this benchmark's failure
        _smoke.unavailable(f"no PostgreSQL at {args.pg_admin}: {exc}")
    work = Path(tempfile.mkdtemp(prefix="kustosz-partsweep-"))
    try:
        with patience(LONG_WORK_S):
            result = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"day of {result['day_rows']:,} rows in {result['table_rows']:,}: run_sweep "
          f"{result['sweep_s']:.2f} s vs find -delete {result['find_s']:.2f} s, ratio "
          f"{result['sweep_s'] / result['find_s']:.2f} ({result['days_as_partitions']} "
          "source-day records)", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
