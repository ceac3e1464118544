"""Masking speed (issue 17 item 5; issue 28 item 1): frames per second of
`kustosz.masking.mask_video` at 640×360 and 1280×720, against the camera's real-time rate
(25 fps). Target: ≥ 1× real time at 640×360.

Each size is masked twice in the same run, on the same clip and the same loaded detector:
"now" (the default: faces detected on every frame, the hold grown by each face's speed, and
every frame of the output checked again by the detector, on a second network beside the
masking as the encoder writes it; "passes" > 1 means the check found a residual and the
period was masked again) and "baseline" (the schedule of
issue 17 before issue 28: detection on every 5th frame, a fixed hold of one detection, no
check), and the ratio of their times is printed. The machine's load average is printed too:
on a shared machine the absolute figures move with it, the ratio much less.

    .venv/bin/python bench/masking.py                 # 20 s of video per size
    .venv/bin/python bench/masking.py --seconds 60 --profile
    .venv/bin/python bench/masking.py --misses 1,2,3  # the tracker's miss rate per schedule

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

from tests.masking import motion_scene
from tests.masking.scene import make_clip

import _smoke  # bench/ is the script's folder
from kustosz.masking import Options, Segment, mask_video, video
from kustosz.masking.detect import CenterFace

REAL_TIME_FPS = 25
SIZES = [(640, 360), (1280, 720)]
TARGET = {(640, 360): 1.0}  # × real time


def _cpu() -> float:
    """CPU seconds of this process and of the ffmpeg it waited for (the encoder)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


BASELINE = Options(every=5, hold=1, motion=False, verify=False)  # issue 17's schedule


def run(folder: Path, width: int, height: int, seconds: float, opts: Options, label: str,
        profile: bool) -> dict[str, object]:
    src_dir = folder / f"src{width}"
    src = sorted(src_dir.glob("seg*.ts")) or make_clip(
        src_dir, width=width, height=height, seconds=seconds, fps=REAL_TIME_FPS,
        segment_s=2.0, audio=True)
    out = folder / f"masked{width}-{label}.mp4"
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
    checked = described.get("verification") or {}
    if checked:
        ok = ok and checked["frames_checked"] == frames
    result: dict[str, object] = {
        "size": f"{width}x{height}", "variant": label, "frames": frames, "seconds": round(wall, 2),
        "fps": round(frames / wall, 1), "x_real_time": round(frames / wall / REAL_TIME_FPS, 2),
        "cpu_s": round(cpu, 2), "fps_per_cpu_s": round(frames / cpu, 1),
        "target": TARGET.get((width, height)), "faces_per_detection": round(
            described["stats"]["faces_detected"] / described["stats"]["detection_rounds"], 1),
        "residual_frames": checked.get("frames_with_residual", "-"),
        "passes": checked.get("passes", 1), "ok": ok}
    if prof:
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
        result["profile"] = text.getvalue()
    return result


def misses(folder: Path, schedules: list[int], seconds: float) -> int:
    """The tracker's miss rate (issue 68 item 6): on the attack clips
    (tests/masking/motion_scene.py) and the pans at both sizes, masked with detection on every
    k-th frame and one pass only (no masking again), the frames where the output's check
    found a face the masking missed. Prints one line per clip and schedule."""
    video.REMASK_ROUNDS = 0
    clips = {"flashing": (motion_scene.flashing(folder / "flashing"), []),
             "walking": (motion_scene.walking(folder / "walking"), [motion_scene.REQUESTER_KEEP]),
             **{f"pan {w}x{h}": (make_clip(folder / f"pan{w}", width=w, height=h,
                                           seconds=seconds, fps=REAL_TIME_FPS), [])
                for w, h in SIZES}}
    detector = CenterFace()
    print(f"{'clip':>14} {'every':>5} {'frames':>6} {'missed':>6} {'detections':>10} "
          f"{'CPU s':>6}  (missed: frames where the check found a face; one pass, no remask)")
    for name, (src, keep) in clips.items():
        for k in schedules:
            cpu0 = _cpu()
            d = mask_video([Segment(p, i * 2.0) for i, p in enumerate(src)],
                           folder / f"{name.replace(' ', '')}-{k}.mp4", keep=keep,
                           options=Options(every=k), detector=detector)
            v = d["verification"]
            print(f"{name:>14} {k:>5} {v['frames_checked']:>6} {v['frames_with_residual']:>6} "
                  f"{d['stats']['detection_rounds']:>10} {_cpu() - cpu0:>6.2f}", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="video per size (default 20)")
    ap.add_argument("--only", choices=["now", "baseline"], default=None,
                    help="run one variant only (no ratio)")
    ap.add_argument("--profile", action="store_true", help="cProfile each run (slower)")
    ap.add_argument("--json", action="store_true", help="one JSON line on stdout")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--sizes", type=lambda v: [tuple(map(int, s.split("x"))) for s in v.split(",")],
                    default=SIZES, help="WxH,WxH (default 640x360,1280x720)")
    ap.add_argument("--misses", type=lambda v: [int(k) for k in v.split(",")], default=None,
                    help="K,K: the tracker's miss rate with detection on every K-th frame")
    args = _smoke.parse(ap, {"seconds": 2.0, "sizes": SIZES[:1]})  # one 2-s segment
    folder = Path(tempfile.mkdtemp(prefix="kustosz-bench-masking-", dir=args.dir))
    if args.misses:
        try:
            return misses(folder, args.misses, args.seconds)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    try:
        variants = [(label, opts) for label, opts in (("now", Options()),
                                                      ("baseline", BASELINE))
                    if args.only in (None, label)]
        results = [run(folder, w, h, args.seconds, opts, label, args.profile)
                   for w, h in args.sizes for label, opts in variants]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    report = sys.stderr if args.json else sys.stdout
    print(f"masking, {args.seconds:g} s per size; now: detection every {Options().every} "
          f"frames + motion hold + output check on every frame; baseline: every 5th frame, no "
          f"check; {os.cpu_count()} CPUs, {platform.python_version()}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", file=report)
    print(f"{'size':>10} {'variant':>9} {'frames':>7} {'wall s':>7} {'fps':>7} {'× 25 fps':>9} "
          f"{'target':>7} {'faces':>6} {'CPU s':>7} {'fps/CPU':>8} {'residual':>9} {'passes':>6}",
          file=report)
    for r in results:
        target = f"≥ {r['target']:g}" if r["target"] and r["variant"] == "now" else "-"
        print(f"{r['size']:>10} {r['variant']:>9} {r['frames']:>7} {r['seconds']:>7} "
              f"{r['fps']:>7} {r['x_real_time']:>9} {target:>7} {r['faces_per_detection']:>6} "
              f"{r['cpu_s']:>7} {r['fps_per_cpu_s']:>8} {r['residual_frames']!s:>9} "
              f"{r['passes']:>6}",
              file=report)
        if "profile" in r:
            print(r["profile"], file=report)
    for w, h in args.sizes:
        pair = {r["variant"]: r for r in results if r["size"] == f"{w}x{h}"}
        if len(pair) == 2:
            ratio = float(pair["now"]["seconds"]) / float(pair["baseline"]["seconds"])
            print(f"{w}x{h}: now takes {ratio:.2f}× the baseline's time", file=report)
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
