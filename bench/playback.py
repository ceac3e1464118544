"""Benchmark: HLS playback under load, the web app against nginx serving the same files.

Material: `export.py`'s (60 s of `testsrc2`, 1280x720@25, H.264 ~4 Mbit/s, looped with
`-c copy` into 360 consecutive 10 s MPEG-TS segments), taken into a fresh vault's one camera
with `kustosz.ingest.files.ingest_batch` (the intake: hashed, stored, indexed), stamped 10 s
apart yesterday. The camera is then disabled, so `serve` starts no recorder for it.

Viewers: `--viewers` (50) people, each with a viewer account, a playback authorisation for the
camera, a web session (cookie) and a viewing session (purpose, case, witness) over the hour,
opened as the start form opens them. Each viewer fetches its playlist, then the segments in
order, from its own keep-alive connection, starting at its own place in the hour (viewer i at
segment i * 360 / viewers, so the viewers do not all read the same file), wrapping at the end.

* kustosz: `kustosz serve` (the product's own process: uvicorn in a thread, plain HTTP on
  127.0.0.1 as by default) on the vault; every playlist and segment passes the media gate
  (allow-list, login, viewing session, authorisation active now), is hashed against the index
  before it is served and leaves an access record; R1.3: a segment whose row carries the
  intake's `sound_checked` mark for that SHA-256 is not probed for sound again (this
  material's rows carry it: `ingest_batch` checked them). Checked afterwards: one access
  record per answer the viewers received.
* baseline: nginx (Debian's nginx-light, `sendfile on`, its own config and process in the
  temp folder, `daemon off`, access log on) serving the very same stored files, with the same
  playlist whose segment lines point at them.

Two runs per side, alternating which side goes first:

* **throughput** (`--seconds`, 30): every viewer fetches back to back, as fast as it is served;
  MB/s and segments/s, and the ratio kustosz / nginx (target >= 0.8, issue 52 item 6; 0.5 before);
* **paced** (`--paced-seconds`, 40): viewers arrive over the first 10 s and play as hls.js does
  by default: fill a 30 s buffer (three segments back to back), then one segment per 10 s of
  playback (`--pace` times faster); segment latency p50/p99 (target p99 <= 200 ms).

Latency: from sending the request to the last byte of the body. The clients run in a separate
process (httpx, asyncio), the same code for both sides.

Run: `.venv/bin/python bench/playback.py [--viewers 50] [--seconds 30] [--json]`;
`--profile-seconds N`: also a py-spy (if on PATH) record of `serve` during a throughput run;
`--ab`: also a third side, the app on the same material with the intake's `sound_checked`
marks taken out for it (as an intake before the mark stored it: every segment probed for
sound at playback) and put back after, plus the CPU of opening one segment both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _smoke  # bench/ is the script's folder

SEGMENTS_PER_HOUR = 360
PLAYLIST_SEGMENT = re.compile(r"^segment/(\d+)\.ts$", re.M)
NGINX = "/usr/sbin/nginx"


# -- the client process ------------------------------------------------------------------------
@dataclass
class Viewer:
    playlist: str  # absolute URL
    cookie: str | None  # the kustosz_session cookie (None for nginx)
    start: int  # index of the first segment


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _fetch(http: Any, url: str, out: dict[str, Any]) -> Any:
    async with http.stream("GET", url) as resp:
        async for _chunk in resp.aiter_raw():
            pass
    return resp


async def _viewer(v: Viewer, deadline: float, paced: float | None, delay: float,
                  out: dict[str, Any]) -> None:
    import httpx

    await asyncio.sleep(delay)
    cookies = {"kustosz_session": v.cookie} if v.cookie else None
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=120.0) as http:
        t = time.perf_counter()
        try:
            r = await http.get(v.playlist)
        except httpx.HTTPError as exc:
            out["status"]["error playlist"] = out["status"].get("error playlist", 0) + 1
            out["errors"].append(f"{v.playlist}: {exc!r}"[:300])
            return
        out["playlist_s"].append(time.perf_counter() - t)
        out["status"][str(r.status_code)] = out["status"].get(str(r.status_code), 0) + 1
        if r.status_code != 200:
            return
        urls = [str(httpx.URL(v.playlist).join(line)) for line in r.text.splitlines()
                if line and not line.startswith("#")]
        i = v.start % len(urls)
        began = time.perf_counter()
        fetched = 0
        # At least one segment, even past the deadline: a playlist answered late on a busy
        # machine (CI's smoke run: 2 s, load 8 on 2 cores) must not leave a run with nothing
        # measured, which the report refuses.
        while fetched == 0 or time.perf_counter() < deadline:
            if paced is not None:
                # hls.js: 30 s of buffer, then the next segment when playback reaches it
                due = began + max(0, fetched - 3 + 1) * 10.0 / paced
                wait = due - time.perf_counter()
                if wait > 0:
                    if time.perf_counter() + wait >= deadline:
                        break
                    await asyncio.sleep(wait)
            t = time.perf_counter()
            try:
                try:
                    resp = await _fetch(http, urls[i], out)
                except httpx.RemoteProtocolError:
                    # The server closed the idle keep-alive connection as this request went
                    # out (uvicorn after 5 s; a starved client reads a body for longer than
                    # that): a browser sends it again on a new connection, and so does this.
                    out["retried"] += 1
                    resp = await _fetch(http, urls[i], out)
                size = resp.num_bytes_downloaded
            except httpx.HTTPError as exc:  # counted, and the viewer goes on
                code = f"error {type(exc).__name__}"
                out["status"][code] = out["status"].get(code, 0) + 1
                out["errors"].append(f"{urls[i]}: {exc!r}"[:300])
                fetched += 1
                continue
            took = time.perf_counter() - t
            code = str(resp.status_code)
            out["status"][code] = out["status"].get(code, 0) + 1
            if resp.status_code == 200:
                out["latency_s"].append(took)
                out["bytes"] += size
            fetched += 1
            i = (i + 1) % len(urls)


async def _clients(viewers: list[Viewer], seconds: float, paced: float | None,
                   stagger: float) -> dict[str, Any]:
    out: dict[str, Any] = {"latency_s": [], "playlist_s": [], "bytes": 0, "status": {},
                           "errors": [], "retried": 0}
    t0 = time.perf_counter()
    deadline = t0 + seconds
    n = len(viewers)
    await asyncio.gather(*(_viewer(v, deadline, paced, stagger * i / n, out)
                           for i, v in enumerate(viewers)))
    out["elapsed_s"] = time.perf_counter() - t0
    return out


def client_main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    viewers = [Viewer(**v) for v in spec["viewers"]]
    cpu = time.process_time()
    out = asyncio.run(_clients(viewers, spec["seconds"], spec["paced"], spec["stagger"]))
    out["client_cpu_s"] = time.process_time() - cpu
    print(json.dumps(out))


def run_clients(tmp: Path, viewers: list[Viewer], seconds: float, paced: float | None,
                stagger: float = 0.0) -> dict[str, Any]:
    """The viewers in their own process (the same client CPU for both sides)."""
    spec = tmp / "clients.json"
    spec.write_text(json.dumps({"viewers": [v.__dict__ for v in viewers], "seconds": seconds,
                                "paced": paced, "stagger": stagger}))
    done = subprocess.run([sys.executable, __file__, "--client", str(spec)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the clients failed:\n{done.stderr[-3000:]}")
    out = dict(json.loads(done.stdout))
    for line in out["errors"][:5]:
        print(f"  client error: {line}", flush=True)
    return out


# -- the vault, the app and nginx ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port} within {timeout:.0f} s")


@dataclass
class Prepared:
    vault_root: Path
    keys: dict[int, str]  # recording id -> the stored file's path
    playlist: str  # the app's playlist text (as the app makes it)
    viewers: list[tuple[str, str]]  # (web session token, viewing token)
    mb: float


def prepare(tmp: Path, n_viewers: int, hours: float) -> Prepared:
    from export import CAMERA, build_vault, make_segments  # bench/ is the script's folder
    from kustosz.access import accounts, records
    from kustosz.access.authorisations import issue
    from kustosz.access.users import add_user
    from kustosz.cameras.register import set_enabled
    from kustosz.db.models import Recording, Source
    from kustosz.index.recordings import spans
    from kustosz.web.media_playlists import vod_playlist

    t = time.perf_counter()
    segs = make_segments(tmp / "made", hours)
    mb = sum(p.stat().st_size for p in segs) / 1e6
    now = datetime.now(UTC)
    t0 = (now - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    vault = build_vault(tmp / "vault", segs, t0)
    shutil.rmtree(tmp / "made")
    print(f"material: {len(segs)} segments x 10 s, {mb:.0f} MB, taken in "
          f"in {time.perf_counter() - t:.0f} s", flush=True)
    window = (t0 + timedelta(seconds=1), t0 + timedelta(seconds=round(hours * 3600) - 1))
    viewers: list[tuple[str, str]] = []
    with vault.transaction() as s:
        set_enabled(s, CAMERA, False, "bench")  # no recorder: serve serves only
        # the person present at each viewing is one of the office's people (issue 49)
        add_user(s, "swiadek", "Jan Świadek", ["viewer"], "bench")
        for i in range(n_viewers):
            add_user(s, f"widz{i:02d}", f"Widz {i:02d}", ["viewer"], "bench")
            issue(s, holder=f"widz{i:02d}", actions=["playback"], sources=[CAMERA],
                  source_kinds=[], valid_from=now - timedelta(days=1),
                  valid_to=now + timedelta(days=30), by="burmistrz", actor="bench")
    with vault.transaction() as s:
        from sqlalchemy import select

        from kustosz.db.custody import User

        source = s.execute(select(Source).where(Source.name == CAMERA)).scalar_one()
        for i in range(n_viewers):
            u = s.execute(select(User).where(User.name == f"widz{i:02d}")).scalar_one()
            web, _row = accounts.start_session(s, u, "127.0.0.1")
            token = records.try_open(
                s, user=u, action="playback", client="127.0.0.1", purpose="benchmark",
                case_ref="OR.0000.1.2026", witness="user:swiadek", source=source,
                window=window)
            if not isinstance(token, str):
                raise SystemExit(f"viewing refused: {token}")
            viewers.append((web, token))
        playlist = vod_playlist(list(s.execute(spans(source, *window))))
        keys = {r.id: str(vault.storage.path(r.storage_key)) for r in s.execute(
            select(Recording).where(Recording.source_id == source.id)).scalars()}
    vault.close()
    for path in keys.values():  # both sides start from warm files
        Path(path).read_bytes()
    return Prepared(tmp / "vault", keys, playlist, viewers, mb)


def start_app(prep: Prepared, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "KUSTOSZ_DATA": str(prep.vault_root)}
    log = (tmp / "serve.log").open("wb")
    kustosz = Path(sys.executable).with_name("kustosz")
    proc = subprocess.Popen([str(kustosz), "serve", "--port", str(port), "--log-format",
                             "text"], env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, "kustosz serve")
    return proc, port


def start_nginx(prep: Prepared, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    ng = tmp / "nginx"
    shutil.rmtree(ng, ignore_errors=True)  # the round before's
    (ng / "www").mkdir(parents=True)
    root = prep.vault_root.resolve()

    def file_url(m: re.Match[str]) -> str:
        return "/v/" + str(Path(prep.keys[int(m.group(1))]).resolve().relative_to(root))

    (ng / "www" / "vod.m3u8").write_text(PLAYLIST_SEGMENT.sub(file_url, prep.playlist))
    temp = {n: ng / n for n in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for p in temp.values():
        p.mkdir()
    # As Debian's nginx.conf has it (worker_processes auto, sendfile, tcp_nopush,
    # keepalive, an access log), in this folder and process only.
    (ng / "nginx.conf").write_text(f"""
user root;
worker_processes auto;
daemon off;
pid {ng}/nginx.pid;
error_log {ng}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    access_log {ng}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    server {{
        listen 127.0.0.1:{port};
        location = /vod.m3u8 {{ root {ng}/www; }}
        location /v/ {{ alias {root}/; }}
    }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(ng / "nginx.conf"), "-p", str(ng)],
                            stderr=(ng / "stderr.log").open("wb"))
    wait_port(port, proc, "nginx")
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # nginx: fast shutdown; serve: its graceful stop
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def strip_marks(vault_root: Path) -> dict[int, Any]:
    """The material as an intake before `sound_checked` stored it (``--ab``'s "before": every
    segment probed for sound at playback); returns the marks taken out, for `put_marks`."""
    from kustosz.db.models import Recording
    from kustosz.ingest.files import SOUND_CHECKED
    from kustosz.vault import Vault

    vault = Vault.open(vault_root, actor="bench")
    taken: dict[int, Any] = {}
    try:
        with vault.transaction() as s:
            for rec in s.query(Recording).all():
                if SOUND_CHECKED in (rec.meta or {}):
                    taken[rec.id] = rec.meta[SOUND_CHECKED]
                    rec.meta = {k: v for k, v in rec.meta.items() if k != SOUND_CHECKED}
    finally:
        vault.close()
    return taken


def put_marks(vault_root: Path, taken: dict[int, Any]) -> None:
    """The marks `strip_marks` took out, back as the intake wrote them."""
    from kustosz.db.models import Recording
    from kustosz.ingest.files import SOUND_CHECKED
    from kustosz.vault import Vault

    vault = Vault.open(vault_root, actor="bench")
    try:
        with vault.transaction() as s:
            for rec in s.query(Recording).filter(Recording.id.in_(list(taken))).all():
                rec.meta = {**(rec.meta or {}), SOUND_CHECKED: taken[rec.id]}
    finally:
        vault.close()


def open_cpu_ms(vault_root: Path, n: int = 60) -> dict[str, float]:
    """CPU (this process, one thread) of `web.media_streams.open_segment` and reading what it
    opened, per segment, median over ``n`` segments taken in turn with and without the intake's
    mark (the in-process verdict cache emptied before each): the steady part of ``--ab`` on a
    shared machine, where the rates above swing with the load."""
    from sqlalchemy import select

    from kustosz.db.models import Recording
    from kustosz.vault import Vault
    from kustosz.web import media, media_streams

    vault = Vault.open(vault_root, actor="bench")
    out: dict[str, list[float]] = {"probed": [], "marked": []}
    try:
        with vault.reading() as s:
            recs = list(s.execute(select(Recording).order_by(Recording.id).limit(n)).scalars())
            rows = [(r.storage_key, r.version_id, r.sha256, media.sound_checked(r))
                    for r in recs]
        for i, (key, version, sha, checked) in enumerate(rows):
            for mode in (["probed", "marked"] if i % 2 else ["marked", "probed"]):
                media_streams._soundless.clear()
                t = time.process_time()
                f, _size = media_streams.open_segment(vault.storage, key, version, sha,
                                                      checked and mode == "marked")
                with f:
                    while f.read(1 << 20):
                        pass
                out[mode].append((time.process_time() - t) * 1000)
    finally:
        vault.close()
    return {k: statistics.median(v) for k, v in out.items()}


def access_records(vault_root: Path) -> int:
    from sqlalchemy import func, select

    from kustosz.db.access import AccessEntry
    from kustosz.vault import Vault

    vault = Vault.open(vault_root, actor="bench")
    try:
        with vault.reading() as s:
            return int(s.execute(select(func.count()).select_from(AccessEntry)).scalar_one())
    finally:
        vault.close()


def summary(out: dict[str, Any]) -> dict[str, Any]:
    lat = out["latency_s"]
    return {"segments": len(lat), "mb": out["bytes"] / 1e6, "elapsed_s": out["elapsed_s"],
            "mb_s": out["bytes"] / 1e6 / out["elapsed_s"],
            "seg_s": len(lat) / out["elapsed_s"],
            "p50_ms": percentile(lat, 0.5) * 1000, "p99_ms": percentile(lat, 0.99) * 1000,
            "max_ms": max(lat, default=float("nan")) * 1000,
            "playlist_p99_ms": percentile(out["playlist_s"], 0.99) * 1000,
            "status": out["status"], "client_cpu_s": out["client_cpu_s"],
            "retried": out["retried"]}


def line(name: str, r: dict[str, Any]) -> str:
    return (f"  {name:8s} {r['mb_s']:7.1f} MB/s {r['seg_s']:6.1f} seg/s  p50 {r['p50_ms']:6.1f} ms"
            f"  p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  ({r['segments']} segments"
            f", statuses {r['status']}, {r['retried']} sent again, client CPU "
            f"{r['client_cpu_s']:.1f} s, server CPU {r['server_cpu_s']:.1f} s = "
            f"{r['server_cpu_ms_per_segment']:.1f} ms/segment)")


def cpu_seconds(pid: int) -> float:
    """CPU (user + system) of ``pid`` and its children still running (nginx's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def profile_serve(pid: int, seconds: float, tmp: Path) -> Path | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy not on PATH: no profile")
        return None
    out = tmp / "serve-profile.txt"  # py-spy says where the raw stacks went
    with out.open("w") as f:
        subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                          "--rate", "50", "--format", "raw", "--output", str(out) + ".raw",
                          "--nonblocking"], stdout=f, stderr=subprocess.STDOUT)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--client", help=argparse.SUPPRESS)
    p.add_argument("--viewers", type=int, default=50)
    p.add_argument("--seconds", type=float, default=30.0, help="each throughput run")
    p.add_argument("--paced-seconds", type=float, default=40.0, help="each paced run")
    p.add_argument("--pace", type=float, default=1.0, help="playback speed of the paced run")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--hours", type=float, default=1.0, help="material: hours of one camera")
    p.add_argument("--profile-seconds", type=float, default=0.0)
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--reuse", type=Path, default=None,
                   help="a work folder kept by --keep: its vault and viewers again (implies "
                        "--keep)")
    p.add_argument("--ab", action="store_true",
                   help="also the app on the material without its sound_checked marks (as "
                        "stored before the intake wrote them: probed at playback), same run")
    p.add_argument("--json", action="store_true")
    a = _smoke.parse(p, {"viewers": 2, "seconds": 2.0, "paced_seconds": 2.0, "rounds": 1,
                         "hours": 20 / 3600})  # 2 segments of 10 s
    if a.client:
        client_main(a.client)
        return
    if not Path(NGINX).exists():
        _smoke.unavailable("nginx not found: apt-get install nginx-light (Debian; make test "
                           "installs it when root)")
    from export import machine

    print(machine() + f"; load average {loadavg()}", flush=True)
    # SIGTERM (timeout, a supervisor) ends the run through the finally blocks: nginx and
    # serve are stopped, not left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = a.reuse or Path(tempfile.mkdtemp(prefix="kustosz-bench-playback-", dir=a.dir))
    try:
        run(a, tmp)
    finally:
        if a.keep or a.reuse:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(a: argparse.Namespace, tmp: Path) -> None:
    saved = tmp / "prepared.json"
    if saved.exists():  # --dir of an earlier --keep run: the same vault and viewers
        prep = Prepared(**json.loads(saved.read_text()))
        prep.vault_root = Path(prep.vault_root)
        prep.keys = {int(k): v for k, v in prep.keys.items()}
        prep.viewers = prep.viewers[:a.viewers]
    else:
        prep = prepare(tmp, a.viewers, a.hours)
        saved.write_text(json.dumps({**prep.__dict__, "vault_root": str(prep.vault_root)}))
    before = access_records(prep.vault_root)  # a reused vault has a run's records already
    n = len(prep.keys)
    starts = [i * n // a.viewers for i in range(a.viewers)]
    sides = ["before", "kustosz", "nginx"] if a.ab else ["kustosz", "nginx"]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        side: {"throughput": [], "paced": []} for side in sides}
    served_answers = 0
    for rnd in range(a.rounds):
        order = sides[rnd % len(sides):] + sides[:rnd % len(sides)]
        for side in order:
            app = side != "nginx"
            taken = strip_marks(prep.vault_root) if side == "before" else {}
            proc, port = (start_app if app else start_nginx)(prep, tmp)
            try:
                if app:
                    viewers = [Viewer(f"http://127.0.0.1:{port}/media/{tok}/vod.m3u8", web, s)
                               for (web, tok), s in zip(prep.viewers, starts, strict=True)]
                else:
                    viewers = [Viewer(f"http://127.0.0.1:{port}/vod.m3u8", None, s)
                               for s in starts]
                warm = run_clients(tmp, viewers[:2], 3.0, None)  # imports, first requests
                if app:
                    served_answers += warm["status"].get("200", 0)
                if side == "kustosz" and a.profile_seconds and rnd == 0:
                    profile_serve(proc.pid, a.profile_seconds, tmp)
                for mode, seconds, paced, stagger in (
                        ("throughput", a.seconds, None, 0.0),
                        # viewers arrive over 10 s (a quarter of a shorter run)
                        ("paced", a.paced_seconds, a.pace, min(10.0, a.paced_seconds / 4))):
                    load = loadavg()
                    cpu = cpu_seconds(proc.pid)
                    out = run_clients(tmp, viewers, seconds, paced, stagger)
                    cpu = cpu_seconds(proc.pid) - cpu
                    r = summary(out) | {"load": load, "round": rnd + 1, "server_cpu_s": cpu,
                                        "server_cpu_ms_per_segment":
                                            cpu * 1000 / max(1, len(out["latency_s"]))}
                    results[side][mode].append(r)
                    if app:
                        served_answers += out["status"].get("200", 0)
                    print(f"round {rnd + 1} {mode:10s} {line(side, r)} load {load}", flush=True)
            finally:
                stop(proc)
                if taken:
                    put_marks(prep.vault_root, taken)
    records = access_records(prep.vault_root) - before
    from kustosz.vault import Vault

    vault = Vault.open(prep.vault_root, actor="bench")
    try:
        _smoke.check_vault(vault)
    finally:
        vault.close()
    if a.ab:
        cpu = open_cpu_ms(prep.vault_root)
        print(f"open_segment + read, CPU per segment (median, one thread): probed "
              f"{cpu['probed']:.1f} ms, with the intake's mark {cpu['marked']:.1f} ms", flush=True)
    report(a, results, records, served_answers, prep)


def report(a: argparse.Namespace, results: dict[str, dict[str, list[dict[str, Any]]]],
           records: int, answers: int, prep: Prepared) -> None:
    def med(side: str, mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[side][mode])

    ratio = med("kustosz", "throughput", "mb_s") / med("nginx", "throughput", "mb_s")
    print(f"throughput (medians): kustosz {med('kustosz', 'throughput', 'mb_s'):.1f} MB/s "
          f"{med('kustosz', 'throughput', 'seg_s'):.1f} seg/s, nginx "
          f"{med('nginx', 'throughput', 'mb_s'):.1f} MB/s "
          f"{med('nginx', 'throughput', 'seg_s'):.1f} seg/s; ratio kustosz/nginx {ratio:.3f} "
          f"(target >= 0.8)")
    print(f"segment latency under load (throughput runs): kustosz p50 "
          f"{med('kustosz', 'throughput', 'p50_ms'):.0f} ms p99 "
          f"{med('kustosz', 'throughput', 'p99_ms'):.0f} ms; nginx p50 "
          f"{med('nginx', 'throughput', 'p50_ms'):.0f} ms p99 "
          f"{med('nginx', 'throughput', 'p99_ms'):.0f} ms")
    kp99 = med("kustosz", "paced", "p99_ms")
    print(f"segment latency, {a.viewers} viewers playing at {a.pace:g}x: kustosz p50 "
          f"{med('kustosz', 'paced', 'p50_ms'):.1f} ms p99 {kp99:.1f} ms (target <= 200 ms); "
          f"nginx p50 {med('nginx', 'paced', 'p50_ms'):.1f} ms p99 "
          f"{med('nginx', 'paced', 'p99_ms'):.1f} ms")
    if "before" in results:
        before = med("before", "throughput", "mb_s") / med("nginx", "throughput", "mb_s")
        print(f"A/B, the same run: without the intake's sound_checked marks (probed at "
              f"playback) ratio {before:.3f}, {med('before', 'throughput', 'mb_s'):.1f} MB/s, "
              f"server CPU {med('before', 'throughput', 'server_cpu_ms_per_segment'):.1f} "
              f"ms/segment, paced p99 {med('before', 'paced', 'p99_ms'):.1f} ms; with them "
              f"ratio {ratio:.3f}, "
              f"{med('kustosz', 'throughput', 'server_cpu_ms_per_segment'):.1f} ms/segment "
              f"(nginx {med('nginx', 'throughput', 'server_cpu_ms_per_segment'):.1f})")
    print(f"access records this run left: {records}; answers 200 (playlists and segments, "
          f"warm-ups included) the app gave: {answers}")
    if records != answers:
        raise SystemExit(f"{answers} answers but {records} access records")
    empty = [f"{side} {mode}" for side, modes in results.items() for mode, runs in modes.items()
             if any(not r["segments"] for r in runs)]
    if empty:  # nothing measured: a gate refusing every viewer is no benchmark
        raise SystemExit(f"no segment served in: {', '.join(empty)}")
    if a.json:
        print(json.dumps({"bench": "playback", "viewers": a.viewers, "ratio": round(ratio, 3),
                          "kustosz_paced_p99_ms": round(kp99, 1), "access_records": records,
                          "results": results, "material_mb": round(prep.mb)}))


if __name__ == "__main__":
    main()
