"""A process with serve's job worker running a long job, for test_queue_outage.py: opens the
vault at argv[1], starts the worker, queues a job that sleeps for argv[2] seconds, prints
"running" once the job runs; on SIGTERM stops the worker with a timeout of 3 s and exits, as
serve does. The test measures how long the process takes to end."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from kustosz import jobs
from kustosz.db.jobs import JobState
from kustosz.jobs import JobContext
from kustosz.jobs.queue import QueueWorker
from kustosz.vault import Vault


def nap(ctx: JobContext, seconds: float) -> None:
    time.sleep(seconds)


def main() -> None:
    vault = Vault.open(Path(sys.argv[1]))
    jobs.register("test.nap", nap)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = QueueWorker(vault, name="stopping", concurrency=1, poll_s=0.2).start()
    jobs.use(vault, worker)
    job_id = jobs.defer(vault, "test.nap", seconds=float(sys.argv[2]))
    deadline = time.monotonic() + 60
    while jobs.get(vault, job_id).state != JobState.RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    print("running", flush=True)
    stop.wait()
    jobs.stop(vault, 3)  # what serve's _stop_jobs does, within its budget


if __name__ == "__main__":
    main()
