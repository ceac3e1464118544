"""A job run in its caller on PostgreSQL (the command line; no worker's heartbeat covers it)
whose process is killed with SIGKILL does not stay "running" for ever: the nodes' workers find
that its caller stopped beating and mark it failed, saying why in English and Polish. A caller
that is alive, however long its job takes, is left alone. Real processes, real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.jobs import JobView
from kustosz.jobs.queue import QueueWorker
from kustosz.vault import Vault

pytestmark = [pytest.mark.pg, pytest.mark.slow]
HERE = Path(__file__).parent


def _caller(root: Path, note: str, pause: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(HERE / "caller_process.py"), str(root), note,
                             str(pause), "0.3"], stdin=subprocess.DEVNULL)


def _job_of(vault: Vault, note: str) -> JobView | None:
    with vault.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT id FROM jobs WHERE kind = 'test.nap' AND note = %(n)s", {"n": note}
        ).scalar()
    return None if found is None else jobs.get(vault, found)


def _running(vault: Vault, note: str, within: float = 30.0) -> JobView:
    deadline = time.monotonic() + within
    while (view := _job_of(vault, note)) is None or view.state != JobState.RUNNING:
        assert time.monotonic() < deadline, f"the job {note!r} never ran"
        time.sleep(0.1)
    return view


@pytest.fixture
def reaper(pg_vault: Vault) -> Iterator[QueueWorker]:
    worker = QueueWorker(pg_vault, name="node-b", poll_s=0.2, stalled_s=2.0, reap_s=0.3)
    yield worker.start()
    worker.stop(10)


def test_a_job_whose_caller_was_killed_is_marked_failed(pg_vault: Vault,
                                                        reaper: QueueWorker) -> None:
    killed = _caller(pg_vault.root, "killed", 300.0)
    alive = _caller(pg_vault.root, "alive", 6.0)
    try:
        dead = _running(pg_vault, "killed")
        live = _running(pg_vault, "alive")
        killed.kill()  # SIGKILL: the row stays as the attempt left it
        killed.wait(10)
        deadline = time.monotonic() + 30
        while jobs.get(pg_vault, dead.id).state == JobState.RUNNING:
            assert time.monotonic() < deadline, "the killed caller's job stayed running"
            time.sleep(0.2)
        view = jobs.get(pg_vault, dead.id)
        assert view.state == JobState.FAILED and view.finished_at is not None
        assert view.error and "the process running it stopped" in view.error
        assert view.error_pl and "Proces, który wykonywał zadanie, zakończył się" in \
            view.error_pl
        # The caller alive all along (past the stalled time) was not taken for dead.
        assert jobs.get(pg_vault, live.id).state == JobState.RUNNING
        assert alive.wait(30) == 0
        done = jobs.get(pg_vault, live.id)
        assert (done.state, done.result, done.error) == (JobState.DONE, "alive", None)
    finally:
        for proc in (killed, alive):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
