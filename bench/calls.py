"""Benchmark: call intake against `cp -r`, and number + date search over many indexed calls.

Part 1 writes a FreePBX-shaped spool of ``--files`` short WAV recordings (0.2 s, 8 kHz) with
their Master.csv, then times `cp -r SPOOL COPY` and one `kustosz.ingest.phone.intake.scan`
(reading the CDR, pairing, parsing, hashing, atomic copy with fsync, indexing) on the same
tree; the ratio is cp's time over the scan's (target >= 0.5).

Part 2 bulk-builds ``--index-rows`` calls (recordings + calls rows, no files) over 90 days and
10 000 callers, and times random `search_calls(number, date)` queries; prints p50/p99
(target p99 <= 20 ms).

Run: `.venv/bin/python bench/calls.py [--files 100000] [--index-rows 1000000]`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.calls.calls_pbx import (
    OFFICE_DID,
    Pbx,
    PhoneCall,
    add_line,
    asterisk_line,
)

from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.index.calls import search_calls, window
from kustosz.index.sources import add_source
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault


def build_spool(pbx: Pbx, n: int) -> None:
    import struct
    import wave

    frames = b"".join(struct.pack("<h", (i * 37) % 2000) for i in range(1600))
    base = datetime(2026, 11, 2, 8, 0, 0)
    lines = []
    for i in range(n):
        call = PhoneCall("in", OFFICE_DID, f"6{i % 100000:08d}", base + timedelta(seconds=7 * i),
                         f"{1762066800 + i}.{i}", seconds=0.2)
        path = pbx.spool / call.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(frames[: 3200 - (i % 7) * 2])
        start = call.local_start - timedelta(seconds=3)
        lines.append(asterisk_line({
            "src": call.src, "dst": "201", "dcontext": "from-trunk", "clid": call.src,
            "channel": "PJSIP/trunk-1", "dstchannel": "PJSIP/201-2", "lastapp": "Dial",
            "lastdata": "PJSIP/201,30", "start": start, "answer": call.local_start,
            "end": call.local_start + timedelta(seconds=1), "duration": 4, "billsec": 1,
            "disposition": "ANSWERED", "amaflags": "DOCUMENTATION", "uniqueid": call.uniqueid,
            "userfield": call.name, "linkedid": call.uniqueid, "sequence": i}))
    pbx.master.write_text("".join(lines))
    subprocess.run(["sync"], check=True)


def part1(tmp: Path, n: int) -> None:
    pbx = Pbx(tmp / "pbx")
    t = time.perf_counter()
    build_spool(pbx, n)
    print(f"spool of {n} recordings built in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    subprocess.run(["cp", "-r", str(pbx.spool), str(tmp / "cp-copy")], check=True)
    subprocess.run(["sync"], check=True)
    cp_s = time.perf_counter() - t
    vault = Vault.init(tmp / "vault", "boleslawiec", actor="bench")
    add_line(vault, pbx)
    t = time.perf_counter()
    if os.environ.get("KUSTOSZ_BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("scan(vault, \"centrala\", sleep=lambda _: None)", globals(), locals(),
                        os.environ["KUSTOSZ_BENCH_PROFILE"])
    report = scan(vault, "centrala", sleep=lambda _: None)
    scan_s = time.perf_counter() - t
    assert report.stored == n, report
    vault.close()
    print(f"cp -r (+sync): {cp_s:.2f}s ({n / cp_s:.0f} files/s)")
    print(f"phones scan:   {scan_s:.2f}s ({n / scan_s:.0f} files/s)")
    print(f"ratio (cp time / scan time): {cp_s / scan_s:.3f}  (target >= 0.5)")


def part2(tmp: Path, rows: int, queries: int) -> None:
    vault = Vault.init(tmp / "vault2", "boleslawiec", actor="bench")
    with vault.transaction() as s:
        src = add_source(s, vault.policy, "centrala", "phone", "bench")
        src_id = src.id
    rng = random.Random(7)
    base = datetime(2026, 8, 1, tzinfo=UTC)
    span = 90 * 86400
    t = time.perf_counter()
    batch = 50_000
    for first in range(0, rows, batch):
        recs, calls = [], []
        for i in range(first, min(rows, first + batch)):
            start = base + timedelta(seconds=rng.randrange(span))
            recs.append({"id": i + 1, "source_id": src_id, "kind": "phone", "start_at": start,
                         "end_at": start + timedelta(seconds=90), "size": 1000,
                         "sha256": None, "storage_key": f"c/{i}.wav", "meta": {},
                         "state": "stored", "expires_at": start + timedelta(days=92),
                         "ingested_at": start})
            calls.append({"recording_id": i + 1, "source_id": src_id, "start_at": start,
                          "caller": f"+48600{rng.randrange(10000):06d}", "callee": "201",
                          "direction": "incoming", "uniqueid": f"{i}.{i}",
                          "disposition": "ANSWERED", "no_cdr": False})
        with vault.transaction() as s:
            s.execute(sa.insert(Recording), recs)
            s.execute(sa.insert(Call), calls)
    with vault.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(f"{rows} calls indexed in {time.perf_counter() - t:.1f}s")
    tz = vault.policy.timezone
    timings = []
    found = 0
    with vault.reading() as s:
        for _ in range(queries):
            number = f"600 {rng.randrange(10000):06d}"
            day = date(2026, 8, 1) + timedelta(days=rng.randrange(90))
            t = time.perf_counter()
            found += len(search_calls(s, number, None, *window(day, tz)))
            timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"search number+date over {rows} calls: p50 {statistics.median(timings):.2f} ms, "
          f"p99 {p99:.2f} ms (target <= 20 ms); {found} hits in {queries} queries")
    vault.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--index-rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kustosz-bench-calls-"))
    try:
        if not args.skip_intake:
            part1(tmp, args.files)
        if not args.skip_search:
            part2(tmp, args.index_rows, args.queries)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
