"""Benchmark: a copy (evidence bundle) of 1 hour of one camera against a plain ffmpeg concat.

Material: 60 s of `testsrc2` (1280x720@25, H.264 at ~4 Mbit/s, keyframe every 2 s) is
encoded into MPEG-TS once, then looped 60 times with `-c copy` through ffmpeg's segment muxer
(`-reset_timestamps 0`): 360 valid, consecutive 10-second segments with one continuous time
line, as the recorder writes them. They are taken into a vault camera with
`kustosz.ingest.files.ingest_batch`, stamped 10 s apart.

Timed, 3 rounds alternating which goes first (medians reported):

* kustosz: `kustosz.custody.copies.make_copy` on an approved request covering the hour
  (`kustosz copies make`): remux with the concat demuxer, SHA-256 of the MP4, label PDF
  (typst), manifest + Ed25519 signature, copy register, audit. The request is registered and
  decided (by the approver) before the clock starts, like the paperwork it is.
* baseline: `ffmpeg -f concat -safe 0 -i list -c copy out.mp4` of the very same stored files
  (the list is written before the clock starts).

speed ratio = baseline time / kustosz time (target >= 0.8). The parts of make_copy (remux,
hashing, label, seal) are timed by wrapping the functions it calls, so each round also says
where the time went. Both read warm files: the segments were just written and read once.

Run: `.venv/bin/python bench/export.py [--rounds 3] [--json]`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
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

from kustosz import documents
from kustosz.access.users import add_user
from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.custody import bundles, copies
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.models import Recording
from kustosz.ingest.files import Item, ingest_batch
from kustosz.vault import Vault

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CAMERA = "cam-wejscie"
SEGMENT_S = 10
LOOP_S = 60


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
    folder.mkdir(parents=True)
    one = folder / "one.ts"
    ff("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:d={LOOP_S}",
       "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-maxrate", "4M",
       "-bufsize", "8M", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
       "-pix_fmt", "yuv420p", "-f", "mpegts", str(one))
    loops = round(hours * 3600 / LOOP_S)
    ff("-stream_loop", str(loops - 1), "-i", str(one), "-map", "0:v", "-c", "copy",
       "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mpegts",
       "-reset_timestamps", "0", str(folder / "seg%05d.ts"))
    one.unlink()
    segs = sorted(folder.glob("seg*.ts"))
    want = loops * LOOP_S // SEGMENT_S
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
        add_zone(s, "Ratusz", "wejście główne", "entrance", "bench")
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
    spec = RequestSpec(
        kind="internal", material="video", requester="Sekretarz Gminy",
        received_on=datetime.now(UTC).astimezone(vault.policy.timezone).date(),
        event_date=t0.astimezone(vault.policy.timezone).date(),
        purpose="benchmark kopii", description="godzina nagrania z wejścia",
        cameras=[CAMERA], start=t0 + timedelta(seconds=1),
        end=t0 + timedelta(seconds=seconds - 1), margin_minutes=0)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, spec, "bench").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=date.today(), actor="bench",
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
        self.wrap(copies, "remux", "remux")
        self.wrap(bundles, "sha256_file", "sha256")
        self.wrap(documents, "render", "label")
        self.wrap(bundles, "seal", "seal")  # manifest + signature (+ hashes not yet known)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, fn in reversed(self._undo):
            setattr(owner, attr, fn)


def time_kustosz(vault: Vault, rid: int) -> tuple[float, dict[str, float], Any]:
    with Parts() as parts:
        t = time.perf_counter()
        copy = copies.make_copy(vault, rid, "informatyk", "bench")
        total = time.perf_counter() - t
    return total, dict(parts.times), copy


def time_baseline(lst: Path, out: Path) -> float:
    t = time.perf_counter()
    ff("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out))
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    print(machine())
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
    for i in range(a.rounds):
        rid = approved_request(vault, t0, seconds)
        k_first = i % 2 == 0
        result: dict[str, Any] = {"round": i + 1, "first": "kustosz" if k_first else "ffmpeg"}
        for which in (["kustosz", "ffmpeg"] if k_first else ["ffmpeg", "kustosz"]):
            if which == "kustosz":
                total, parts, copy = time_kustosz(vault, rid)
                if list(copy.items) != ids:
                    raise SystemExit(f"copy {copy.number} took {len(copy.items)} segments, "
                                     f"not the {len(ids)} of the hour")
                mp4 = next((vault.root / copy.bundle / "media").glob("*.mp4"))
                result.update(kustosz_s=total, parts=parts, copy=copy.number,
                              segments=len(copy.items), kustosz_mp4=mp4.stat().st_size)
                shutil.rmtree(vault.root / copy.bundle)  # keep the disk; the row stays
            else:
                out = tmp / "out.mp4"
                result["ffmpeg_s"] = time_baseline(lst, out)
                result["ffmpeg_mp4"] = out.stat().st_size
                out.unlink()
        result["ratio"] = result["ffmpeg_s"] / result["kustosz_s"]
        rows.append(result)
        parts = result["parts"]
        print(f"round {i + 1} ({result['first']} first): kustosz {result['kustosz_s']:.2f}s "
              f"[remux {parts.get('remux', 0):.2f}, sha256 {parts.get('sha256', 0):.2f}, "
              f"label {parts.get('label', 0):.2f}, seal {parts.get('seal', 0):.2f}, other "
              f"{result['kustosz_s'] - sum(parts.values()):.2f}]"
              f"; ffmpeg concat {result['ffmpeg_s']:.2f}s; speed ratio {result['ratio']:.3f}; "
              f"{result['segments']} segments; mp4 {result['kustosz_mp4'] / 1e6:.0f} MB "
              f"(ffmpeg {result['ffmpeg_mp4'] / 1e6:.0f} MB)", flush=True)
    vault.close()
    k = statistics.median(r["kustosz_s"] for r in rows)
    f = statistics.median(r["ffmpeg_s"] for r in rows)
    med_parts = {n: round(statistics.median(r["parts"].get(n, 0.0) for r in rows), 3)
                 for n in ("remux", "sha256", "label", "seal")}
    print(f"median: kustosz bundle {k:.2f}s, ffmpeg concat {f:.2f}s, speed ratio "
          f"(ffmpeg time / kustosz time) {f / k:.3f} (target >= 0.8); parts {med_parts}")
    if a.json:
        print(json.dumps({"bench": "export", "machine": machine(), "hours": a.hours,
                          "kustosz_s": round(k, 3), "ffmpeg_s": round(f, 3),
                          "ratio": round(f / k, 3), "parts_median_s": med_parts,
                          "rounds": rows}))


if __name__ == "__main__":
    main()
