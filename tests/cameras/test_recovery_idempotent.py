"""Issue 27 item 6: start-up recovery of the camera spool is idempotent. Killed at any point
and run again, it never stores two segments for the same seconds of a camera and never shifts
a segment's time; where a time had to be reconstructed (a segment ffmpeg closed but nobody
listed), the index says so, with the evidence. SIGTERM stops it between segments.

The segments are made by ffmpeg's own segment muxer (one time line per session, as the
recorder runs it), so their true times are known: ffmpeg's full list, on a wall clock of the
test's choosing; the spool gets only the first rows of it, as after a serve that hung while
ffmpeg went on closing segments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import imageio_ffmpeg
import pytest
from camera_helpers import index_matches_files, register_camera, stored
from tests.support.fork_server import ForkServer

from kustosz.cameras.register import add_site, add_zone
from kustosz.db.models import Recording
from kustosz.ingest.camera.command import LIST_NAME
from kustosz.ingest.camera.segments import parse_rows
from kustosz.ingest.camera.spool import Session, new_session, settle_leftovers, spool_root
from kustosz.ingest.files import recover_pending
from kustosz.vault import Vault

HERE = Path(__file__).parent
REPO = HERE.parents[1]
# How far a stored start may be from the truth: the anchor is the smallest (close time − end)
# seen, later than the truth by the smallest delay of a close (≤ 0.3 s here), and ffmpeg's
# first row starts at 0 while its first picture is at 0.2 s (B-frames).
TOLERANCE_S = 0.75
POINTS = ("inspect", "adopt_before", "adopt_after", "after_insert", "after_renames")


@dataclass
class Made:
    name: str
    folder: Path
    truth: dict[str, float]  # segment -> its true start (epoch seconds)
    last: str  # the segment being written when ffmpeg stopped


def record_session(spool: Path, sid: int, t0: float, seconds: int, listed: int,
                   rng: random.Random, scratch: Path, cut_last: bool = True) -> Made:
    """A session folder as ffmpeg leaves it when the recorder read only ``listed`` rows: real
    1-s segments of one time line, each closed (mtime) a little after its end on the wall
    clock whose stream time 0 is ``t0``; the last one maybe cut off mid-write."""
    name, folder = new_session(spool, sid)
    full = scratch / f"{name}.csv"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=10", "-t", str(seconds), "-c:v", "libx264",
                    "-g", "10", "-pix_fmt", "yuv420p", "-map", "0:v:0", "-an",
                    "-f", "segment", "-segment_time", "1", "-segment_format", "mpegts",
                    "-segment_list", str(full), "-segment_list_type", "csv",
                    "-reset_timestamps", "0", str(folder / "seg%08d.ts")], check=True)
    rows = parse_rows(full.read_text())
    assert len(rows) >= seconds - 1
    for row in rows:
        closed = t0 + row.end + rng.uniform(0.05, 0.3)
        os.utime(folder / row.name, (closed, closed))
    last = rows[-1].name
    if cut_last:  # killed mid-write: the first 40-90 % of it
        path = folder / last
        data, stat = path.read_bytes(), path.stat()
        path.write_bytes(data[: int(len(data) * rng.uniform(0.4, 0.9))])
        os.utime(path, (stat.st_atime, stat.st_mtime))
    (folder / LIST_NAME).write_text("".join(f"{r.name},{r.start:.6f},{r.end:.6f}\n"
                                            for r in rows[:listed]))
    return Made(name, folder, {r.name: t0 + r.start for r in rows}, last)


def children() -> ForkServer:
    """recovery_kill_child.py's runs, each a process of its own forked after its imports."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{HERE}"}
    return ForkServer(HERE / "recovery_kill_child.py", env)


def run_child(forks: ForkServer, vault: Vault, sid: int, point: str,
              k: int) -> subprocess.CompletedProcess[str]:
    return forks.run([str(vault.root), str(spool_root(vault)), str(sid), point, str(k)])


def check_camera(vault: Vault, sid: int, made: list[Made], complete: bool) -> None:
    """No two stored segments of the camera overlap; each is stored at its true time (within
    the tolerance), once. ``complete``: every segment is stored (the cut-off last one may have
    been discarded as unreadable) and the spool is empty."""
    truth = {(m.name, seg): t for m in made for seg, t in m.truth.items()}
    rows = stored(vault, sid)
    for a, b in pairwise(rows):
        assert b.start_at >= a.end_at, (
            f"{a.meta['segment']} {a.start_at}..{a.end_at} overlaps "
            f"{b.meta['segment']} {b.start_at}..{b.end_at}")
    seen = [(r.meta["session"], r.meta["segment"]) for r in rows]
    assert len(seen) == len(set(seen)), "a segment stored twice"
    for r in rows:
        want = truth[(r.meta["session"], r.meta["segment"])]
        off = r.start_at.timestamp() - want
        assert abs(off) <= TOLERANCE_S, (r.meta["segment"], off, r.meta)
    if complete:
        index_matches_files(vault)
        missing = set(truth) - set(seen)
        assert missing <= {(m.name, m.last) for m in made}, sorted(missing)
        assert all(not m.folder.exists() for m in made)


def kill_rounds(vault: Vault, cam: int, tmp_path: Path, rounds: int, seed: int) -> int:
    """``rounds`` sessions, each recovered by a child killed once or twice at a random point,
    then run to the end; the camera checked after every kill and every rerun. The kills."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    made: list[Made] = []
    kills = 0
    with children() as forks:
        for round_ in range(rounds):
            kills += _kill_round(vault, cam, tmp_path, forks, rng, base + 3600 * round_, made)
    return kills


def _kill_round(vault: Vault, cam: int, tmp_path: Path, forks: ForkServer,
                rng: random.Random, t0: float, made: list[Made]) -> int:
    """One session recovered by a child killed once or twice, then run to the end."""
    spool = spool_root(vault)
    kills = 0
    seconds = rng.randint(6, 9)
    listed = rng.randint(0, seconds // 2)
    m = record_session(spool, cam, t0, seconds, listed, rng, tmp_path)
    made.append(m)
    # the live recorder took some of the listed ones before serve hung (the rest stayed
    # listed and unindexed: the database was away)
    live = Session(vault, cam, m.name, m.folder)
    for seg in parse_rows((m.folder / LIST_NAME).read_text())[: rng.randint(0, listed)]:
        live.take(seg)
    for again in range(2 if rng.random() < 0.5 else 1):  # killed again before it finished
        point = rng.choice(POINTS)
        k = rng.randint(1, seconds - listed + 1) if again == 0 else rng.randint(1, 3)
        child = run_child(forks, vault, cam, point, k)
        assert child.returncode in (-9, 0), child.stdout + child.stderr
        kills += child.returncode == -9
        check_camera(vault, cam, made, complete=False)
    child = run_child(forks, vault, cam, "none", 0)  # the start after it
    assert child.returncode == 0, child.stdout + child.stderr
    check_camera(vault, cam, made, complete=True)
    return kills


@pytest.mark.slow
def test_recovery_killed_anywhere_twenty_times_never_doubles_or_shifts_a_segment(
        site_vault: Vault, cam: int, tmp_path: Path) -> None:
    assert kill_rounds(site_vault, cam, tmp_path, rounds=20, seed=27) >= 20


@pytest.mark.pg
@pytest.mark.slow
def test_recovery_killed_anywhere_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    vault = Vault.init(tmp_path / "vault", "pleszew", pg_url, actor="test")
    try:
        with vault.transaction() as s:
            add_site(s, "Ratusz", "test", "Rynek 1")
            add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        cam = register_camera(vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
        assert kill_rounds(vault, cam, tmp_path, rounds=6, seed=2027) >= 6
    finally:
        vault.close()


def test_sigterm_stops_recovery_within_seconds_and_the_next_start_finishes_it(
        site_vault: Vault, cam: int, tmp_path: Path) -> None:
    rng = random.Random(7)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 40, 3, rng, tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{HERE}"}
    child = subprocess.Popen(
        [sys.executable, str(HERE / "recovery_kill_child.py"), str(site_vault.root),
         str(spool), str(cam), "term", "0"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "taking"
        asked = time.monotonic()
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, out + err
    assert "stopped=True" in out, out
    assert took < 5.0, took
    assert m.folder.exists()  # stopped part-way: the rest waits for the next start
    assert len(stored(site_vault, cam)) < len(m.truth)
    recover_pending(site_vault)
    settle_leftovers(site_vault, spool, cam)
    check_camera(site_vault, cam, [m], complete=True)


def test_a_stop_asked_before_a_segment_leaves_it_in_the_spool(site_vault: Vault, cam: int,
                                                               tmp_path: Path) -> None:
    rng = random.Random(3)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 8, 2, rng, tmp_path)
    asked = threading.Event()
    asked.set()
    assert settle_leftovers(site_vault, spool, cam, stop=asked) == 0
    assert stored(site_vault, cam) == []
    assert m.folder.exists()

    def after_three() -> bool:  # asked between segments (and between files while deciding)
        return len(stored(site_vault, cam)) >= 3

    taken = settle_leftovers(site_vault, spool, cam, stop=after_three)
    assert taken == 3
    assert 0 < taken < len(m.truth)
    settle_leftovers(site_vault, spool, cam)
    check_camera(site_vault, cam, [m], complete=True)


def test_an_unlisted_segment_says_in_the_index_its_time_was_reconstructed(
        site_vault: Vault, cam: int, tmp_path: Path) -> None:
    rng = random.Random(5)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 6, 2, rng, tmp_path)
    settle_leftovers(site_vault, spool, cam)
    check_camera(site_vault, cam, [m], complete=True)
    rows = stored(site_vault, cam)
    listed = {"seg00000000.ts", "seg00000001.ts"}
    for r in rows:
        if r.meta["segment"] in listed:
            assert "time_reconstructed" not in r.meta
            continue
        how = r.meta["time_reconstructed"]
        assert how["from"] == "stream time", how
        ev = how["evidence"]
        # enough to check it again: the anchor, the offset of the file's own time stamps to
        # the list's time line and where it was learnt, the file's first time stamp and mtime
        assert {"anchor", "pts_offset", "pts_offset_from", "first_pts", "file_mtime"} <= set(ev)
        assert ev["pts_offset_from"].startswith("seg00000002.ts follows the listed "
                                                "seg00000001.ts")
        assert r.meta["partial"] is True


def test_a_session_without_a_list_is_placed_by_its_files_mtimes(site_vault: Vault, cam: int,
                                                                tmp_path: Path) -> None:
    """ffmpeg closed segments, nobody read one row (serve hung from the start): the times come
    from the files' own time stamps on the time line of the smallest (mtime − end)."""
    rng = random.Random(11)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 7, 0, rng, tmp_path)
    settle_leftovers(site_vault, spool, cam)
    check_camera(site_vault, cam, [m], complete=True)
    for r in stored(site_vault, cam):
        assert r.meta["time_reconstructed"]["from"] == "file mtime", r.meta


def test_a_rerun_without_the_plan_chains_to_the_stored_end_in_the_index(
        site_vault: Vault, cam: int, tmp_path: Path) -> None:
    """A folder an earlier recovery left without its plan (a version before it; or the plan
    lost): where the segment before an unlisted one is already indexed, recovery reads its end
    from the index instead of chaining to the last listed one again."""
    rng = random.Random(13)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 8, 2, rng, tmp_path, cut_last=False)
    with children() as forks:
        child = run_child(forks, site_vault, cam, "adopt_after", 4)  # 2 listed + 2 unlisted
    assert child.returncode == -9, child.stdout + child.stderr
    for plan in m.folder.glob("recovery*.json"):
        plan.unlink()
    recover_pending(site_vault)
    settle_leftovers(site_vault, spool, cam)
    check_camera(site_vault, cam, [m], complete=True)
    rows = {r.meta["segment"]: r for r in stored(site_vault, cam)}
    how = rows["seg00000004.ts"].meta["time_reconstructed"]
    assert how["from"] == "chained to seg00000003.ts", how
    assert how["evidence"]["previous_end_from"] == "index"


def test_a_stored_segment_over_the_same_seconds_is_never_doubled(site_vault: Vault, cam: int,
                                                                 tmp_path: Path) -> None:
    """Whatever the evidence says, recovery does not store a segment over seconds of the camera
    already stored: it is placed after them, and says so."""
    rng = random.Random(17)
    spool = spool_root(site_vault)
    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    m = record_session(spool, cam, t0, 5, 0, rng, tmp_path, cut_last=False)
    # another segment of the camera stored over seconds 2.5..3.5 of this session
    other = Session(site_vault, cam, "20261120T000000-other", tmp_path / "other")
    (tmp_path / "other").mkdir()
    src = tmp_path / "other" / "seg00000000.ts"
    src.write_bytes((m.folder / "seg00000000.ts").read_bytes() + b"\xff" * 188)
    os.utime(src, (t0 + 3.5, t0 + 3.5))
    from kustosz.ingest.camera.segments import ListedSegment
    other.anchor = t0 + 2.5
    assert other.take(ListedSegment(src.name, 0.0, 1.0)) is not None
    settle_leftovers(site_vault, spool, cam)
    rows = stored(site_vault, cam)
    for a, b in pairwise(rows):
        assert b.start_at >= a.end_at, (a.meta, b.meta)
    moved = [r for r in rows if "moved after" in
             (r.meta.get("time_reconstructed") or {}).get("from", "")]
    assert moved, [r.meta for r in rows]
    index_matches_files(site_vault)
    with site_vault.reading() as s:
        assert s.query(Recording).count() == 6
