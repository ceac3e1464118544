"""Benchmark: the retention sweep against `find -mmin +X -delete`, and the index query at scale.

Part 1 builds a vault of N small files with their index (20 cameras, 10-second segments over
40 local days, about 75 % of them expired at the sweep's `now`), places holds over about 10 %
of the expired material, copies the media folder, and then times

* the sweep (`kustosz.retention.run_sweep`): finds what expired, honours holds, unlinks the
  files and records one `deletions` row per item plus an audit entry;
* `find MEDIA -type f -mmin +X -delete` on the copy: the cron job FreePBX-style setups run
  today. File mtimes are the segments' end times and X is computed from the wall clock right
  before `find` starts, so `find` deletes exactly the expired files (held ones included).

Both run on warm trees: the page cache cannot be dropped here, so both trees are written (and
synced) just before they are timed. Rounds alternate which of the two runs first.

Part 2 builds a separate vault with `--index-rows` recordings rows (no files; 100 sources of
10-second segments) and times random one-hour `kustosz.index.recordings.overlapping` queries
four ways: `spans` (the columns the camera timeline and the playlists read, as the product
runs it: all of them in the index of migration 0024), the same windows with `meta` read as
spans read it before 0024 (from the table), the same query as ORM entities (as making a copy
reads them), and spans' SQL and parameters on the bare driver.

Run: `.venv/bin/python bench/retention.py` (see bench/README.md);
KUSTOSZ_BENCH_PROFILE=out.prof profiles the big sweep (--index-sweep) into out.prof.<db>.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

import _smoke  # bench/ is the script's folder
from kustosz.audit.verifier import verify as verify_audit
from kustosz.custody.holds import covered_by_active_hold, place_hold
from kustosz.db.models import Deletion, Recording, Source
from kustosz.db.types import UTCDateTime
from kustosz.index.expiry import expiry_of
from kustosz.index.recordings import overlapping, spans
from kustosz.index.sources import add_source
from kustosz.retention import run_sweep
from kustosz.retention.partitions import day_bounds, partition_name
from kustosz.vault import Vault

PRESET = "pleszew"  # camera material: 30 days
SEGMENT_S = 10
ACTOR = "bench"
INSERT_BATCH = 20_000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def count_files(top: Path) -> int:
    return sum(len(files) for _dir, _dirs, files in os.walk(top))


def keys_on_disk(media: Path) -> set[str]:
    out: set[str] = set()
    for dirpath, _dirs, files in os.walk(media):
        rel = Path(dirpath).relative_to(media).as_posix()
        out.update(f"{rel}/{name}" for name in files)
    return out


def local_midnight(day: date, vault: Vault) -> datetime:
    return datetime.combine(day, dtime(0), tzinfo=vault.policy.timezone).astimezone(UTC)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(len(sorted_values) * pct / 100))
    return sorted_values[rank - 1]


# -- part 1: the tree ------------------------------------------------------------------------
@dataclass
class Tree:
    root: Path
    sweep_now: datetime
    cutoff: datetime  # items starting before this instant have expired at sweep_now
    keys: list[str] = field(default_factory=list)
    expired_keys: set[str] = field(default_factory=set)
    expired_ids: set[int] = field(default_factory=set)
    held_ids: set[int] = field(default_factory=set)
    held_keys: set[str] = field(default_factory=set)
    bytes: int = 0
    holds: int = 0
    build_s: float = 0.0

    @property
    def media(self) -> Path:
        return self.root / "media"


def build_tree(root: Path, n: int, n_sources: int, days: int, expired_days: int,
               seed: int) -> Tree:
    """A vault with n files and their index rows; see the module docstring for the layout."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    vault = Vault.init(root, PRESET, actor=ACTOR)
    sweep_now = datetime.now(UTC).replace(microsecond=0)
    tz = vault.policy.timezone
    with vault.transaction() as s:
        sources = [add_source(s, vault.policy, f"cam{i:02d}", "camera", ACTOR)
                   for i in range(n_sources)]
        for src in sources:
            src.max_duration_s = float(SEGMENT_S)
        # The last local day whose material has expired at sweep_now.
        day = sweep_now.astimezone(tz).date()
        while expiry_of(sources[0], local_midnight(day, vault), vault.policy) > sweep_now:
            day -= timedelta(days=1)
        cutoff = local_midnight(day + timedelta(days=1), vault)
        first_day = day - timedelta(days=expired_days - 1)
        tree = Tree(root=root, sweep_now=sweep_now, cutoff=cutoff)

        per_source = [n // n_sources + (1 if i < n % n_sources else 0) for i in range(n_sources)]
        made_dirs: set[Path] = set()
        rows: list[dict[str, Any]] = []
        ingested = datetime.now(UTC)
        step = timedelta(seconds=SEGMENT_S)
        for src, count in zip(sources, per_source, strict=True):
            per_day = [count // days + (1 if d < count % days else 0) for d in range(days)]
            for d, k in enumerate(per_day):
                local = first_day + timedelta(days=d)
                begin = local_midnight(local, vault)
                slots = int((local_midnight(local + timedelta(days=1), vault) - begin)
                            .total_seconds()) // SEGMENT_S
                expires = expiry_of(src, begin, vault.policy)
                for slot in sorted(rng.sample(range(slots), k)):
                    start = begin + slot * step
                    end = start + step
                    key = (f"{src.name}/{start:%Y/%m/%d}/{start:%H%M%S}-"
                           f"{rng.getrandbits(48):012x}.ts")
                    data = rng.randbytes(rng.randint(2048, 4096))
                    path = vault.storage.path(key)
                    if path.parent not in made_dirs:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        made_dirs.add(path.parent)
                    with open(path, "wb") as f:
                        f.write(data)
                    mtime_ns = int(end.timestamp()) * 1_000_000_000
                    os.utime(path, ns=(mtime_ns, mtime_ns))
                    rows.append({"source_id": src.id, "kind": src.kind, "start_at": start,
                                 "end_at": end, "size": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest(), "storage_key": key,
                                 "meta": {}, "state": "stored", "expires_at": expires,
                                 "ingested_at": ingested})
                    tree.keys.append(key)
                    tree.bytes += len(data)
                    if expires <= sweep_now:
                        if start >= cutoff:
                            raise AssertionError(f"{key} expired but starts after the cutoff")
                        tree.expired_keys.add(key)
                    elif start < cutoff:
                        raise AssertionError(f"{key} starts before the cutoff but is kept")
                    if len(rows) >= INSERT_BATCH:
                        s.execute(insert(Recording), rows)
                        rows.clear()
        if rows:
            s.execute(insert(Recording), rows)

    # Holds: five windows of ~10 % of the expired span, each on a fifth of the cameras,
    # plus one hold on listed items elsewhere (so both kinds of coverage are exercised).
    window = timedelta(days=expired_days) / 10
    groups = [sources[i::5] for i in range(5)]
    with vault.transaction() as s:
        for i, group in enumerate(groups):
            start = local_midnight(first_day, vault) + timedelta(days=1 + i * expired_days / 5,
                                                                 hours=7)
            members = [s.get(Source, src.id) for src in group]
            place_hold(s, sources=[m for m in members if m is not None], start=start,
                       end=start + window, basis=f"bench case {i + 1}", actor=ACTOR)
        expired_q = (Recording.state == "stored") & (Recording.expires_at <= sweep_now)
        free = list(s.execute(select(Recording.id).where(expired_q, ~covered_by_active_hold())
                              .order_by(Recording.id)).scalars())
        items = rng.sample(free, min(100, len(free)))
        place_hold(s, sources=[], start=None, end=None, basis="bench listed items",
                   actor=ACTOR, items=items)
        tree.holds = len(groups) + 1
        tree.expired_ids = set(s.execute(select(Recording.id).where(expired_q)).scalars())
        for rid, key in s.execute(select(Recording.id, Recording.storage_key)
                                  .where(expired_q, covered_by_active_hold())):
            tree.held_ids.add(rid)
            tree.held_keys.add(key)
    vault.close()
    os.sync()
    tree.build_s = time.perf_counter() - t0
    return tree


def copy_tree(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


# -- part 1: the two contenders --------------------------------------------------------------
@dataclass
class FindRun:
    seconds: float
    deleted: int
    minutes: str
    ok: bool
    problems: list[str]


@dataclass
class SweepRun:
    seconds: float
    open_s: float
    deleted: int
    ok: bool
    problems: list[str]


def run_find(tree: Tree, media: Path) -> FindRun:
    before = count_files(media)
    # mtimes are segment end times: expired items end at or before the cutoff, the rest at
    # least one segment after it. Aim between the two, counted from find's own start.
    threshold = tree.cutoff.timestamp() + SEGMENT_S / 2
    minutes = f"+{(time.time() - threshold) / 60:.4f}"
    cmd = ["find", str(media), "-type", "f", "-mmin", minutes, "-delete"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t0
    left = keys_on_disk(media)
    problems = []
    expected_left = set(tree.keys) - tree.expired_keys
    if left != expected_left:
        problems.append(f"find left {len(left)} files, expected {len(expected_left)} "
                        f"({len(left - expected_left)} extra, {len(expected_left - left)} "
                        "missing)")
    return FindRun(seconds, before - len(left), minutes, not problems, problems)


def run_and_check_sweep(tree: Tree, root: Path) -> SweepRun:
    t0 = time.perf_counter()
    vault = Vault.open(root, actor=ACTOR)
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = run_sweep(vault, tree.sweep_now, dry_run=False, actor=ACTOR, detail=False)
    seconds = time.perf_counter() - t0

    problems: list[str] = []
    expected = tree.expired_ids - tree.held_ids
    deleted_ids = {item["id"] for item in report.deleted}
    if deleted_ids != expected:
        problems.append(f"sweep deleted {len(deleted_ids)} items, expected {len(expected)}")
    on_disk = keys_on_disk(root / "media")
    with vault.reading() as s:
        indexed = set(s.execute(select(Recording.storage_key)).scalars())
        not_stored = s.execute(select(func.count()).select_from(Recording)
                               .where(Recording.state != "stored")).scalar_one()
        recorded = list(s.execute(select(Deletion.recording_id)
                                  .where(Deletion.sweep_id.in_(report.sweep_ids))).scalars())
        checked, audit_problem = verify_audit(s, vault.head_file)
    problems += _smoke.vault_problems(vault)  # the index vault of part 2 has no files to check
    vault.close()
    if on_disk != indexed:
        problems.append(f"{len(on_disk)} files on disk but {len(indexed)} rows in the index")
    if not_stored:
        problems.append(f"{not_stored} rows are not 'stored' after the sweep")
    if len(recorded) != len(deleted_ids) or set(recorded) != deleted_ids:
        problems.append(f"{len(recorded)} deletion records for {len(deleted_ids)} deletions")
    if not tree.held_keys <= on_disk:
        problems.append(f"{len(tree.held_keys - on_disk)} held files were deleted")
    if not tree.held_keys <= indexed:
        problems.append(f"{len(tree.held_keys - indexed)} held items left the index")
    if audit_problem is not None:
        problems.append(f"audit chain: {audit_problem} ({checked} entries checked)")
    return SweepRun(seconds, open_s, len(deleted_ids), not problems, problems)


# -- part 2: the index query at scale, on SQLite and PostgreSQL ------------------------------
DAY_SLOTS = 86400 // SEGMENT_S
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class BigIndex:
    """A built index vault (SQLite file or its own PostgreSQL database) and its layout."""

    db: str  # "sqlite" | "postgresql"
    root: Path
    rows: int
    sources: int
    per_source: int
    base: datetime  # start of slot 0 (a local midnight, in UTC)
    history_days: int  # whole days of history: day k expires at base + (history_days + k) days
    build_s: float = 0.0
    reused: bool = False

    @property
    def sweep_now(self) -> datetime:
        """The instant at which exactly day 0 (the oldest) has expired."""
        return self.base + timedelta(days=self.history_days)

    def to_json(self) -> dict[str, Any]:
        return {"db": self.db, "rows": self.rows, "sources": self.sources,
                "per_source": self.per_source, "base": self.base.isoformat(),
                "history_days": self.history_days, "build_s": self.build_s}

    @classmethod
    def from_json(cls, root: Path, d: dict[str, Any]) -> BigIndex:
        return cls(d["db"], root, d["rows"], d["sources"], d["per_source"],
                   datetime.fromisoformat(d["base"]), d["history_days"], d["build_s"], True)


def pg_name(rows: int) -> str:
    return f"bench_index_{rows}"


def pg_url(admin: str, name: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + name


def pg_admin(admin: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(sql)  # type: ignore[arg-type]


class RowMaker:
    """The rows of the big index, in the order the recorders write them: slot by slot, the
    100 cameras interleaved (so one camera's hour is spread over the table as in a real vault,
    not stored contiguously). Row id = slot * sources + camera + 1."""

    def __init__(self, big: BigIndex, names: list[str], tz: Any, fmt: Any) -> None:
        self.big, self.names, self.fmt = big, names, fmt
        self.ingested = fmt(datetime.now(UTC))
        self.tz = tz

    def slot(self, i: int) -> tuple[str, str, str, str]:
        t = self.big.base + timedelta(seconds=i * SEGMENT_S)
        day = i // DAY_SLOTS
        expires = self.big.base + timedelta(days=self.big.history_days + day)
        return self.fmt(t), self.fmt(t + timedelta(seconds=SEGMENT_S)), \
            f"{t:%Y/%m/%d/%H%M%S}", self.fmt(expires)

    def rows(self, first_slot: int, last_slot: int) -> Iterator[tuple[Any, ...]]:
        n = self.big.sources
        for i in range(first_slot, last_slot):
            start, end, path, expires = self.slot(i)
            session = i // 360  # a recorder session changes every hour or so
            for j, name in enumerate(self.names):
                rid = i * n + j + 1
                yield (rid, j + 1, "camera", start, end, 2_000_000 + (rid * 7919) % 900_000,
                       f"{j:08x}{i:056x}", f"{name}/{path}-{rid:010x}.ts",
                       f'{{"session": "{name}-{session:06d}", "segment": "{i:08d}.ts"}}',
                       "stored", expires, None, self.ingested, f"{name}-{session:06d}")


INDEX_COLUMNS = ["id", "source_id", "kind", "start_at", "end_at", "size", "sha256",
                 "storage_key", "meta", "state", "expires_at", "retain_from", "ingested_at",
                 "session"]


def _layout(db: str, root: Path, rows: int, n_sources: int, tz: Any) -> BigIndex:
    """Day 0 begins at a local midnight (the vault's zone), as a real vault's expiring day
    does: on a partitioned index it is then exactly one day partition (a UTC day 0 left its
    last hour or two in the next local day, swept row by row)."""
    per_source = rows // n_sources
    history_days = math.ceil(per_source / DAY_SLOTS)
    first = datetime.now(tz).date() - timedelta(days=history_days)
    base = datetime.combine(first, dtime(0), tzinfo=tz).astimezone(UTC)
    return BigIndex(db, root, per_source * n_sources, n_sources, per_source, base,
                    history_days)


def _make_sources(vault: Vault, n_sources: int) -> list[str]:
    with vault.transaction() as s:
        sources = [add_source(s, vault.policy, f"cam{i:03d}", "camera", ACTOR)
                   for i in range(n_sources)]
        for src in sources:
            src.max_duration_s = float(SEGMENT_S)
        s.flush()
        assert [src.id for src in sources] == list(range(1, n_sources + 1))
        return [src.name for src in sources]


def sqlite_fill(con: sqlite3.Connection, big: BigIndex, first: int, last: int,
                ingested: str) -> None:
    """Slots [first, last) of every camera, generated inside SQLite (the same rows as
    RowMaker makes in Python, at a fraction of the cost)."""
    n, base = big.sources, int(big.base.timestamp())
    con.execute(
        "WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?) "
        f"INSERT INTO recordings ({', '.join(INDEX_COLUMNS)}) "
        "SELECT i * :n + c.j + 1, c.j + 1, 'camera', "
        "strftime('%Y-%m-%d %H:%M:%S', :base + i * :seg, 'unixepoch'), "
        "strftime('%Y-%m-%d %H:%M:%S', :base + i * :seg + :seg, 'unixepoch'), "
        "2000000 + ((i * :n + c.j + 1) * 7919) % 900000, printf('%08x%056x', c.j, i), "
        "c.name || '/' || strftime('%Y/%m/%d/%H%M%S', :base + i * :seg, 'unixepoch') || '-' "
        "|| printf('%010x', i * :n + c.j + 1) || '.ts', "
        "'{\"session\": \"' || c.name || '-' || printf('%06d', i / 360) "
        "|| '\", \"segment\": \"' || printf('%08d', i) || '.ts\"}', 'stored', "
        "strftime('%Y-%m-%d %H:%M:%S', :base + (:hd + i / :day) * 86400, 'unixepoch'), "
        "NULL, :ingested, c.name || '-' || printf('%06d', i / 360) "
        "FROM s CROSS JOIN (SELECT id - 1 AS j, name FROM sources ORDER BY id LIMIT :n) c"
        .replace("SELECT ? UNION", "SELECT :first UNION")
        .replace("WHERE i + 1 < ?", "WHERE i + 1 < :last"),
        {"first": first, "last": last, "n": n, "base": base, "seg": SEGMENT_S,
         "hd": big.history_days, "day": DAY_SLOTS, "ingested": ingested})


def pg_select(big: BigIndex, first: int, last: int) -> str:
    """The same rows as sqlite_fill, as a PostgreSQL SELECT (slot outer, camera inner)."""
    base = big.base.strftime("%Y-%m-%d %H:%M:%S")
    rid = f"(i::bigint * {big.sources} + c.j + 1)"
    ts = f"(timestamp '{base}' + i * interval '{SEGMENT_S} seconds')"
    return (
        f"SELECT {rid}, c.j + 1, 'camera', {ts}, {ts} + interval '{SEGMENT_S} seconds', "
        f"2000000 + ({rid} * 7919) % 900000, lpad(to_hex(c.j), 8, '0') || "
        f"lpad(to_hex(i), 56, '0'), c.name || '/' || to_char({ts}, 'YYYY/MM/DD/HH24MISS') "
        f"|| '-' || lpad(to_hex({rid}), 10, '0') || '.ts', "
        "('{\"session\": \"' || c.name || '-' || lpad((i / 360)::text, 6, '0') "
        "|| '\", \"segment\": \"' || lpad(i::text, 8, '0') || '.ts\"}')::json, 'stored', "
        f"timestamp '{base}' + ({big.history_days} + i / {DAY_SLOTS}) * interval '1 day', "
        "NULL, now() AT TIME ZONE 'UTC', c.name || '-' || lpad((i / 360)::text, 6, '0') "
        f"FROM generate_series({first}, {last - 1}) AS i CROSS JOIN LATERAL "
        f"(SELECT id - 1 AS j, name FROM sources ORDER BY id LIMIT {big.sources}) c")


def build_sqlite(root: Path, rows: int, n_sources: int) -> BigIndex:
    """Rows through bare sqlite3 in the column type's stored form; the indexes are dropped and
    re-created from their own stored SQL after loading (sorting beats random inserts)."""
    t0 = time.perf_counter()
    vault = Vault.init(root, PRESET, actor=ACTOR)
    big = _layout("sqlite", root, rows, n_sources, vault.policy.timezone)
    names = _make_sources(vault, n_sources)
    vault.close()
    to_db = UTCDateTime().bind_processor(sqlite_dialect.dialect())
    assert to_db is not None
    maker = RowMaker(big, names, None, to_db)
    con = sqlite3.connect(root / "kustosz.db", isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-2097152")
    con.execute("PRAGMA temp_store=FILE")
    index_sql = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='recordings' "
        "AND sql IS NOT NULL")]
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='index' "
                               "AND tbl_name='recordings' AND sql IS NOT NULL").fetchall():
        con.execute(f"DROP INDEX {name}")
    chunk = DAY_SLOTS
    for first in range(0, big.per_source, chunk):
        con.execute("BEGIN")
        sqlite_fill(con, big, first, min(big.per_source, first + chunk), maker.ingested)
        con.execute("COMMIT")
        if (first // chunk) % 10 == 9:
            log(f"  sqlite: {(first + chunk) * n_sources:,} rows "
                f"({time.perf_counter() - t0:.0f} s)")
    log(f"  sqlite: loaded in {time.perf_counter() - t0:.0f} s; building indexes ...")
    for stmt in index_sql:
        t1 = time.perf_counter()
        con.execute(stmt)
        log(f"  sqlite: {stmt.split(' ON ')[0]} {time.perf_counter() - t1:.0f} s")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    big.build_s = time.perf_counter() - t0
    return big


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def pg_days(cur: Any, big: BigIndex, tz: Any, fresh: bool) -> None:
    """The index is partitioned by local day (migration 0062), and the layout's days lie
    before the migration's cutover, in its legacy partition: in a new vault (``fresh``) that
    empty partition is cut back to before the layout, and every local day of the layout gets
    its partition, as days made ahead would; later (a run reusing the index) the days a
    sweep dropped are made again."""
    first = big.base.astimezone(tz).date() - timedelta(days=1)
    last = (big.base + timedelta(seconds=big.per_source * SEGMENT_S)).astimezone(tz).date()
    if fresh:
        cur.execute("DROP TABLE recordings_legacy")
        cur.execute("CREATE TABLE recordings_legacy PARTITION OF recordings FOR VALUES FROM "
                    f"(MINVALUE) TO ('{day_bounds(first, tz)[0]:%Y-%m-%d %H:%M:%S}')")
    have = {r[0] for r in cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'recordings'::regclass").fetchall()}
    day = first
    while day <= last + timedelta(days=1):
        lo, hi = day_bounds(day, tz)
        if partition_name(day) not in have:
            cur.execute(f"CREATE TABLE {partition_name(day)} PARTITION OF recordings FOR "
                        f"VALUES FROM ('{lo:%Y-%m-%d %H:%M:%S}') TO ('{hi:%Y-%m-%d %H:%M:%S}')")
        day += timedelta(days=1)


def build_postgresql(root: Path, rows: int, n_sources: int, admin: str) -> BigIndex:
    """Its own database, the schema from the project's migrations (Vault.init), a partition
    per local day (`pg_days`), rows by COPY through the partitioned parent (COPY ... FREEZE
    is refused on a partitioned table: a VACUUM (FREEZE) pass after loading makes the pages
    all-visible for index-only scans instead), the constraints and indexes the migrations
    made re-created after loading."""
    import psycopg

    t0 = time.perf_counter()
    name = pg_name(rows)
    pg_admin(admin, f"DROP DATABASE IF EXISTS {name}")
    pg_admin(admin, f"CREATE DATABASE {name}")
    url = pg_url(admin, name)
    vault = Vault.init(root, PRESET, database_url=url, actor=ACTOR)
    tz = vault.policy.timezone
    big = _layout("postgresql", root, rows, n_sources, tz)
    _make_sources(vault, n_sources)
    vault.close()
    with psycopg.connect(url) as con:
        cur = con.cursor()
        pg_days(cur, big, tz, fresh=True)
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET synchronous_commit = off")
        cons = cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'recordings'::regclass AND contype IN ('f', 'u')").fetchall()
        idx = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'recordings' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'recordings'::regclass)").fetchall()
        for cname, _ in cons:
            cur.execute(f"ALTER TABLE recordings DROP CONSTRAINT {cname}")
        for iname, _ in idx:
            cur.execute(f"DROP INDEX {iname}")
        # Committed first: dropping the foreign key locks `sources`, which the generating
        # connection below reads.
        con.commit()
        cols = ", ".join(INDEX_COLUMNS)
        # Rows made by the server (generate_series) and streamed back in through COPY, which
        # the parent routes to each day's partition.
        with psycopg.connect(url) as gen, \
                cur.copy(f"COPY recordings ({cols}) FROM STDIN") as copy_in:
            chunk = DAY_SLOTS * 10
            for first in range(0, big.per_source, chunk):
                last = min(big.per_source, first + chunk)
                with gen.cursor().copy(
                        f"COPY ({pg_select(big, first, last)}) TO STDOUT") as copy_out:
                    for data in copy_out:
                        copy_in.write(data)
                log(f"  postgresql: {last * n_sources:,} rows "
                    f"({time.perf_counter() - t0:.0f} s)")
        con.commit()
        log(f"  postgresql: loaded in {time.perf_counter() - t0:.0f} s; building indexes ...")
        # A partitioned index reads back "ON ONLY" (the parent alone, left invalid): made
        # again over the parent, so on every partition.
        for stmt in [d.replace(" ON ONLY ", " ON ") for _, d in idx] + [
                f"ALTER TABLE recordings ADD CONSTRAINT {c} {d}" for c, d in cons]:
            t1 = time.perf_counter()
            cur.execute(stmt)  # type: ignore[arg-type]
            con.commit()
            log(f"  postgresql: {stmt[:60]} {time.perf_counter() - t1:.0f} s")
        cur.execute("SELECT setval(pg_get_serial_sequence('recordings', 'id'), %s)",
                    (big.rows,))
        con.commit()
        con.autocommit = True
        t1 = time.perf_counter()
        cur.execute("VACUUM (FREEZE, ANALYZE) recordings")
        log(f"  postgresql: VACUUM (FREEZE, ANALYZE) {time.perf_counter() - t1:.0f} s")
    big.build_s = time.perf_counter() - t0
    return big


def open_or_build(db: str, work: Path, args: argparse.Namespace) -> BigIndex:
    root = work / f"index-{db}"
    info = root / "bench-index.json"
    if info.exists():
        big = BigIndex.from_json(root, json.loads(info.read_text()))
        if big.rows != args.index_rows // args.index_sources * args.index_sources:
            raise SystemExit(f"{root} holds {big.rows:,} rows, not --index-rows "
                             f"{args.index_rows:,}")
        log(f"index ({db}): reusing {big.rows:,} rows in {root} (built in {big.build_s:.0f} s)")
        return big
    log(f"index ({db}): building {args.index_rows:,} rows in {args.index_sources} sources ...")
    if db == "sqlite":
        big = build_sqlite(root, args.index_rows, args.index_sources)
    else:
        big = build_postgresql(root, args.index_rows, args.index_sources, args.pg_admin)
    info.write_text(json.dumps(big.to_json()))
    log(f"index ({db}): built in {big.build_s:.0f} s")
    return big


def db_bytes(big: BigIndex, args: argparse.Namespace) -> int:
    if big.db == "sqlite":
        return sum(p.stat().st_size for p in big.root.glob("kustosz.db*"))
    import psycopg

    with psycopg.connect(pg_url(args.pg_admin, pg_name(big.rows))) as con:
        row = con.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])


def _ms(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50": percentile(s, 50), "p99": percentile(s, 99), "max": s[-1]}


def time_queries(big: BigIndex, args: argparse.Namespace) -> dict[str, Any]:
    """The same random windows, timed: a first pass (cold-ish: windows this process never
    read; the OS may still cache pages from the build), then, after a warm-up, `spans` (the
    columns the timeline and the playlists read), the query as ORM entities (as making a copy
    reads it), and the very same SQL and parameters on the bare driver."""
    rng = random.Random(args.seed)
    vault = Vault.open(big.root, actor=ACTOR)
    span_s = big.per_source * SEGMENT_S - 3600
    with vault.reading() as s:
        sources = list(s.execute(select(Source).order_by(Source.id)).scalars())
        s.expunge_all()

    def picks(n: int) -> list[tuple[Source, datetime]]:
        return [(rng.choice(sources), big.base + timedelta(seconds=rng.uniform(0, span_s)))
                for _ in range(n)]

    cold, main = picks(args.cold_queries), picks(args.queries)
    warm = picks(min(1000, args.queries))
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    def hour(source: Source, start: datetime) -> Any:
        return spans(source, start, start + timedelta(hours=1))

    engine: Engine = vault.engine
    cold_ms: list[float] = []
    col_ms: list[float] = []
    col_cpu_ms: list[float] = []  # this thread's CPU: steadier than wall time on a busy machine
    orm_ms: list[float] = []
    meta_ms: list[float] = []
    total_rows = 0
    gc.collect()
    try:
        with vault.reading() as s:
            for source, start in cold:
                t0 = time.perf_counter()
                s.execute(hour(source, start)).all()
                cold_ms.append((time.perf_counter() - t0) * 1000)
            for source, start in warm:
                s.execute(hour(source, start)).all()
            event.listen(engine, "before_cursor_execute", capture)
            try:
                for source, start in main:
                    t0, c0 = time.perf_counter(), time.thread_time()
                    found = s.execute(hour(source, start)).all()
                    col_ms.append((time.perf_counter() - t0) * 1000)
                    col_cpu_ms.append((time.thread_time() - c0) * 1000)
                    total_rows += len(found)
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            # A/B in the same run: the columns as spans read them before migration 0024
            # (meta itself, not in the index: every row from the table), same windows.
            for source, start in main:
                stmt = overlapping(source, start, start + timedelta(hours=1)).with_only_columns(
                    Recording.id, Recording.start_at, Recording.end_at, Recording.meta)
                t0 = time.perf_counter()
                s.execute(stmt).all()
                meta_ms.append((time.perf_counter() - t0) * 1000)
            for source, start in main:
                stmt = overlapping(source, start, start + timedelta(hours=1))
                t0 = time.perf_counter()
                s.execute(stmt).scalars().all()
                orm_ms.append((time.perf_counter() - t0) * 1000)
                s.expunge_all()
    finally:
        vault.close()
    statements = [c for c in captured if c[0].lstrip().upper().startswith("SELECT")]
    if len(statements) != len(main):
        raise AssertionError(f"captured {len(statements)} statements for {len(main)} queries")
    # The timeline/playlist statement itself for the plan: spans' SQL (fewer columns).
    sql_ms: list[float] = []
    if big.db == "sqlite":
        con = sqlite3.connect(big.root / "kustosz.db")
        try:
            plan = [str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + statements[0][0],
                                                    statements[0][1])]
            for statement, params in statements:
                t0 = time.perf_counter()
                con.execute(statement, params).fetchall()
                sql_ms.append((time.perf_counter() - t0) * 1000)
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(pg_url(args.pg_admin, pg_name(big.rows))) as pcon:
            cur = pcon.cursor()
            for statement, params in statements:
                t0 = time.perf_counter()
                cur.execute(statement, params).fetchall()
                sql_ms.append((time.perf_counter() - t0) * 1000)
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[0][0], statements[0][1])
            plan = [str(r[0]).strip() for r in cur.fetchall()]
    return {"cold": _ms(cold_ms), "spans": _ms(col_ms), "orm": _ms(orm_ms),
            "spans_cpu": _ms(col_cpu_ms),
            "meta": _ms(meta_ms),
            "sql": _ms(sql_ms), "rows_per_query": total_rows / len(main), "plan": plan,
            "cold_n": len(cold_ms)}


# -- part 3: the sweep of one expired day against the big index ------------------------------
def restore_day0(big: BigIndex, names: list[str], args: argparse.Namespace, tz: Any) -> int:
    """Put day 0's rows back as stored (a sweep of an earlier run deleted them); returns how
    many. Its files are written by the caller."""
    n0 = DAY_SLOTS * big.sources
    if big.db == "sqlite":
        to_db = UTCDateTime().bind_processor(sqlite_dialect.dialect())
        assert to_db is not None
        con = sqlite3.connect(big.root / "kustosz.db", isolation_level=None)
        try:
            con.execute("BEGIN")
            con.execute("DELETE FROM recordings WHERE id <= ?", (n0,))
            sqlite_fill(con, big, 0, DAY_SLOTS, to_db(datetime.now(UTC)))
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(pg_url(args.pg_admin, pg_name(big.rows))) as pcon:
            pcon.execute("DELETE FROM recordings WHERE id <= %s", (n0,))
            pg_days(pcon.cursor(), big, tz, fresh=False)  # day 0's, dropped by a sweep
            pcon.execute(f"INSERT INTO recordings ({', '.join(INDEX_COLUMNS)}) "  # type: ignore[arg-type]
                         + pg_select(big, 0, DAY_SLOTS))
    return n0


def big_sweep(big: BigIndex, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Day 0 (100 cameras x 8 640 segments) has expired at big.sweep_now; only its files
    exist (tiny), the other rows have none. Times run_sweep against find -delete over a copy
    of the same files."""
    vault = Vault.open(big.root, actor=ACTOR)
    with vault.reading() as s:
        names = [src.name for src in s.execute(select(Source).order_by(Source.id)).scalars()]
    media = vault.root / "media"
    tz = vault.policy.timezone
    vault.close()
    t0 = time.perf_counter()
    n0 = restore_day0(big, names, args, tz)
    log(f"sweep ({big.db}): day 0's {n0:,} rows stored again in "
        f"{time.perf_counter() - t0:.0f} s; writing its files ...")
    shutil.rmtree(media, ignore_errors=True)
    made: set[Path] = set()
    data = b""  # empty: an unlink's cost is the directory entry and the inode (both sides)
    maker = RowMaker(big, names, None, lambda t: t)
    for r in maker.rows(0, DAY_SLOTS):
        path = media / r[7]
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        with open(path, "wb") as f:
            f.write(data)
        ns = int(r[4].timestamp()) * 1_000_000_000
        os.utime(path, ns=(ns, ns))
    find_root = work / f"find-{big.db}"
    shutil.rmtree(find_root, ignore_errors=True)
    find_root.mkdir()
    copy_tree(media, find_root / "media")
    os.sync()
    log(f"sweep ({big.db}): files ready in {time.perf_counter() - t0:.0f} s; timing ...")
    load = os.getloadavg()[0]
    threshold = (big.base + timedelta(days=1)).timestamp() + SEGMENT_S / 2
    minutes = f"+{(time.time() - threshold) / 60:.4f}"
    t0 = time.perf_counter()
    subprocess.run(["find", str(find_root / "media"), "-type", "f", "-mmin", minutes,
                    "-delete"], check=True)
    find_s = time.perf_counter() - t0
    find_left = count_files(find_root / "media")
    shutil.rmtree(find_root)
    os.sync()
    vault = Vault.open(big.root, actor=ACTOR)
    try:
        profile = os.environ.get("KUSTOSZ_BENCH_PROFILE")
        t0 = time.perf_counter()
        if profile:  # slows the Python side: a profiled run's figures are not the bench's
            import cProfile

            with cProfile.Profile() as prof:
                report = run_sweep(vault, big.sweep_now, dry_run=False, actor=ACTOR,
                                   detail=False)
            prof.dump_stats(f"{profile}.{big.db}")
        else:
            report = run_sweep(vault, big.sweep_now, dry_run=False, actor=ACTOR, detail=False)
        sweep_s = time.perf_counter() - t0
        with vault.reading() as s:
            left_rows = s.execute(select(func.count()).select_from(Recording)
                                  .where(Recording.id <= n0)).scalar_one()
    finally:
        vault.close()
    left_files = count_files(media)
    problems = []
    deleted = len(report.deleted)  # a day taken whole is in it too, item by item
    if deleted != n0:
        problems.append(f"sweep deleted {deleted:,}, expected {n0:,}")
    if left_rows or left_files:
        problems.append(f"{left_rows} rows and {left_files} files of day 0 left")
    if find_left:
        problems.append(f"find left {find_left} files")
    return {"files": n0, "find_s": find_s, "sweep_s": sweep_s, "ratio": sweep_s / find_s,
            "problems": problems, "load": load}


# -- driver ----------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} CPU {model}{mem}, SQLite {sqlite3.sqlite_version}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=200_000, help="files in the tree")
    p.add_argument("--sources", type=int, default=20, help="cameras in the tree")
    p.add_argument("--days", type=int, default=40, help="local days of material")
    p.add_argument("--expired-days", type=int, default=30,
                   help="of those, days expired at the sweep's now")
    p.add_argument("--repeat", type=int, default=1, help="rounds of find + sweep")
    p.add_argument("--index-rows", type=int, default=10_000_000, help="rows for the query test")
    p.add_argument("--index-sources", type=int, default=100)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--cold-queries", type=int, default=300,
                   help="queries timed before the warm-up (first pass)")
    p.add_argument("--index-db", type=lambda v: v.split(","), default=["sqlite"],
                   help="sqlite, postgresql or sqlite,postgresql")
    p.add_argument("--pg-admin", default=PG_ADMIN,
                   help="PostgreSQL URL allowed to CREATE/DROP DATABASE bench_index_<rows>")
    p.add_argument("--index-sweep", action="store_true",
                   help="part 3: the sweep of one expired day (100 cameras) against the big "
                        "index vs find -delete")
    p.add_argument("--reuse", type=Path, default=None,
                   help="work folder of an earlier --keep run: reuse its big indexes (and "
                        "PostgreSQL database), only query; implies --keep")
    p.add_argument("--skip-index", action="store_true", help="skip the index query part")
    p.add_argument("--skip-sweep", action="store_true", help="skip the sweep/find part")
    p.add_argument("--dir", type=Path, default=None,
                   help="work folder (default: a new temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--json", action="store_true",
                   help="print only a one-line JSON summary on stdout (table on stderr)")
    args = _smoke.parse(p, {"n": 400, "sources": 5, "days": 4, "expired_days": 2, "repeat": 1,
                            "index_rows": 2000, "index_sources": 2, "queries": 20,
                            "cold_queries": 5, "index_db": ["sqlite"], "index_sweep": False},
                        argv)
    if args.reuse is not None:
        args.dir, args.keep, args.skip_sweep = args.reuse, True, True
    if set(args.index_db) - {"sqlite", "postgresql"}:
        p.error("--index-db: sqlite and/or postgresql")
    if args.expired_days >= args.days or args.expired_days < 1:
        p.error("--expired-days must be between 1 and --days - 1")
    if args.n < args.sources * args.days:
        p.error("--n must be at least --sources x --days")
    return args


Row = tuple[str, str]


def sweep_part(args: argparse.Namespace, work: Path,
               loads: list[tuple[str, float]]) -> tuple[list[Row], dict[str, Any], bool]:
    """Part 1; its data (hundreds of thousands of keys) is freed when it returns."""
    log(f"tree: building {args.n:,} files in {work} ...")
    tree = build_tree(work / "master", args.n, args.sources, args.days,
                      args.expired_days, args.seed)
    log(f"tree: built in {tree.build_s:.0f} s; {len(tree.expired_keys):,} expired, "
        f"{len(tree.held_ids):,} of them held")
    finds: list[FindRun] = []
    sweeps: list[SweepRun] = []
    for r in range(args.repeat):
        find_root = work / f"find-{r}"
        find_root.mkdir()
        copy_tree(tree.media, find_root / "media")
        last = r == args.repeat - 1
        sweep_root = tree.root if last else work / f"sweep-{r}"
        if not last:
            copy_tree(tree.root, sweep_root)
        os.sync()
        loads.append((f"round {r + 1}", os.getloadavg()[0]))
        order = ["find", "sweep"] if r % 2 == 0 else ["sweep", "find"]
        for who in order:
            if who == "find":
                finds.append(run_find(tree, find_root / "media"))
                log(f"round {r + 1}: find {finds[-1].seconds:.2f} s")
            else:
                sweeps.append(run_and_check_sweep(tree, sweep_root))
                log(f"round {r + 1}: sweep {sweeps[-1].seconds:.2f} s")
        if not args.keep:
            shutil.rmtree(find_root)
            if not last:
                shutil.rmtree(sweep_root)
    sweep_s = min(x.seconds for x in sweeps)
    find_s = min(x.seconds for x in finds)
    ratio = sweep_s / find_s
    problems = [p for x in [*finds, *sweeps] for p in x.problems]
    held_pct = 100 * len(tree.held_ids) / max(1, len(tree.expired_keys))
    rounds = f" (best of {args.repeat})" if args.repeat > 1 else ""
    table = [
        ("files in tree (N)", f"{args.n:,} ({tree.bytes / 2**20:.0f} MiB, "
         f"{args.sources} cameras x {args.days} days of {SEGMENT_S} s segments)"),
        ("expired at sweep time", f"{len(tree.expired_keys):,} "
         f"({100 * len(tree.expired_keys) / args.n:.1f} %)"),
        ("held (of expired)", f"{len(tree.held_ids):,} ({held_pct:.1f} %, "
         f"{tree.holds} holds)"),
        ("tree build + index", f"{tree.build_s:.1f} s"),
        ("find deleted", f"{finds[-1].deleted:,}  (find -type f -mmin "
         f"{finds[-1].minutes} -delete)"),
        ("sweep deleted", f"{sweeps[-1].deleted:,}  (+ {sweeps[-1].deleted:,} "
         "deletion records, 1 audit entry)"),
        ("find wall time" + rounds, f"{find_s:.3f} s  "
         f"[{', '.join(f'{x.seconds:.3f}' for x in finds)}]"),
        ("sweep wall time" + rounds, f"{sweep_s:.3f} s  "
         f"[{', '.join(f'{x.seconds:.3f}' for x in sweeps)}]  (+ vault open "
         f"{sweeps[-1].open_s:.3f} s, not counted)"),
        ("ratio sweep/find", f"{ratio:.2f}  (target <= 1.0: "
         f"{'met' if ratio <= 1.0 else 'MISSED'})"),
        ("checks", "all passed: held files survived, disk == index, one deletion "
         "record per item, find removed exactly the expired files, audit chain "
         "intact" if not problems else "FAILED: " + "; ".join(problems)),
        ("cache", "warm trees (page cache not dropped; synced before timing); "
         "rounds alternate who runs first"),
    ]
    summary = {"n": args.n, "expired": len(tree.expired_keys), "held": len(tree.held_ids),
               "find_deleted": finds[-1].deleted, "sweep_deleted": sweeps[-1].deleted,
               "find_s": round(find_s, 3), "sweep_s": round(sweep_s, 3),
               "ratio": round(ratio, 3), "sweep_target_met": ratio <= 1.0,
               "checks_ok": not problems, "repeat": args.repeat}
    return table, summary, not problems


def index_report(args: argparse.Namespace, work: Path) -> tuple[list[Row], dict[str, Any]]:
    """Parts 2 and 3 for each database asked for: build (or reuse) the big index, time the
    query, and (--index-sweep) the sweep of one expired day against it."""
    table: list[Row] = []
    summary: dict[str, Any] = {}
    for db in args.index_db:
        big = open_or_build(db, work, args)
        log(f"index ({db}): timing {args.queries} queries ...")
        t = time_queries(big, args)
        size = db_bytes(big, args)
        sp, cold = t["spans"], t["cold"]
        met = sp["p99"] <= 5.0
        table += [
            (f"[{db}] index rows", f"{big.rows:,} ({big.sources} sources x "
             f"{big.per_source:,} segments of {SEGMENT_S} s = {big.history_days} days, "
             f"written slot by slot as recorders do; DB {size / 2**30:.1f} GiB)"),
            (f"[{db}] index build", f"{big.build_s:.0f} s" + (" (reused)" if big.reused
                                                              else "")),
            (f"[{db}] query", f"spans(source, t, t + 1 h): {args.queries} random after "
             f"a warm-up, {t['rows_per_query']:.0f} rows each"),
            (f"[{db}] p50 / p99 (spans)", f"{sp['p50']:.2f} / {sp['p99']:.2f} ms (max "
             f"{sp['max']:.1f}; the timeline and the playlists; target p99 <= 5 ms: "
             f"{'met' if met else 'MISSED'})"),
            (f"[{db}] p50 / p99 spans CPU", f"{t['spans_cpu']['p50']:.2f} / "
             f"{t['spans_cpu']['p99']:.2f} ms (this process's CPU per spans query: SQLAlchemy, "
             "the driver and, on SQLite, the query itself)"),
            (f"[{db}] p50 / p99 first pass", f"{cold['p50']:.2f} / {cold['p99']:.2f} ms "
             f"({t['cold_n']} windows never read before by this process; cold-ish)"),
            (f"[{db}] p50 / p99 (before 0024)", f"{t['meta']['p50']:.2f} / "
             f"{t['meta']['p99']:.2f} ms (the same windows with meta read as spans read it "
             "before migration 0024: every row from the table)"),
            (f"[{db}] p50 / p99 (ORM)", f"{t['orm']['p50']:.2f} / {t['orm']['p99']:.2f} ms "
             "(overlapping as entities, as making a copy reads them)"),
            (f"[{db}] p50 / p99 (SQL)", f"{t['sql']['p50']:.2f} / {t['sql']['p99']:.2f} ms "
             "(spans' statements on the bare driver)"),
            (f"[{db}] plan", " | ".join(t["plan"])),
        ]
        summary[db] = {"rows": big.rows, "build_s": round(big.build_s), "reused": big.reused,
                       "bytes": size, "rows_per_query": round(t["rows_per_query"]),
                       **{f"{k}_{p}_ms": round(t[k][p], 3) for k in ("spans", "cold", "orm",
                                                                     "sql", "meta",
                                                                     "spans_cpu")
                          for p in ("p50", "p99")},
                       "query_target_met": met, "plan": t["plan"]}
        for key, value in table[-10:]:
            log(f"{key}: {value}")  # now, in case the sweep below fails
        if args.index_sweep:
            r = big_sweep(big, args, work)
            ok = not r["problems"]
            table += [
                (f"[{db}] sweep of day 0", f"{r['files']:,} files (empty; only day 0's rows "
                 f"have files) among {big.rows:,} rows: sweep {r['sweep_s']:.2f} s, find "
                 f"{r['find_s']:.2f} s, ratio {r['ratio']:.2f} (target <= 1.0: "
                 f"{'met' if r['ratio'] <= 1.0 else 'MISSED'}; load {r['load']:.2f})"),
                (f"[{db}] sweep checks", "passed" if ok else "FAILED: "
                 + "; ".join(r["problems"])),
            ]
            summary[db].update({"sweep_files": r["files"], "sweep_s": round(r["sweep_s"], 2),
                                "find_s": round(r["find_s"], 2),
                                "sweep_ratio": round(r["ratio"], 3), "sweep_ok": ok})
        if not args.keep:
            if db == "postgresql":
                pg_admin(args.pg_admin, f"DROP DATABASE IF EXISTS {pg_name(big.rows)}")
            shutil.rmtree(big.root, ignore_errors=True)
    return table, summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.dir is None:
        work = Path(tempfile.mkdtemp(prefix="kustosz-bench-"))
    else:
        work = args.dir
        work.mkdir(parents=True, exist_ok=True)
        if args.reuse is None and any(work.iterdir()):
            raise SystemExit(f"{work} is not empty")
    out = sys.stderr if args.json else sys.stdout
    summary: dict[str, Any] = {"bench": "retention", "date": datetime.now(UTC).isoformat(
        timespec="seconds"), "machine": machine()}
    ok = True
    table: list[Row] = []
    loads = [("start", os.getloadavg()[0])]
    try:
        if not args.skip_sweep:
            rows, facts, passed = sweep_part(args, work, loads)
            table += rows
            summary.update(facts)
            ok = ok and passed
            gc.collect()
        if not args.skip_index:
            rows, facts = index_report(args, work)
            table += rows
            summary.update(facts)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    loads.append(("end", os.getloadavg()[0]))
    table += [("machine", summary["machine"]),
              ("load average (1 min)", ", ".join(f"{v:.2f} at {k}" for k, v in loads)
               + "  (other work on the machine skews both timings)"),
              ("total run time", f"{total:.0f} s")]
    summary["loadavg"] = {k: round(v, 2) for k, v in loads}
    summary["total_s"] = round(total, 1)
    width = max(len(k) for k, _ in table)
    print("\nKustosz retention benchmark", file=out)
    for key, value in table:
        print(f"  {key:<{width}}  {value}", file=out)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
