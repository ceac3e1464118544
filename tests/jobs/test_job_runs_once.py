"""A job of the shared queue never runs twice at once (issue 27 review), on a real PostgreSQL
of the test's own behind a TCP proxy the test controls.

A short outage makes procrastinate's worker fail its heartbeat and begin to stop; it stops
beating but waits for its running job (a copy: minutes of ffmpeg, which cannot be cancelled).
Its heartbeat goes stale, yet the job is alive: it beats its own row, so no reaper — another
node's or its own — gives it back, and no worker takes it while its row is fresh."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.db.jobs import jobs as job_rows
from kustosz.db.outage import Backoff
from kustosz.jobs import records, running
from kustosz.jobs.queue import QueueWorker
from kustosz.vault import Vault
from tests.jobs.test_queue_outage import server, until, vault  # noqa: F401 (fixtures)
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not pg_outage.available(),
                                                 reason="no PostgreSQL server binaries")]
HERE = Path(__file__).parent
STALLED_S = 4.0  # 60 s in serve
OUTAGE_S = 12.0  # three times the stalled time


def _node(v: Vault, name: str) -> QueueWorker:
    return QueueWorker(v, name=name, poll_s=0.2, answer_within_s=3.0, stalled_s=STALLED_S,
                       reap_s=0.5, backoff=Backoff(first_s=0.2, limit_s=1.0))


def _outage(proxy: Proxy) -> None:
    proxy.cut()
    began = time.monotonic()
    until(lambda: time.monotonic() - began > OUTAGE_S, OUTAGE_S + 10, "the outage's length")
    proxy.restore()


def test_a_running_job_is_not_run_again_beside_itself_after_an_outage(
        vault: Vault, server: tuple[PrivatePostgres, Proxy], kinds: list[str]) -> None:  # noqa: F811
    """Two workers in one process (its own reaper gave its running job back, the other
    worker took it): the job runs once, and ends done."""
    _, proxy = server
    lock = threading.Lock()
    now_running, peak, entered = [0], [0], [0]
    release = threading.Event()

    def slow(ctx: jobs.JobContext, seconds: float) -> int:
        with lock:
            entered[0] += 1
            now_running[0] += 1
            peak[0] = max(peak[0], now_running[0])
        try:
            release.wait(seconds)  # a copy: minutes of ffmpeg, no database in between
        finally:
            with lock:
                now_running[0] -= 1
        return 1

    jobs.register("test.slow", slow)
    kinds.append("test.slow")
    w = _node(vault, "node-a")
    jobs.use(vault, w)
    w.start()
    other = _node(vault, "node-b")
    job = jobs.defer(vault, "test.slow", seconds=300)
    until(lambda: entered[0] == 1, 60, "the job began")
    other.start()
    _outage(proxy)
    # Long enough for both reapers to have looked many times at a job whose worker's
    # heartbeat is stale: LOOKS looks over STALLED_S, then a poll.
    seen_since = time.monotonic()
    until(lambda: time.monotonic() - seen_since > 4 * STALLED_S, 60, "the reapers looked")
    release.set()
    view = jobs.wait(vault, job, 60)
    w.stop(10)
    other.stop(10)
    assert (entered[0], peak[0]) == (1, 1), f"job {job} entered {entered[0]} times"
    assert (view.state, view.attempts) == (JobState.DONE, 1)


def _start_node(root: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "src"),
                                                        str(HERE.parents[1])])}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "worker_process.py"), str(root), name, str(STALLED_S)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"worker {name} did not start: {line}")
    return proc


@pytest.mark.slow
def test_a_job_running_through_an_outage_is_not_taken_by_another_node(
        vault: Vault, server: tuple[PrivatePostgres, Proxy], kinds: list[str],  # noqa: F811
        tmp_path: Path) -> None:
    """Node B a process of its own (only the database tells it what node A does): after the
    outage node A's worker heartbeat is stale, but the job's row beats, so B leaves it."""
    from tests.jobs.worker_process import mark

    _, proxy = server
    jobs.register("test.mark", mark)
    kinds.append("test.mark")
    out = tmp_path / "ran.txt"
    w = _node(vault, "node-a")
    jobs.use(vault, w)
    w.start()
    job = jobs.defer(vault, "test.mark", out=str(out), pause=OUTAGE_S + 6 * STALLED_S)
    until(lambda: out.exists(), 60, "node A began the job")
    other = _start_node(vault.root, "node-b")
    try:
        _outage(proxy)
        view = jobs.wait(vault, job, 90)
    finally:
        other.terminate()
        other.wait(30)
        w.stop(10)
    runs = Counter(line.split()[1] for line in out.read_text().splitlines())
    assert runs == Counter({str(os.getpid()): 1}), runs
    assert (view.state, view.attempts) == (JobState.DONE, 1)


def _running_row(v: Vault, age: timedelta) -> int:
    with v.transaction() as s:
        job_id = records.create(s.connection(), "test.any", {}, "test")
    assert records.begin(v, job_id) is not None
    with v.transaction() as s:
        s.execute(update(job_rows).where(job_rows.c.id == job_id).values(
            updated_at=datetime.now(UTC) - age))
    return job_id


def test_a_job_marked_running_is_taken_again_only_once_its_row_is_stale(
        pg_vault: Vault) -> None:
    fresh = _running_row(pg_vault, timedelta(seconds=1))
    with pytest.raises(records.StillRunning):
        records.begin(pg_vault, fresh, resume=True, stale=timedelta(seconds=60))
    assert records.get(pg_vault, fresh).attempts == 1  # type: ignore[union-attr]
    old = _running_row(pg_vault, timedelta(seconds=61))
    assert records.begin(pg_vault, old, resume=True, stale=timedelta(seconds=60)) == (
        "test.any", {}, 2)
    # SQLite's serve at its start (no stale given): whatever was left running is taken
    assert records.begin(pg_vault, fresh, resume=True) == ("test.any", {}, 2)


def test_two_nodes_taking_a_stale_job_at_once_one_gets_it(pg_vault: Vault) -> None:
    """The staleness is checked in the UPDATE itself: of many takers at once, exactly one
    begins the attempt; the others see it running, fresh."""
    job_id = _running_row(pg_vault, timedelta(seconds=120))
    results: list[object] = []
    gate = threading.Barrier(6)

    def take() -> None:
        gate.wait()
        try:
            results.append(records.begin(pg_vault, job_id, resume=True,
                                         stale=timedelta(seconds=60)))
        except records.StillRunning as exc:
            results.append(exc)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    begun = [r for r in results if isinstance(r, tuple)]
    assert begun == [("test.any", {}, 2)] and len(results) == 6


def test_a_process_refuses_to_run_a_job_it_runs_already(pg_vault: Vault) -> None:
    with running.running(pg_vault, 7, every=60):
        assert running.here(pg_vault, 7)
        with pytest.raises(running.AlreadyHere), running.running(pg_vault, 7, every=60):
            pass
    assert not running.here(pg_vault, 7)
    with running.running(pg_vault, 7, every=60):  # ended: it may run again
        pass


def _beat(job_id: int, at: datetime, state: JobState = JobState.RUNNING) -> records.Beat:
    return records.Beat(job_id, state, at, None)


def test_the_reaper_gives_back_only_a_row_seen_silent_through_looks_that_reached_it(
        pg_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(running.time, "monotonic", lambda: clock[0])
    silence = running.Silence(pg_vault, stalled_s=60.0, looks=3)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert silence.dead({1: _beat(11, t0)}) == []
    clock[0] += 30
    assert silence.dead({1: _beat(11, t0)}) == []
    silence.lost()  # a look failed (an outage): the runner could not beat either
    clock[0] += 30
    assert silence.dead({1: _beat(11, t0)}) == []
    clock[0] += 30
    assert silence.dead({1: _beat(11, t0)}) == []
    clock[0] += 30
    assert silence.dead({1: _beat(11, t0 + timedelta(seconds=5))}) == []  # it beat: alive
    for step in (30, 29):  # three looks, 59 s
        clock[0] += step
        assert silence.dead({1: _beat(11, t0 + timedelta(seconds=5))}) == []
    clock[0] += 1
    assert silence.dead({1: _beat(11, t0 + timedelta(seconds=5))}) == [1]  # 60 s, 4 looks
    # finished or gone: nothing runs it, closing it is harmless
    assert silence.dead({2: _beat(12, t0, JobState.DONE), 3: None}) == [2, 3]
    with running.running(pg_vault, 14, every=60):  # this process runs it: alive
        for _ in range(5):
            clock[0] += 60
            assert silence.dead({4: _beat(14, t0)}) == []
