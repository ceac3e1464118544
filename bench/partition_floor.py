"""Benchmark: the floor of "retention as partitions" (issue 68 item 3), on PostgreSQL.

One expired day of `--sources` cameras × `--day-slots` 10-second segments (100 × 8 640 =
864 000 rows) inside a `recordings` table of `--days` such days, in a database of its own, the
schema the project's migrations make (its six indexes on `recordings`). In one run it times

(a) today's per-row sweep statements on that day: the UPDATE to `deleting`, the victims'
    select, the move into `deletions` (the product's own `_move_to_deletions`: one DELETE …
    RETURNING feeding the INSERT) and the digest read back, as `run_sweep` issues them;
(b) the same day in a copy of the table partitioned by day (`PARTITION BY RANGE (start_at)`,
    the same indexes, the primary key and the key's uniqueness widened by `start_at`): the
    day's deletion record (per source: count and SHA-256 of the sorted list, one pass over the
    partition), then `ALTER TABLE … DETACH PARTITION` and `DROP TABLE` of it;
(c) `find MEDIA -type f -delete` of that day's 864 000 empty files, and
(d) the product's unlinks of a second copy of the same files (`LocalStorage.delete_many`,
    the sweep's own path).

(a) and (b) are the database's part of the sweep; (c) is the target's baseline and (d) what
the sweep's unlinks cost beside it, so the floor of a partitioned sweep is about (b) + (d).
Run: `.venv/bin/python bench/partition_floor.py` (see bench/README.md, section
`partition_floor.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

import _smoke  # bench/ is the script's folder
from kustosz.db.deadline import LONG_WORK_S, patience
from kustosz.db.models import Deletion, Recording, Sweep
from kustosz.index.sources import add_source
from kustosz.retention.sweep import UNLINK_COLUMNS, _move_to_deletions
from kustosz.states import RecordingState, SweepMode
from kustosz.vault import Vault

PRESET = "pleszew"
SEGMENT_S = 10
ACTOR = "bench"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "bench_partition_floor"


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql.encode())


def rows_sql(base: datetime, sources: int, day_slots: int, days: int,
             expire_after: int | None = None) -> str:
    """Every row, slot by slot with the cameras interleaved (as the recorders write them);
    day d expires at base + ``expire_after`` (default: days) + d, so at `now` = base +
    expire_after + 1 h only day 0 has."""
    after = days if expire_after is None else expire_after
    b = base.strftime("%Y-%m-%d %H:%M:%S")
    rid = f"(i::bigint * {sources} + c.j + 1)"
    ts = f"(timestamp '{b}' + (i / {day_slots}) * interval '1 day' + (i % {day_slots}) " \
         f"* interval '{SEGMENT_S} seconds')"
    return (
        "INSERT INTO recordings (id, source_id, kind, start_at, end_at, size, sha256, "
        "storage_key, meta, state, expires_at, ingested_at, session) "
        f"SELECT {rid}, c.j + 1, 'camera', {ts}, {ts} + interval '{SEGMENT_S} seconds', "
        f"2000000 + ({rid} * 7919) % 900000, lpad(to_hex(c.j), 8, '0') || "
        f"lpad(to_hex(i), 56, '0'), c.name || '/' || to_char({ts}, 'YYYY/MM/DD/HH24MISS') "
        f"|| '-' || lpad(to_hex({rid}), 10, '0') || '.ts', "
        "('{\"session\": \"' || c.name || '\"}')::json, 'stored', "
        f"timestamp '{b}' + ({after} + i / {day_slots}) * interval '1 day', "
        "now() AT TIME ZONE 'UTC', c.name "
        f"FROM generate_series(0, {days * day_slots - 1}) AS i CROSS JOIN LATERAL "
        f"(SELECT id - 1 AS j, name FROM sources ORDER BY id LIMIT {sources}) c")


def build(root: Path, url: str, args: argparse.Namespace) -> tuple[Vault, datetime]:
    """The vault (schema by its migrations), the rows, and the partitioned copy."""
    vault = Vault.init(root, PRESET, database_url=url, actor=ACTOR)
    with vault.transaction() as s:
        for i in range(args.sources):
            add_source(s, vault.policy, f"cam{i:03d}", "camera", ACTOR)
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) \
        - timedelta(days=args.days + 10)
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        con.execute(text(rows_sql(base, args.sources, args.day_slots, args.days)))
        con.execute(text("SELECT setval(pg_get_serial_sequence('recordings', 'id'), "
                         "(SELECT max(id) FROM recordings))"))
    log(f"  {args.days * args.day_slots * args.sources:,} rows in "
        f"{time.perf_counter() - t0:.0f} s; the partitioned copy ...")
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        indexes = [r[0] for r in con.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'recordings' AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = "
            "'recordings'::regclass)"))]
        con.execute(text("CREATE TABLE part_recordings (LIKE recordings INCLUDING DEFAULTS "
                         "INCLUDING CONSTRAINTS) PARTITION BY RANGE (start_at)"))
        con.execute(text("ALTER TABLE part_recordings ADD PRIMARY KEY (id, start_at), "
                         "ADD UNIQUE (storage_key, start_at)"))
        for d in range(-1, args.days + 2):
            lo, hi = base + timedelta(days=d), base + timedelta(days=d + 1)
            con.execute(text(
                f"CREATE TABLE part_recordings_{d + 1} PARTITION OF part_recordings FOR "
                f"VALUES FROM ('{lo:%Y-%m-%d %H:%M:%S}') TO ('{hi:%Y-%m-%d %H:%M:%S}')"))
        con.execute(text("CREATE TABLE part_recordings_default PARTITION OF part_recordings "
                         "DEFAULT"))
        for ddl in indexes:
            con.execute(text(ddl.replace(" ON public.recordings ", " ON part_recordings ")
                             .replace("INDEX ix_", "INDEX part_ix_")))
        con.execute(text("INSERT INTO part_recordings SELECT * FROM recordings"))
    with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(text("VACUUM ANALYZE recordings"))
        con.execute(text("VACUUM ANALYZE part_recordings"))
    log(f"  partitioned copy in {time.perf_counter() - t0:.0f} s")
    return vault, base


def make_files(vault: Vault, day0: datetime, copy: Path) -> list[str]:
    """Day 0's files, empty, in the vault's media and in a copy for `find`."""
    with vault.reading() as s:
        keys = list(s.execute(select(Recording.storage_key).where(
            Recording.start_at < day0 + timedelta(days=1)).order_by(Recording.id)).scalars())
    for top in (str(vault.root / "media"), str(copy)):
        made: set[str] = set()
        for key in keys:
            path = os.path.join(top, key)
            folder = os.path.dirname(path)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    subprocess.run(["sync"], check=True)
    return keys


def per_row(vault: Vault, now: datetime) -> dict[str, float]:
    """(a): the statements `run_sweep` issues for its victims, timed one by one."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    with vault.transaction() as s:
        sweep = Sweep(started_at=datetime.now(UTC), as_of=now, mode=SweepMode.RETENTION)
        s.add(sweep)
        s.flush()
        sweep_id = sweep.id
        s.execute(update(Recording).where(Recording.state == RecordingState.STORED,
                                          Recording.expires_at <= now)
                  .values(state=RecordingState.DELETING, sweep_id=sweep_id)
                  .execution_options(synchronize_session=False))
    out["update_deleting_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with vault.reading() as s:
        victims = s.execute(select(*UNLINK_COLUMNS).where(
            Recording.sweep_id == sweep_id, Recording.state == RecordingState.DELETING)).all()
    out["select_victims_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with vault.transaction() as s:
        rules = {sid: "retention 30d (bench)" for sid in {v.source_id for v in victims}}
        _move_to_deletions(s, sweep_id, rules, now)
    out["move_to_deletions_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    with vault.reading() as s:
        for rid, sha in s.execute(select(Deletion.recording_id, Deletion.sha256).where(
                Deletion.sweep_id == sweep_id).order_by(Deletion.recording_id)):
            digest.update(f"{rid}:{sha}\n".encode())
    out["digest_s"] = time.perf_counter() - t0
    out["rows"] = float(len(victims))
    out["total_s"] = sum(v for k, v in out.items() if k.endswith("_s"))
    return out


def by_partition(vault: Vault) -> dict[str, float]:
    """(b): the day's record per source (count + digest of its sorted list, computed by the
    server in one pass over the partition), then DETACH and DROP."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        records = con.execute(text(
            "SELECT source_id, count(*), sha256(convert_to(string_agg(id || ':' || "
            "coalesce(sha256, '') || ':' || size || ':' || storage_key, E'\\n' ORDER BY id) "
            "|| E'\\n', 'UTF8')) FROM part_recordings_1 GROUP BY source_id")).all()
    out["day_record_s"] = time.perf_counter() - t0
    out["rows"] = float(sum(r[1] for r in records))
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        con.execute(text("ALTER TABLE part_recordings DETACH PARTITION part_recordings_1"))
    out["detach_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with vault.engine.begin() as con:
        con.execute(text("DROP TABLE part_recordings_1"))
    out["drop_s"] = time.perf_counter() - t0
    out["total_s"] = out["day_record_s"] + out["detach_s"] + out["drop_s"]
    return out


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sources", type=int, default=100, help="cameras")
    p.add_argument("--day-slots", type=int, default=8640, help="segments per camera and day")
    p.add_argument("--days", type=int, default=5, help="days of material in the table")
    p.add_argument("--pg-admin", default=PG_ADMIN, help="URL of a database to create ours")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    p.add_argument("--product-first", action="store_true",
                   help="unlink (d) before find (c); a second run swaps the order")
    p.add_argument("--json", action="store_true", help="one JSON line on stdout")
    return _smoke.parse(p, {"sources": 3, "day_slots": 200, "days": 3}, argv)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + DB_NAME
    admin(args.pg_admin, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(args.pg_admin, f"CREATE DATABASE {DB_NAME}")
    vault, base = build(work / "vault", url, args)
    try:
        copy = work / "find-copy"
        keys = make_files(vault, base, copy)
        now = base + timedelta(days=args.days, hours=1)
        result: dict[str, Any] = {"table_rows": args.days * args.day_slots * args.sources,
                                  "day_rows": len(keys)}
        result["a_per_row"] = per_row(vault, now)
        result["b_partition"] = by_partition(vault)
        runs = {"c_find_s": lambda: subprocess.run(
                    ["find", str(copy), "-type", "f", "-delete"], check=True),
                "d_unlinks_s": lambda: vault.storage.delete_many(keys, 4)}
        # which of the two unlinks goes first: a second run swaps them (page cache, load)
        for name in sorted(runs, reverse=args.product_first):
            result[name] = timed(runs[name])
        left = sum(len(f) for _, _, f in os.walk(copy)) + sum(
            len(f) for _, _, f in os.walk(vault.root / "media"))
        with vault.reading() as s:
            indexed = s.execute(text("SELECT count(*) FROM recordings WHERE start_at < "
                                     ":d"), {"d": base + timedelta(days=1)}).scalar_one()
            parted = s.execute(text("SELECT count(*) FROM part_recordings WHERE start_at < "
                                    ":d"), {"d": base + timedelta(days=1)}).scalar_one()
        if left or indexed or parted or result["a_per_row"]["rows"] != len(keys) \
                or result["b_partition"]["rows"] != len(keys):
            raise SystemExit(f"CHECK FAILED: {left} files left, {indexed} / {parted} rows "
                             "of day 0 left")
        # The other days' rows have no files (only day 0 is swept), so of the vault checks
        # only `audit verify` applies here.
        from kustosz.audit.verifier import vault_report

        with vault.reading() as s:
            problems = vault_report(s, vault.head_file).problems
        if problems:
            raise SystemExit(f"CHECK FAILED: audit verify: {problems}")
        return result
    finally:
        vault.close()
        admin(args.pg_admin, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        admin(args.pg_admin, "SELECT 1")
    except Exception as exc:  # no server here: not this benchmark's failure
        _smoke.unavailable(f"no PostgreSQL at {args.pg_admin}: {exc}")
    work = args.dir or Path(tempfile.mkdtemp(prefix="kustosz-partfloor-"))
    try:
        with patience(LONG_WORK_S):  # as the sweep's own statements on a big index
            result = run(args, work)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    a, b = result["a_per_row"], result["b_partition"]
    find = result["c_find_s"]
    print(f"day of {result['day_rows']:,} rows in {result['table_rows']:,}\n"
          f"(a) per-row statements {a['total_s']:.2f} s (update {a['update_deleting_s']:.2f},"
          f" select {a['select_victims_s']:.2f}, move {a['move_to_deletions_s']:.2f}, digest "
          f"{a['digest_s']:.2f}) = {a['total_s'] / find:.2f}x find\n"
          f"(b) partition {b['total_s']:.2f} s (record {b['day_record_s']:.2f}, detach "
          f"{b['detach_s']:.3f}, drop {b['drop_s']:.3f}) = {b['total_s'] / find:.2f}x find\n"
          f"(c) find -delete {find:.2f} s\n(d) delete_many {result['d_unlinks_s']:.2f} s = "
          f"{result['d_unlinks_s'] / find:.2f}x find\n"
          f"floor (b)+(d) = {(b['total_s'] + result['d_unlinks_s']) / find:.2f}x find",
          file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
