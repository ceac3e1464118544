"""The shared job queue on a real PostgreSQL database of the test's own: procrastinate workers
run what any process queued, show progress, retry as the kind's policy says, record failures,
and two worker processes on one queue never run the same job twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.errors import InputError
from kustosz.jobs import JobContext, Retry, Retryable
from kustosz.jobs.queue import Queue, QueueWorker
from kustosz.vault import Vault
from tests.conftest import snapshot

pytestmark = pytest.mark.pg
HERE = Path(__file__).parent


def queue_rows(vault: Vault) -> list[tuple[object, ...]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT id, task_name, status::text, args, attempts FROM procrastinate_jobs "
            "ORDER BY id")]


def job_count(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one())


@pytest.fixture
def worker(pg_vault: Vault) -> Iterator[QueueWorker]:
    w = QueueWorker(pg_vault, name="test", concurrency=2, poll_s=0.2).start()
    jobs.use(pg_vault, w)
    yield w
    jobs.stop(pg_vault, 10)


def test_a_job_queued_anywhere_runs_on_a_worker_with_its_progress_visible(
        pg_vault: Vault, kinds: list[str]) -> None:
    halfway, go_on = threading.Event(), threading.Event()

    def slow(ctx: JobContext, n: int) -> int:
        ctx.progress(0.25, "Jedna czwarta")
        halfway.set()
        assert go_on.wait(30)
        return n + 1

    jobs.register("test.slow", slow)
    kinds.append("test.slow")
    jobs.use(pg_vault, Queue(pg_vault))  # a process without a worker only queues
    job_id = jobs.defer(pg_vault, "test.slow", started_by="anna", n=1)
    assert jobs.get(pg_vault, job_id).state == JobState.QUEUED
    [(_, task, status, args, _)] = queue_rows(pg_vault)
    assert (task, status, args) == ("kustosz.job", "todo", {"job": job_id, "kind": "test.slow"})
    w = QueueWorker(pg_vault, name="node-b", poll_s=0.2).start()  # another node's worker
    try:
        assert halfway.wait(30)
        view = jobs.get(pg_vault, job_id)
        assert (view.state, view.progress, view.note) == (JobState.RUNNING, 0.25,
                                                          "Jedna czwarta")
        go_on.set()
        view = jobs.wait(pg_vault, job_id, 30)
        assert (view.state, view.result, view.attempts) == (JobState.DONE, 2, 1)
    finally:
        go_on.set()
        w.stop(10)
    assert queue_rows(pg_vault) == []  # procrastinate forgets a job done; `jobs` keeps it


def test_the_queue_retries_after_the_policys_delay_then_succeeds(
        pg_vault: Vault, worker: QueueWorker, kinds: list[str]) -> None:
    times: list[float] = []

    def third_time(ctx: JobContext) -> str:
        times.append(time.monotonic())
        if ctx.attempt < 3:
            raise Retryable("the store is busy")
        return "stored"

    jobs.register("test.third", third_time, retry=Retry(attempts=3, first_s=1.0, factor=2.0))
    kinds.append("test.third")
    job_id = jobs.defer(pg_vault, "test.third")
    view = jobs.wait(pg_vault, job_id, 60)
    assert (view.state, view.attempts, view.result, view.error) == (JobState.DONE, 3, "stored",
                                                                    None)
    assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 2.0  # 1 s, then 1 × 2


def test_a_job_failed_for_good_is_failed_in_the_queue_too(
        pg_vault: Vault, worker: QueueWorker, kinds: list[str]) -> None:
    def always(ctx: JobContext) -> None:
        raise Retryable(f"postgresql://kustosz:{'Sekret-99x'}@db.example/x is down")

    jobs.register("test.always", always, retry=Retry(attempts=2, first_s=0.2))
    kinds.append("test.always")
    job_id = jobs.defer(pg_vault, "test.always")
    deadline = time.monotonic() + 60
    while jobs.get(pg_vault, job_id).state != JobState.FAILED and time.monotonic() < deadline:
        time.sleep(0.1)
    view = jobs.get(pg_vault, job_id)
    assert (view.state, view.attempts) == (JobState.FAILED, 2)
    assert view.error is not None and "is down" in view.error and "Sekret-99x" not in view.error
    for _ in range(50):  # procrastinate records the end of the attempt right after ours
        if [r[2] for r in queue_rows(pg_vault)] == ["failed"]:
            break
        time.sleep(0.1)
    assert [r[2] for r in queue_rows(pg_vault)] == ["failed"]
    with pg_vault.engine.begin() as conn:  # months later, both rows are forgotten
        conn.exec_driver_sql("UPDATE jobs SET finished_at = '2026-01-01'")
    from kustosz.jobs import records

    assert records.prune(pg_vault) == 1
    assert queue_rows(pg_vault) == [] and job_count(pg_vault) == 0


def test_bad_input_queues_nothing_on_the_shared_queue(
        pg_vault: Vault, worker: QueueWorker, kinds: list[str]) -> None:
    jobs.register("test.noop", lambda ctx, **kw: None)
    kinds.append("test.noop")
    before = snapshot(pg_vault)
    with pytest.raises(InputError, match="unknown job kind"):
        jobs.defer(pg_vault, "test.nope")
    with pytest.raises(InputError, match=r"argument when is not a JSON value \(object\)"):
        jobs.defer(pg_vault, "test.noop", when=object())
    assert queue_rows(pg_vault) == [] and job_count(pg_vault) == 0
    assert snapshot(pg_vault) == before


def _start_node(root: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "src"),
                                                        str(HERE.parents[1])])}
    proc = subprocess.Popen([sys.executable, str(HERE / "worker_process.py"), str(root), name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"worker {name} did not start: {line}{proc.stderr.read()}")
    return proc


@pytest.mark.slow
def test_two_worker_processes_on_one_queue_never_run_a_job_twice(
        pg_vault: Vault, tmp_path: Path, kinds: list[str]) -> None:
    from tests.jobs.worker_process import mark

    jobs.register("test.mark", mark)
    kinds.append("test.mark")
    out = tmp_path / "ran.txt"
    nodes = [_start_node(pg_vault.root, "node-a"), _start_node(pg_vault.root, "node-b")]
    try:
        jobs.use(pg_vault, Queue(pg_vault))
        ids = [jobs.defer(pg_vault, "test.mark", out=str(out), pause=0.05) for _ in range(60)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(jobs.get(pg_vault, i).finished for i in ids):
                break
            time.sleep(0.2)
    finally:
        for proc in nodes:
            proc.terminate()
        for proc in nodes:
            proc.wait(30)
    views = [jobs.get(pg_vault, i) for i in ids]
    assert [v.state for v in views] == [JobState.DONE] * len(ids)
    lines = [line.split() for line in out.read_text().splitlines()]
    ran = Counter(int(job) for job, _pid in lines)
    assert ran == Counter(ids)  # each job exactly once
    pids = {p.pid for p in nodes}
    by_pid = Counter(int(pid) for _job, pid in lines)
    assert set(by_pid) == pids  # both nodes took jobs
    assert {v.id: v.result for v in views} == {int(j): int(p) for j, p in lines}


POLL_S = 60.0


def test_serve_starts_the_shared_queues_worker_on_postgresql(
        pg_vault: Vault, kinds: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What `kustosz serve` (and each `serve --node`) starts: a procrastinate worker, woken by
    the queue's notification rather than its poll. Its poll is stretched to a minute here, so
    that a job done in half of that was woken by NOTIFY whatever the machine's load (a bound
    of 4 s against the 5 s poll failed at load 7)."""
    import kustosz.jobs.queue as queue_module

    monkeypatch.setattr(queue_module, "QueueWorker", partial(QueueWorker, poll_s=POLL_S))
    jobs.register("test.add", lambda ctx, a, b: a + b)
    kinds.append("test.add")
    runner = jobs.start(pg_vault, node="node-a")
    assert isinstance(runner, QueueWorker) and jobs.runner_of(pg_vault) is runner
    assert runner.poll_s == POLL_S
    # (the first may have come before the worker listened: then its poll takes it)
    view = jobs.wait(pg_vault, jobs.defer(pg_vault, "test.add", a=1, b=2), POLL_S + 30)
    assert (view.state, view.result) == (JobState.DONE, 3)
    started = time.monotonic()
    view = jobs.wait(pg_vault, jobs.defer(pg_vault, "test.add", a=2, b=2), POLL_S / 2)
    assert (view.state, view.result) == (JobState.DONE, 4)
    # the worker's poll began when it found the queue empty after the first job: a job done
    # by that poll would have taken nearly POLL_S from here
    assert time.monotonic() - started < POLL_S / 2
    with pg_vault.engine.connect() as conn:  # registered, with its heartbeat
        assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_workers").scalar() == 1
    jobs.stop(pg_vault, 10)
    with pg_vault.engine.connect() as conn:  # a clean stop leaves no worker behind
        assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_workers").scalar() == 0


@pytest.mark.slow
def test_a_job_whose_node_died_is_finished_by_another(pg_vault: Vault, tmp_path: Path,
                                                       kinds: list[str]) -> None:
    """kill -9 of the node running a job: once its heartbeat is older than the stalled time,
    another node's worker gives the job back to the queue and runs it (attempt 2)."""
    from tests.jobs.worker_process import mark

    jobs.register("test.mark", mark)
    kinds.append("test.mark")
    out = tmp_path / "ran.txt"
    node = _start_node(pg_vault.root, "node-a")
    try:
        jobs.use(pg_vault, Queue(pg_vault))
        job_id = jobs.defer(pg_vault, "test.mark", out=str(out), pause=300.0, first_only=True)
        deadline = time.monotonic() + 30
        while jobs.get(pg_vault, job_id).state != JobState.RUNNING:
            assert time.monotonic() < deadline, "node-a never took the job"
            time.sleep(0.1)
    finally:
        node.kill()  # SIGKILL: no goodbye, its heartbeat just stops
        node.wait(10)
    assert jobs.get(pg_vault, job_id).state == JobState.RUNNING  # as the dead node left it
    other = QueueWorker(pg_vault, name="node-b", poll_s=0.2, stalled_s=3.0, reap_s=0.5)
    jobs.use(pg_vault, other.start())
    view = jobs.wait(pg_vault, job_id, 60)
    assert (view.state, view.attempts, view.result) == (JobState.DONE, 2, os.getpid())
    pids = [int(line.split()[1]) for line in out.read_text().splitlines()]
    assert pids == [node.pid, os.getpid()]
