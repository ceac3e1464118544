"""Soak: `kustosz serve` with N RTSP cameras for a while, its memory sampled (issue 48 item 16).

A fresh vault with N cameras (default 8) served by the tests' GStreamer RTSP server
(`tests/support/rtsp.py`; `--source clip`: the pre-encoded 1280x720@25 H.264 clip in a loop,
as bench/recorders.py), then `python -m kustosz --data VAULT serve` (this checkout's `src`,
the web app on a free local port) for `--minutes`. Every `--sample-s` (30 s) serve's RSS is
read from /proc/PID/status (VmRSS) and written to OUT/rss.csv.

`--tracemalloc`: serve runs with KUSTOSZ_TRACEMALLOC_DIR=OUT/snapshots (kustosz.diagnostics.
tracemalloc_dump: tracemalloc with 25 frames, a snapshot every `--snapshot-every` s). At the
end the first snapshot at or after `--warmup-min` is compared with the last one, grouped by
traceback and by line, and the 15 sites that grew most are printed.

Printed in any case: RSS at the start (first sample after warm-up) and at the end, and the
RSS slope (kB/min, least squares) over the first and the second half of the run.

Run: `.venv/bin/python bench/soak_memory.py [--cameras 8] [--minutes 180] [--tracemalloc]
[--snapshot-every 300] [--out DIR]`; `--analyze DIR` re-reads a finished run's folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.rtsp import (  # noqa: E402
    RtspServer,
    gst_available,
    gst_skip_reason,
    pre_encoded_clip,
)

import _smoke  # noqa: E402 - bench/ is the script's folder
from recorders import office_with_cameras  # noqa: E402 - the same office as the recorders bench


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slope_kb_min(points: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of (seconds, kB) in kB per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if not sxx:
        return None
    return sum((t - mx) * (v - my) for t, v in points) / sxx * 60


def soak(a: argparse.Namespace, out: Path) -> None:
    clip = pre_encoded_clip(kbps=a.bitrate_kbps) if a.source == "clip" else None
    snaps = out / "snapshots"
    with RtspServer(mounts=a.cameras, bitrate_kbps=a.bitrate_kbps, clip=clip) as server:
        vault = out / "vault"
        office_with_cameras(vault, server, a.cameras)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        env.pop("KUSTOSZ_TRACEMALLOC_DIR", None)
        if a.tracemalloc:
            env["KUSTOSZ_TRACEMALLOC_DIR"] = str(snaps)
            env["KUSTOSZ_TRACEMALLOC_EVERY_S"] = str(a.snapshot_every)
        log = (out / "serve.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kustosz", "--data", str(vault), "serve",
             "--port", str(free_port())], env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        print(f"serve pid {proc.pid}; {a.cameras} cameras; {a.minutes:g} min; out {out}",
              flush=True)
        started = time.monotonic()
        end = started + a.minutes * 60
        try:
            with (out / "rss.csv").open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["seconds", "rss_kb", "utc"])
                while time.monotonic() < end and proc.poll() is None:
                    kb = rss_kb(proc.pid)
                    t = time.monotonic() - started
                    if kb is not None:
                        w.writerow([f"{t:.0f}", kb, f"{datetime.now(UTC):%H:%M:%S}"])
                        f.flush()
                        print(f"  {t / 60:6.1f} min  RSS {kb / 1024:8.1f} MiB", flush=True)
                    time.sleep(max(0.0, min(a.sample_s, end - time.monotonic())))
            if proc.poll() is not None:
                tail = (out / "serve.log").read_text("utf-8", "replace").splitlines()[-5:]
                sys.exit(f"serve exited early ({proc.returncode}); see {out / 'serve.log'}: "
                         + " | ".join(tail))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            log.close()
    from kustosz.vault import Vault

    kept = Vault.open(vault, actor="bench")
    try:
        _smoke.check_vault(kept)
    finally:
        kept.close()


def analyze(out: Path, warmup_min: float, top: int = 15) -> None:
    rows = list(csv.DictReader((out / "rss.csv").open()))
    points = [(float(r["seconds"]), int(r["rss_kb"])) for r in rows]
    if points:
        total = points[-1][0]
        after = [p for p in points if p[0] >= warmup_min * 60] or points
        half = total / 2
        first = [p for p in points if p[0] <= half]
        second = [p for p in points if p[0] >= half]
        s1, s2, sw = slope_kb_min(first), slope_kb_min(second), slope_kb_min(after)
        print(f"RSS: {len(points)} samples over {total / 60:.1f} min; at the start "
              f"{points[0][1] / 1024:.1f} MiB, after warm-up ({after[0][0] / 60:.1f} min) "
              f"{after[0][1] / 1024:.1f} MiB, at the end {points[-1][1] / 1024:.1f} MiB")
        mid = (after[0][0] + total) / 2  # the time after warm-up, halved
        w1 = slope_kb_min([p for p in after if p[0] <= mid])
        w2 = slope_kb_min([p for p in after if p[0] >= mid])

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"
        print(f"RSS slope (kB/min): first half of the run {fmt(s1)}, second half {fmt(s2)}; "
              f"after warm-up {fmt(sw)} (its first half {fmt(w1)}, second half {fmt(w2)})")
    files = sorted((out / "snapshots").glob("snapshot-*.pickle"))
    if not files:
        return

    def seconds(p: Path) -> float:
        return float(p.stem.split("-")[2])

    keep = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
            tracemalloc.Filter(False, "<unknown>")]
    # the traced Python heap at every snapshot: levels off, or a slope
    heap = [(seconds(p), sum(t.size for t in tracemalloc.Snapshot.load(str(p))
                                 .filter_traces(keep[:1]).traces) // 1024) for p in files]
    print("traced heap (min: KiB): " + ", ".join(f"{t / 60:.0f}: {kb}" for t, kb in heap))
    after_heap = [h for h in heap if h[0] >= warmup_min * 60]
    hs = slope_kb_min([(t, kb) for t, kb in after_heap])
    print("traced heap slope after warm-up (KiB/min): " + ("-" if hs is None else f"{hs:.1f}"))
    base = next((p for p in files if seconds(p) >= warmup_min * 60), files[0])
    last = files[-1]
    if base == last:
        print(f"one snapshot after warm-up only ({base.name}): nothing to compare")
        return
    s0 = tracemalloc.Snapshot.load(str(base)).filter_traces(keep)
    s1_ = tracemalloc.Snapshot.load(str(last)).filter_traces(keep)
    t0, t1 = seconds(base), seconds(last)
    size0 = sum(s.size for s in s0.statistics("filename"))
    size1 = sum(s.size for s in s1_.statistics("filename"))
    span = (t1 - t0) / 60
    print(f"tracemalloc: {base.name} ({t0 / 60:.1f} min) -> {last.name} ({t1 / 60:.1f} min): "
          f"traced {size0 / 1024:.0f} -> {size1 / 1024:.0f} KiB "
          f"({(size1 - size0) / 1024 / span:+.1f} KiB/min)")
    print(f"top {top} growing sites by line:")
    for st in s1_.compare_to(s0, "lineno")[:top]:
        fr = st.traceback[0]
        print(f"  {st.size_diff / 1024:+9.1f} KiB {st.count_diff:+7d} blocks "
              f"(now {st.size / 1024:9.1f} KiB)  {fr.filename}:{fr.lineno}")
    print(f"top {top} growing sites by traceback (innermost kustosz frames shown):")
    for st in s1_.compare_to(s0, "traceback")[:top]:
        frames = [f for f in st.traceback if "/kustosz/" in f.filename][-4:] or \
            list(st.traceback)[-1:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
        fr = st.traceback[-1]
        print(f"  {st.size_diff / 1024:+9.1f} KiB {st.count_diff:+7d} blocks  "
              f"{Path(fr.filename).name}:{fr.lineno}  [{where}]")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cameras", type=int, default=8)
    p.add_argument("--minutes", type=float, default=180.0)
    p.add_argument("--sample-s", type=float, default=30.0, help="RSS sampling period")
    p.add_argument("--tracemalloc", action="store_true",
                   help="serve takes tracemalloc snapshots (KUSTOSZ_TRACEMALLOC_DIR)")
    p.add_argument("--snapshot-every", type=float, default=300.0, help="seconds")
    p.add_argument("--warmup-min", type=float, default=5.0,
                   help="the snapshot compared with the last is the first at or after this")
    p.add_argument("--source", choices=("clip", "encode"), default="clip")
    p.add_argument("--bitrate-kbps", type=int, default=4000)
    p.add_argument("--out", type=Path, help="folder for the vault, rss.csv, snapshots, log "
                                            "(default: a new one under /tmp)")
    p.add_argument("--analyze", type=Path, metavar="OUT", help="only analyse a finished run")
    a = _smoke.parse(p, {"cameras": 1, "minutes": 0.2, "sample_s": 3.0, "warmup_min": 0.0})
    if a.analyze:
        analyze(a.analyze, a.warmup_min)
        return
    if not gst_available():
        _smoke.unavailable(gst_skip_reason())
    out = a.out or Path(tempfile.gettempdir()) / f"kustosz-soak-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; nproc {os.cpu_count()}; CPU {cpu_model()}; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    soak(a, out)
    print(f"ended {datetime.now(UTC):%Y-%m-%d %H:%M UTC}", flush=True)
    analyze(out, a.warmup_min)
    if a.smoke and a.out is None:  # a full run's folder is kept for --analyze
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
