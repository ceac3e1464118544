"""Benchmark: call intake against `cp -r` + `sync`, and number + date search over many calls.

Part 1 times one `kustosz.ingest.phone.intake.scan` (reading Master.csv, pairing, path and
format checks, hashing, copy into storage with one syncfs a batch, index rows, audit) against
`cp -r SPOOL COPY && sync` of the same spool, measured in the same run, on two spools; each
scan's vault then passes the store check and `audit verify` (`_smoke.check_vault`, untimed):

* tiny: ``--files`` WAV recordings of 0.2 s (8 kHz 16-bit mono, 3.2 kB): the per-file cost
  alone. Prints the ratio (cp's time over the scan's) and the scan's files/s
  (target >= 5 000 files/s).
* realistic: ``--realistic`` recordings whose lengths are drawn from a log-normal
  distribution with a median of 90 s (sigma 0.8, 2 s to 20 min), ``--mp3-share`` of them MP3
  and the rest WAV, as FreePBX writes them: WAV 8 kHz 16-bit mono PCM (16 kB/s) and MP3 from
  lame at 8 kHz mono 16 kbit/s. ffmpeg makes one long recording of each kind once (pink
  noise); every file is a different slice of it (whole PCM frames behind a WAV header; whole
  MP3 frames), so every file is valid audio with its own bytes. Ratio target >= 0.5.
  The default 1 000 files are about 2 GB and take a couple of minutes in all.

Part 2 bulk-builds ``--index-rows`` calls (recordings + calls rows, no files) over 90 days and
10 000 callers, and times random `search_calls(number, date)` queries; prints p50/p99
(target p99 <= 20 ms).

Run: `.venv/bin/python bench/calls.py [--files 30000] [--realistic 1000] [--index-rows ...]`;
``--ab`` also times each scan with the storage's former named temporary file + rename (same
run, same spool, first; the spool is in the page cache for both, built and copied just before);
KUSTOSZ_BENCH_PROFILE=out.prof profiles the scans (out.prof.tiny, out.prof.realistic), which
slows them: the figures of a profiled run are not the benchmark's.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import wave
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import _smoke  # bench/ is the script's folder
from _calls_floor import floor_scan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.calls.calls_pbx import (
    OFFICE_DID,
    Pbx,
    PhoneCall,
    add_line,
    asterisk_line,
)

from kustosz import side_process
from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.index.calls import search_calls, window
from kustosz.index.sources import add_source
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

BASE = datetime(2026, 11, 2, 8, 0, 0)
LONGEST_S = 1200


def cdr_line(call: PhoneCall, name: str, i: int, seconds: int) -> str:
    start = call.local_start - timedelta(seconds=3)
    return asterisk_line({
        "src": call.src, "dst": "201", "dcontext": "from-trunk", "clid": call.src,
        "channel": "PJSIP/trunk-1", "dstchannel": "PJSIP/201-2", "lastapp": "Dial",
        "lastdata": "PJSIP/201,30", "start": start, "answer": call.local_start,
        "end": call.local_start + timedelta(seconds=seconds), "duration": seconds + 3,
        "billsec": seconds, "disposition": "ANSWERED", "amaflags": "DOCUMENTATION",
        "uniqueid": call.uniqueid, "userfield": name, "linkedid": call.uniqueid,
        "sequence": i})


def build_spool(pbx: Pbx, n: int) -> None:
    """``n`` tiny WAV recordings (0.2 s) with their Master.csv."""
    frames = b"".join(struct.pack("<h", (i * 37) % 2000) for i in range(1600))
    lines = []
    for i in range(n):
        call = PhoneCall("in", OFFICE_DID, f"6{i % 100000:08d}", BASE + timedelta(seconds=7 * i),
                         f"{1762066800 + i}.{i}", seconds=0.2)
        path = pbx.spool / call.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(frames[: 3200 - (i % 7) * 2])
        lines.append(cdr_line(call, call.name, i, 1))
    pbx.master.write_text("".join(lines))
    subprocess.run(["sync"], check=True)


# -- realistic recordings -------------------------------------------------------------------
_MP3_KBPS = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frames(data: bytes) -> list[int]:
    """Offsets of the MPEG audio layer III frames of ``data`` (and its end), walking the
    frame headers from the first sync."""
    at = data.find(b"\xff")
    offsets = []
    while at + 4 <= len(data):
        h = struct.unpack_from(">I", data, at)[0]
        if h >> 21 != 0x7FF or (h >> 17) & 3 != 1:  # frame sync, layer III
            break
        version = (h >> 19) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        kbps = _MP3_KBPS[1 if version == 3 else 2][(h >> 12) & 15]
        rate = _MP3_RATES[version][(h >> 10) & 3]
        per = 144 if version == 3 else 72
        offsets.append(at)
        at += per * kbps * 1000 // rate + ((h >> 9) & 1)
    offsets.append(at)
    return offsets


def make_sources(tmp: Path) -> tuple[bytes, bytes, list[int]]:
    """One long recording of each kind, made by ffmpeg once: (PCM samples of the WAV, the
    MP3's bytes, its frame offsets)."""
    ff = ffmpeg_exe()
    src = ["-f", "lavfi", "-i", f"anoisesrc=d={LONGEST_S + 60}:c=pink:r=8000:a=0.15:seed=7"]
    wav, mp3 = tmp / "long.wav", tmp / "long.mp3"
    subprocess.run([ff, "-hide_banner", "-loglevel", "error", "-y", *src, "-ac", "1",
                    "-ar", "8000", "-c:a", "pcm_s16le", str(wav)], check=True)
    # lame's output as FreePBX converts a call: 8 kHz mono CBR; no ID3 tag or Xing frame, so
    # any run of whole frames is a complete MP3 file.
    subprocess.run([ff, "-hide_banner", "-loglevel", "error", "-y", *src, "-ac", "1",
                    "-ar", "8000", "-c:a", "libmp3lame", "-b:a", "16k", "-write_xing", "0",
                    "-id3v2_version", "0", "-f", "mp3", str(mp3)], check=True)
    with wave.open(str(wav), "rb") as w:
        pcm = w.readframes(w.getnframes())
    data = mp3.read_bytes()
    wav.unlink()
    mp3.unlink()
    return pcm, data, mp3_frames(data)


def build_realistic(pbx: Pbx, tmp: Path, n: int, mp3_share: float) -> tuple[int, list[float]]:
    """``n`` recordings of realistic lengths; returns their total bytes and lengths."""
    pcm, mp3, frames = make_sources(tmp)
    rng = random.Random(90)
    total, lengths, lines = 0, [], []
    for i in range(n):
        seconds = min(LONGEST_S, max(2.0, rng.lognormvariate(math.log(90), 0.8)))
        lengths.append(seconds)
        call = PhoneCall("in", OFFICE_DID, f"5{i % 100000:08d}",
                         BASE + timedelta(seconds=300 * i), f"{1762066800 + i}.{i}",
                         seconds=seconds)
        is_mp3 = rng.random() < mp3_share
        name = call.name.removesuffix(".wav") + (".mp3" if is_mp3 else ".wav")
        path = pbx.spool / call.relpath.removesuffix(call.name) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_mp3:
            count = int(seconds * 8000 / 576)  # MPEG-2.5 layer III: 576 samples a frame
            first = rng.randrange(len(frames) - 1 - count)
            path.write_bytes(mp3[frames[first]:frames[first + count]])
        else:
            samples = int(seconds * 8000)
            first = rng.randrange(len(pcm) // 2 - samples)
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(pcm[2 * first:2 * (first + samples)])
        total += path.stat().st_size
        lines.append(cdr_line(call, name, i, math.ceil(seconds)))
    pbx.master.write_text("".join(lines))
    subprocess.run(["sync"], check=True)
    return total, lengths


def timed_scan(tmp: Path, pbx: Pbx, label: str, named_temp: bool = False) -> float:
    vault = Vault.init(tmp / f"vault-{label}", "boleslawiec", actor="bench")
    if named_temp:  # --ab: the storage's named temporary file + rename, as before O_TMPFILE
        vault.storage._linkable = False  # type: ignore[attr-defined]
    add_line(vault, pbx)
    subprocess.run(["sync"], check=True)  # nothing of the set-up left for the scan to flush
    profile = os.environ.get("KUSTOSZ_BENCH_PROFILE")
    cpu_before = cpu_now()
    t = time.perf_counter()
    if profile:
        import cProfile

        with cProfile.Profile() as prof:
            report = scan(vault, "centrala", sleep=lambda _: None)
        prof.dump_stats(f"{profile}.{label}")
    else:
        report = scan(vault, "centrala", sleep=lambda _: None)
    took = time.perf_counter() - t
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_now().items()}
    print(f"{label}: CPU seconds in a scan of {took:.2f} s: "
          + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    expected = sum(1 for p in pbx.spool.rglob("*") if p.is_file())
    assert report.stored == expected and not report.skipped, report
    _smoke.check_vault(vault)  # the store check and `audit verify`, after the timing
    vault.close()
    return took


def cpu_now() -> dict[str, float]:
    """CPU seconds so far: the intake's thread, its whole process, and each side process
    (`kustosz.side_process`) — where a scan's two cores go."""
    out = {"intake thread": time.thread_time(), "intake process": time.process_time()}
    tick = os.sysconf("SC_CLK_TCK")
    for kind in side_process.TASKS:
        for pid in side_process.pids(kind):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            out[f"side {kind}"] = (int(stat[11]) + int(stat[12])) / tick  # utime + stime
    return out


def timed_floor(tmp: Path, pbx: Pbx, label: str) -> float:
    """The floor's pass over the same spool (`_calls_floor`): plain Python and sqlite3 doing
    what the promises require of any intake."""
    work = tmp / f"floor-{label}"
    work.mkdir()
    subprocess.run(["sync"], check=True)
    t = time.perf_counter()
    taken = floor_scan(pbx.spool, pbx.master, work)
    took = time.perf_counter() - t
    expected = sum(1 for p in pbx.spool.rglob("*") if p.is_file())
    assert taken == expected, (taken, expected)
    return took


def timed_cp(tmp: Path, pbx: Pbx, label: str) -> float:
    subprocess.run(["sync"], check=True)
    t = time.perf_counter()
    subprocess.run(["cp", "-r", str(pbx.spool), str(tmp / f"cp-{label}")], check=True)
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - t


def part1(tmp: Path, n: int, realistic: int, mp3_share: float, ab: bool = False) -> None:
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if n:
        pbx = Pbx(tmp / "pbx-tiny")
        t = time.perf_counter()
        build_spool(pbx, n)
        print(f"tiny: spool of {n} recordings built in {time.perf_counter() - t:.1f}s")
        cp_s = timed_cp(tmp, pbx, "tiny")
        if ab:
            old_s = timed_scan(tmp, pbx, "tiny-before", named_temp=True)
            print(f"tiny: scan with the named temporary file {old_s:.2f}s "
                  f"({n / old_s:.0f} files/s, ratio {cp_s / old_s:.3f})")
        scan_s = timed_scan(tmp, pbx, "tiny")
        floor_s = timed_floor(tmp, pbx, "tiny")
        print(f"tiny: cp -r (+sync) {cp_s:.2f}s ({n / cp_s:.0f} files/s); "
              f"scan {scan_s:.2f}s ({n / scan_s:.0f} files/s, target >= 5000)")
        print(f"tiny: ratio (cp time / scan time): {cp_s / scan_s:.3f}")
        print(f"tiny: the floor (plain Python and sqlite3 doing what the promises require, "
              f"bench/_calls_floor.py) {floor_s:.2f}s ({n / floor_s:.0f} files/s); the scan "
              f"takes {(scan_s - floor_s) / n * 1e6:.0f} us a file more")
        shutil.rmtree(tmp / "cp-tiny", ignore_errors=True)
    if realistic:
        pbx = Pbx(tmp / "pbx-real")
        t = time.perf_counter()
        size, lengths = build_realistic(pbx, tmp, realistic, mp3_share)
        print(f"realistic: {realistic} recordings, {size / 1e9:.2f} GB, median "
              f"{statistics.median(lengths):.0f} s, mean {statistics.mean(lengths):.0f} s, "
              f"built in {time.perf_counter() - t:.1f}s")
        cp_s = timed_cp(tmp, pbx, "real")
        if ab:
            old_s = timed_scan(tmp, pbx, "real-before", named_temp=True)
            print(f"realistic: scan with the named temporary file {old_s:.2f}s "
                  f"({size / old_s / 1e6:.0f} MB/s, ratio {cp_s / old_s:.3f})")
        scan_s = timed_scan(tmp, pbx, "real")
        print(f"realistic: cp -r (+sync) {cp_s:.2f}s ({size / cp_s / 1e6:.0f} MB/s); "
              f"scan {scan_s:.2f}s ({size / scan_s / 1e6:.0f} MB/s, "
              f"{realistic / scan_s:.0f} files/s)")
        print(f"realistic: ratio (cp time / scan time): {cp_s / scan_s:.3f}  (target >= 0.5)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


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
    parser.add_argument("--files", type=int, default=30_000, help="tiny recordings")
    parser.add_argument("--realistic", type=int, default=1000,
                        help="recordings of realistic lengths (WAV and MP3)")
    parser.add_argument("--mp3-share", type=float, default=0.3)
    parser.add_argument("--index-rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--ab", action="store_true",
                        help="also time the scan with the storage's named temporary file and "
                             "rename (before O_TMPFILE), in the same run")
    args = _smoke.parse(parser, {"files": 50, "realistic": 4, "index_rows": 1000,
                                 "queries": 20})
    tmp = Path(tempfile.mkdtemp(prefix="kustosz-bench-calls-"))
    try:
        if not args.skip_intake:
            part1(tmp, args.files, args.realistic, args.mp3_share, args.ab)
        if not args.skip_search:
            part2(tmp, args.index_rows, args.queries)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
