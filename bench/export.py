"""Benchmark: a copy (evidence bundle) of 1 hour of one camera against a plain ffmpeg concat.

Material: 60 s of `testsrc2` (1280x720@25, H.264 at ~4 Mbit/s, keyframe every 2 s) is
encoded into MPEG-TS once, then looped 60 times with `-c copy` through ffmpeg's segment muxer
(`-reset_timestamps 0`): 360 valid, consecutive 10-second segments with one continuous time
line, as the recorder writes them. They are taken into a vault camera with
`kustosz.ingest.files.ingest_batch`, stamped 10 s apart.

Timed, 3 rounds alternating which goes first (medians reported):

* kustosz: `kustosz.custody.copies.make_copy` on an approved request covering the hour
  (`kustosz copies make`): the hour's segments, one unbroken run, read once and fed to ffmpeg
  as one MPEG-TS stream, each checked against the index's SHA-256 as it goes
  (copy_remux._remux_piped, issue 68), remuxed into the MP4 (fragmented), which a thread
  hashes (SHA-256) behind ffmpeg as it grows (at nice +copy_remux.HASH_NICE); fsync of the
  bundle, label PDF (typst), manifest + one Ed25519 signature, copy register, audit. The
  request is registered and decided (by the approver) before the clock starts, like the
  paperwork it is.
* baseline: `ffmpeg -f concat -safe 0 -i list -c copy out.mp4` of the very same stored files
  (the list is written before the clock starts).

speed ratio = baseline time / kustosz time (target >= 0.95, issue 18). The parts of
make_copy are timed by wrapping the functions it calls, so each round also says where the
time went: remux (ffmpeg + hashing and writing the MP4 as it comes; on the piped way the
segments' check too), segments (the concat way's check of the segments against the index: in
a thread beside the remux, so it overlaps it and is not part of "other"), sha256 (files
hashed after they were written: none for a camera's copy),
fsync, label, seal. Both read warm files: the segments were just written and read once.
The concat's own fsync afterwards is timed apart (not in the ratio): it leaves its MP4 to the
kernel's writeback, a copy waits for the disk before it is registered. `--also-nice N` times
the copy a second time in every round with its hashing threads at nice +N (0: ffmpeg's own
priority), for an A/B of that setting in the same conditions; `--also-concat` times it again
the way before issue 68 (the concat demuxer reading the files, the check in a thread beside).

Run: `.venv/bin/python bench/export.py [--rounds 3] [--also-nice 0] [--json]`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import imageio_ffmpeg

import _smoke  # bench/ is the script's folder
from kustosz.access.users import add_user
from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.custody import bundles, copies, copy_making, copy_remux, copy_seal
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import Recording
from kustosz.fsutil import fsync_file
from kustosz.ingest.files import Item, ingest_batch
from kustosz.vault import Vault

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CAMERA = "cam-wejscie"
SEGMENT_S = 10
LOOP_S = 60
PART_NAMES = ("remux", "segments", "sha256", "fsync", "label", "seal")


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; nproc {os.cpu_count()}; CPU {model}; "
            f"{platform.platform()}; ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}")


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                   check=True)


def make_segments(folder: Path, hours: float) -> list[Path]:
    """``hours`` of segments: LOOP_S of video encoded once and looped (less than LOOP_S: that
    much, once — the smoke runs' material)."""
    folder.mkdir(parents=True)
    one = folder / "one.ts"
    loop_s = min(LOOP_S, round(hours * 3600))
    ff("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:d={loop_s}",
       "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-maxrate", "4M",
       "-bufsize", "8M", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
       "-pix_fmt", "yuv420p", "-f", "mpegts", str(one))
    loops = round(hours * 3600 / loop_s)
    ff("-stream_loop", str(loops - 1), "-i", str(one), "-map", "0:v", "-c", "copy",
       "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mpegts",
       "-reset_timestamps", "0", str(folder / "seg%05d.ts"))
    one.unlink()
    segs = sorted(folder.glob("seg*.ts"))
    want = loops * loop_s // SEGMENT_S
    if len(segs) != want:
        raise SystemExit(f"expected {want} segments, ffmpeg wrote {len(segs)}")
    return segs


def first_pts(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        for pkt in c.demux(c.streams.video[0]):
            if pkt.pts is not None and pkt.time_base is not None:
                return float(pkt.pts * pkt.time_base)
    return float("nan")


def build_vault(root: Path, segs: list[Path], t0: datetime) -> Vault:
    vault = Vault.init(root, "pleszew", actor="bench")
    with vault.transaction() as s:
        add_site(s, "Ratusz", "bench", "Rynek 1")
        add_zone(s, "Ratusz", "wejście główne", "entrance_inside", "bench")
        add_camera(s, vault.policy, CameraSpec(
            CAMERA, "Ratusz", "wejście główne", "rtsp://192.0.2.10/stream", "property",
            notice_date=date(2020, 1, 1), signage_date=date(2020, 1, 1),
            segment_seconds=SEGMENT_S), "bench")
        add_user(s, "burmistrz", "Jan Kowalski", ["approver"], "bench",
                 title=vault.policy.approver_title)
        add_user(s, "informatyk", "Piotr Wiśniewski", ["custodian", "administrator"], "bench",
                 title="informatyk")
    items = [Item(p, t0 + timedelta(seconds=SEGMENT_S * i),
                  t0 + timedelta(seconds=SEGMENT_S * (i + 1))) for i, p in enumerate(segs)]
    for first in range(0, len(items), 60):
        for r in ingest_batch(vault, CAMERA, items[first:first + 60], actor="bench"):
            if isinstance(r, BaseException):
                raise r
    return vault


def approved_request(vault: Vault, t0: datetime, seconds: float) -> int:
    # The window is just inside the hour, so exactly its segments overlap it.
    today = datetime.now(UTC).astimezone(vault.policy.timezone).date()  # the office's day
    spec = RequestSpec(
        kind="internal", material="video", requester="Sekretarz Gminy",
        received_on=today,
        event_date=t0.astimezone(vault.policy.timezone).date(),
        purpose="benchmark kopii", description="godzina nagrania z wejścia",
        cameras=[CAMERA], start=t0 + timedelta(seconds=1),
        end=t0 + timedelta(seconds=seconds - 1), margin_minutes=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "bench").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=today, actor="bench",
               keyed_by="burmistrz")
    return rid


class Parts:
    """Wall time spent in the functions make_copy calls, by wrapping them for the run."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        fn: Callable[..., Any] = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.times[name] += time.perf_counter() - t

        self._undo.append((owner, attr, fn))
        setattr(owner, attr, timed)

    def __enter__(self) -> Parts:
        # Each where make_copy's modules look it up (custody.copy_*), not where it is defined.
        self.wrap(copy_remux, "remux", "remux")
        self.wrap(copy_remux, "_remux_piped", "remux")  # the hour as one stream
        self.wrap(copy_remux, "segment_sha256", "segments")  # checked against the index
        self.wrap(bundles, "sha256_file", "sha256")
        self.wrap(copy_making, "sync_tree", "fsync")
        self.wrap(copy_seal, "render", "label")
        self.wrap(bundles, "seal", "seal")  # manifest + signature (+ hashes not yet known)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, fn in reversed(self._undo):
            setattr(owner, attr, fn)


def _the_way_before(vault: Vault, t0: datetime, seconds: float) -> tuple[float, float]:
    """The copy timed with the hour joined by the concat demuxer from the files (wall, CPU)."""
    one_stream = copy_remux.one_stream
    copy_remux.one_stream = lambda *_a: False  # type: ignore[assignment]
    try:
        wall, cpu, _, copy = time_kustosz(vault, approved_request(vault, t0, seconds))
    finally:
        copy_remux.one_stream = one_stream
    shutil.rmtree(vault.root / copy.bundle)
    return wall, cpu


def cpu_s() -> float:
    """CPU seconds of this process (all threads) and its finished children (ffmpeg, typst):
    less sensitive than wall time to other work on a shared machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_kustosz(vault: Vault, rid: int) -> tuple[float, float, dict[str, float], Any]:
    with Parts() as parts:
        c, t = cpu_s(), time.perf_counter()
        copy = copies.make_copy(vault, rid, "informatyk", "bench")
        total, cpu = time.perf_counter() - t, cpu_s() - c
    return total, cpu, dict(parts.times), copy


def time_baseline(lst: Path, out: Path) -> tuple[float, float, float]:
    """The concat's wall and CPU seconds; then, outside them, how long its MP4 then takes to
    reach the disk (fsync): the concat leaves it to the kernel, a copy must wait for it
    before it is registered (informational, not part of the ratio)."""
    c, t = cpu_s(), time.perf_counter()
    ff("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out))
    wall, cpu = time.perf_counter() - t, cpu_s() - c
    t = time.perf_counter()
    fsync_file(out)
    return wall, cpu, time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--also-nice", type=int, default=None, metavar="N",
                   help="in every round, also time the copy with its hashing threads at nice "
                        "+N instead of copy_remux.HASH_NICE (0: at ffmpeg's priority): A/B of the "
                        "threads' priority in the same conditions")
    p.add_argument("--also-concat", action="store_true",
                   help="in every round, also time the copy the way before issue 68: the "
                        "concat demuxer reading the files, the check in a thread beside it")
    a = _smoke.parse(p, {"rounds": 1, "hours": 2 * SEGMENT_S / 3600})  # 2 segments
    print(machine(), f"; hashing threads at nice +{copy_remux.HASH_NICE}; load average",
          " ".join(f"{x:.2f}" for x in os.getloadavg()))
    tmp = Path(tempfile.mkdtemp(prefix="kustosz-bench-export-", dir=a.dir))
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a: argparse.Namespace, tmp: Path) -> None:
    seconds = round(a.hours * 3600)
    t = time.perf_counter()
    segs = make_segments(tmp / "made", a.hours)
    mb = sum(p.stat().st_size for p in segs) / 1e6
    jumps = [first_pts(segs[i]) for i in (0, 1, len(segs) - 1)]
    print(f"material: {len(segs)} segments x {SEGMENT_S}s, {mb:.0f} MB "
          f"({mb * 8 / seconds:.2f} Mbit/s), first pts of segments 1, 2, {len(segs)}: "
          + ", ".join(f"{v:.2f}" for v in jumps) + f" s; made in {time.perf_counter() - t:.0f}s")
    # Yesterday, 10:00 local: within the 14-day rule, not in the future.
    tz_now = datetime.now(UTC)
    t0 = (tz_now - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    t = time.perf_counter()
    vault = build_vault(tmp / "vault", segs, t0)
    print(f"ingested into camera {CAMERA!r} in {time.perf_counter() - t:.0f}s")
    shutil.rmtree(tmp / "made")

    # The baseline joins the very files the copy takes: every stored segment of the hour.
    with vault.reading() as s:
        recs = list(s.query(Recording).filter(Recording.state == "stored")
                    .order_by(Recording.start_at))
    ids = [r.id for r in recs]
    lst = tmp / "list.txt"
    lst.write_text("".join(f"file '{vault.storage.path(r.storage_key)}'\n" for r in recs))
    for r in recs:  # read once, so both sides start from warm files
        vault.storage.path(r.storage_key).read_bytes()

    rows: list[dict[str, Any]] = []
    nice = copy_remux.HASH_NICE
    for i in range(a.rounds):
        rid = approved_request(vault, t0, seconds)
        k_first = i % 2 == 0
        result: dict[str, Any] = {"round": i + 1, "first": "kustosz" if k_first else "ffmpeg"}
        sides = ["kustosz", "ffmpeg"] + (["alt"] if a.also_nice is not None else []) + \
            (["concat"] if a.also_concat else [])
        for which in (sides if k_first else sides[::-1]):
            if which == "concat":
                result["concat_s"], result["concat_cpu_s"] = _the_way_before(vault, t0, seconds)
                continue
            if which == "alt":
                copy_remux.HASH_NICE = a.also_nice
                try:
                    alt_s, alt_cpu, _, copy = time_kustosz(
                        vault, approved_request(vault, t0, seconds))
                finally:
                    copy_remux.HASH_NICE = nice
                result.update(alt_s=alt_s, alt_cpu_s=alt_cpu)
                shutil.rmtree(vault.root / copy.bundle)
            elif which == "kustosz":
                total, cpu, parts, copy = time_kustosz(vault, rid)
                if list(copy.items) != ids:
                    raise SystemExit(f"copy {copy.number} took {len(copy.items)} segments, "
                                     f"not the {len(ids)} of the hour")
                mp4 = next((vault.root / copy.bundle / "media").glob("*.mp4"))
                result.update(kustosz_s=total, kustosz_cpu_s=cpu, parts=parts, copy=copy.number,
                              segments=len(copy.items), kustosz_mp4=mp4.stat().st_size)
                shutil.rmtree(vault.root / copy.bundle)  # keep the disk; the row stays
            else:
                out = tmp / "out.mp4"
                (result["ffmpeg_s"], result["ffmpeg_cpu_s"],
                 result["ffmpeg_fsync_s"]) = time_baseline(lst, out)
                result["ffmpeg_mp4"] = out.stat().st_size
                out.unlink()
        result["ratio"] = result["ffmpeg_s"] / result["kustosz_s"]
        rows.append(result)
        parts = result["parts"]
        print(f"round {i + 1} ({result['first']} first): kustosz {result['kustosz_s']:.2f}s "
              f"[remux {parts.get('remux', 0):.2f}, segments {parts.get('segments', 0):.2f}, "
              f"sha256 {parts.get('sha256', 0):.2f}, fsync {parts.get('fsync', 0):.2f}, "
              f"label {parts.get('label', 0):.2f}, seal {parts.get('seal', 0):.2f}, other "
              f"{result['kustosz_s'] - sum(v for n, v in parts.items() if n != 'segments'):.2f}]"
              f"; ffmpeg concat {result['ffmpeg_s']:.2f}s (its fsync after: "
              f"{result['ffmpeg_fsync_s']:.2f}s); speed ratio {result['ratio']:.3f}; "
              f"CPU {result['kustosz_cpu_s']:.2f}s vs {result['ffmpeg_cpu_s']:.2f}s; "
              f"{result['segments']} segments; mp4 {result['kustosz_mp4'] / 1e6:.0f} MB "
              f"(ffmpeg {result['ffmpeg_mp4'] / 1e6:.0f} MB)"
              + (f"; at nice +{a.also_nice}: {result['alt_s']:.2f}s, ratio "
                 f"{result['ffmpeg_s'] / result['alt_s']:.3f}, CPU {result['alt_cpu_s']:.2f}s"
                 if "alt_s" in result else "")
              + (f"; the way before: {result['concat_s']:.2f}s, ratio "
                 f"{result['ffmpeg_s'] / result['concat_s']:.3f}, CPU "
                 f"{result['concat_cpu_s']:.2f}s" if "concat_s" in result else ""), flush=True)
    _smoke.check_vault(vault)
    vault.close()
    k = statistics.median(r["kustosz_s"] for r in rows)
    f = statistics.median(r["ffmpeg_s"] for r in rows)
    kc = statistics.median(r["kustosz_cpu_s"] for r in rows)
    fc = statistics.median(r["ffmpeg_cpu_s"] for r in rows)
    med_parts = {n: round(statistics.median(r["parts"].get(n, 0.0) for r in rows), 3)
                 for n in PART_NAMES}
    print(f"median: kustosz bundle {k:.2f}s, ffmpeg concat {f:.2f}s, speed ratio "
          f"(ffmpeg time / kustosz time) {f / k:.3f} (target >= 0.95); CPU kustosz {kc:.2f}s, "
          f"ffmpeg {fc:.2f}s; parts {med_parts}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    alt = None
    if a.also_nice is not None:
        alt = statistics.median(r["alt_s"] for r in rows)
        print(f"median with the hashing at nice +{a.also_nice} instead of +{nice}: {alt:.2f}s, "
              f"speed ratio {f / alt:.3f}")
    before = None
    if a.also_concat:
        before = statistics.median(r["concat_s"] for r in rows)
        print(f"median the way before (concat demuxer from the files): {before:.2f}s, speed "
              f"ratio {f / before:.3f}")
    if a.json:
        print(json.dumps({"bench": "export", "machine": machine(), "hours": a.hours,
                          "kustosz_s": round(k, 3), "ffmpeg_s": round(f, 3),
                          "ratio": round(f / k, 3), "parts_median_s": med_parts,
                          "kustosz_cpu_s": round(kc, 3), "ffmpeg_cpu_s": round(fc, 3),
                          "load_average": os.getloadavg(), "hash_nice": nice,
                          "also_nice": a.also_nice,
                          "also_nice_ratio": round(f / alt, 3) if alt else None,
                          "way_before_ratio": round(f / before, 3) if before else None,
                          "rounds": rows}))


if __name__ == "__main__":
    main()
