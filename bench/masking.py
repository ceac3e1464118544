"""Masking speed (issue 17 item 5, first half): frames per second of `kustosz.masking.mask_video`
at 640×360 and 1280×720 with detection on every 5th frame, against the camera's real-time rate
(25 fps). Target: ≥ 1× real time at 640×360.

    .venv/bin/python bench/masking.py                 # 20 s of video per size
    .venv/bin/python bench/masking.py --seconds 60 --profile

See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.masking.scene

from tests.masking.scene import make_clip

from kustosz.masking import Options, Segment, mask_video
from kustosz.masking.detect import CenterFace

REAL_TIME_FPS = 25
SIZES = [(640, 360), (1280, 720)]
TARGET = {(640, 360): 1.0}  # × real time


def _cpu() -> float:
    """CPU seconds of this process and of the ffmpeg it waited for (the encoder)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(folder: Path, width: int, height: int, seconds: float, every: int,
        profile: bool) -> dict[str, object]:
    src = make_clip(folder / f"src{width}", width=width, height=height, seconds=seconds,
                    fps=REAL_TIME_FPS, segment_s=2.0, audio=True)
    out = folder / f"masked{width}.mp4"
    opts = Options(every=every)
    detector = CenterFace(opts.threshold, opts.detect_width)  # loaded once per job, not timed
    prof = cProfile.Profile() if profile else None
    started, cpu0 = time.perf_counter(), _cpu()
    if prof:
        prof.enable()
    described = mask_video([Segment(p, i * 2.0) for i, p in enumerate(src)], out,
                           options=opts, detector=detector)
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - started, _cpu() - cpu0
    frames = described["video"]["frames"]
    with av.open(str(out)) as c:  # the bench's own correctness check
        ok = (not c.streams.audio and c.streams.video[0].frames == frames
              and frames == round(seconds * REAL_TIME_FPS))
    result: dict[str, object] = {
        "size": f"{width}x{height}", "frames": frames, "seconds": round(wall, 2),
        "fps": round(frames / wall, 1), "x_real_time": round(frames / wall / REAL_TIME_FPS, 2),
        "cpu_s": round(cpu, 2), "fps_per_cpu_s": round(frames / cpu, 1),
        "target": TARGET.get((width, height)), "faces_per_detection": round(
            described["stats"]["faces_detected"] / described["stats"]["detection_rounds"], 1),
        "ok": ok}
    if prof:
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
        result["profile"] = text.getvalue()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="video per size (default 20)")
    ap.add_argument("--every", type=int, default=5, help="detect on every k-th frame")
    ap.add_argument("--profile", action="store_true", help="cProfile each run (slower)")
    ap.add_argument("--json", action="store_true", help="one JSON line on stdout")
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kustosz-bench-masking-", dir=args.dir))
    try:
        results = [run(folder, w, h, args.seconds, args.every, args.profile) for w, h in SIZES]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    report = sys.stderr if args.json else sys.stdout
    print(f"masking, detection every {args.every}th frame, {args.seconds:g} s per size; "
          f"{os.cpu_count()} CPUs, {platform.python_version()}, load average "
          f"{load[0]:.2f} {load[1]:.2f}", file=report)
    print(f"{'size':>10} {'frames':>7} {'wall s':>7} {'fps':>7} {'× 25 fps':>9} "
          f"{'target':>7} {'faces':>6} {'CPU s':>7} {'fps/CPU':>8}", file=report)
    for r in results:
        target = f"≥ {r['target']:g}" if r["target"] else "-"
        print(f"{r['size']:>10} {r['frames']:>7} {r['seconds']:>7} {r['fps']:>7} "
              f"{r['x_real_time']:>9} {target:>7} {r['faces_per_detection']:>6} "
              f"{r['cpu_s']:>7} {r['fps_per_cpu_s']:>8}", file=report)
        if "profile" in r:
            print(r["profile"], file=report)
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "profile"} for r in results]))
    bad = [r["size"] for r in results if not r["ok"]]
    if bad:
        print(f"FAILED: the masked output of {', '.join(map(str, bad))} has sound or lost "
              "frames", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
