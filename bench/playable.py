"""Benchmark: the playable copy of one camera (issue 17 item 5) against a plain ffmpeg concat.

Material: as bench/export.py — 60 s of `testsrc2` (1280x720@25, H.264 ~4 Mbit/s, keyframe
every 2 s) looped with `-c copy` into consecutive 10-second MPEG-TS segments, stamped 10 s
apart from a local morning.

Timed, alternating which goes first (medians reported):

* playable: `kustosz.playable.make_playable` over the segments — decode, burn in the
  time and the copy's number with drawtext, re-encode with libx264 (veryfast, CRF 23),
  join, faststart: what an authority's copy adds beside the bit-exact bundle;
* baseline: `ffmpeg -f concat -safe 0 -i list -c copy out.mp4` of the very same files.

The ratio printed is baseline time / playable time. It is informational, with no target: the
playable copy re-encodes every frame and the baseline copies packets, so it is bound to be
far below 1; the figure that matters is the playable time against the material's length
(x real time), also printed.

Run: `.venv/bin/python bench/playable.py [--minutes 5] [--rounds 1] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import _smoke  # bench/ is the script's folder
from export import SEGMENT_S, ff, machine, make_segments
from kustosz.playable import Segment, make_playable

TZ = ZoneInfo("Europe/Warsaw")


def time_playable(segs: list[Segment], out: Path) -> float:
    t = time.perf_counter()
    make_playable(segs, out, "1/2026", TZ)
    return time.perf_counter() - t


def time_baseline(lst: Path, out: Path) -> float:
    t = time.perf_counter()
    ff("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out))
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    a = _smoke.parse(p, {"minutes": SEGMENT_S / 60, "rounds": 1})  # 1 segment
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="kustosz-bench-playable-", dir=a.dir))
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a: argparse.Namespace, tmp: Path) -> None:
    seconds = round(a.minutes * 60)
    files = make_segments(tmp / "made", seconds / 3600)
    day = (datetime.now(UTC) - timedelta(days=1)).astimezone(TZ)
    t0 = day.replace(hour=9, minute=0, second=0, microsecond=0).astimezone(UTC)
    segs = [Segment(f, t0 + timedelta(seconds=SEGMENT_S * i),
                    t0 + timedelta(seconds=SEGMENT_S * (i + 1))) for i, f in enumerate(files)]
    lst = tmp / "list.txt"
    lst.write_text("".join(f"file '{f}'\n" for f in files))
    for f in files:  # warm, for both sides
        f.read_bytes()
    print(f"material: {len(files)} segments x {SEGMENT_S}s ({seconds} s of 1280x720@25)")
    rows = []
    for i in range(a.rounds):
        first = "playable" if i % 2 == 0 else "ffmpeg"
        row: dict[str, float | str] = {"round": i + 1, "first": first}
        for which in ([first, "ffmpeg" if first == "playable" else "playable"]):
            out = tmp / f"{which}.mp4"
            if which == "playable":
                row["playable_s"] = time_playable(segs, out)
                row["playable_mb"] = out.stat().st_size / 1e6
            else:
                row["ffmpeg_s"] = time_baseline(lst, out)
                row["ffmpeg_mb"] = out.stat().st_size / 1e6
            out.unlink()
        row["ratio"] = float(row["ffmpeg_s"]) / float(row["playable_s"])
        rows.append(row)
        print(f"round {i + 1} ({first} first): playable {row['playable_s']:.1f}s "
              f"({seconds / float(row['playable_s']):.2f}x real time, "
              f"{row['playable_mb']:.0f} MB); ffmpeg concat -c copy {row['ffmpeg_s']:.2f}s "
              f"({row['ffmpeg_mb']:.0f} MB); ratio {row['ratio']:.4f}", flush=True)
    pl = statistics.median(float(r["playable_s"]) for r in rows)
    fc = statistics.median(float(r["ffmpeg_s"]) for r in rows)
    print(f"median: playable {pl:.1f}s ({seconds / pl:.2f}x real time), ffmpeg concat "
          f"{fc:.2f}s, ratio (ffmpeg time / playable time) {fc / pl:.4f} — informational, no "
          "target: the playable copy re-encodes every frame, the baseline copies packets")
    if a.json:
        print(json.dumps({"bench": "playable", "machine": machine(), "seconds": seconds,
                          "playable_s": round(pl, 3), "ffmpeg_s": round(fc, 3),
                          "ratio": round(fc / pl, 4), "x_real_time": round(seconds / pl, 3),
                          "rounds": rows}))


if __name__ == "__main__":
    main()
