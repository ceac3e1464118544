"""One node's job worker as a process of its own, for test_queue.py: opens the vault at argv[1],
registers the test kind and runs a procrastinate worker named argv[2] until SIGTERM. Prints
"ready" once the worker listens. argv[3], if given: its stalled time in seconds, for a test
that makes dead workers quickly (the reaper's look and the worker's deadline scale with it)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from kustosz import jobs
from kustosz.jobs import JobContext
from kustosz.jobs.queue import QueueWorker
from kustosz.vault import Vault


def mark(ctx: JobContext, out: str, pause: float, first_only: bool = False) -> int:
    """Write "job pid" to ``out`` (one append: lines of two processes never mix), then wait
    ``pause`` seconds (``first_only``: on the first attempt only)."""
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{ctx.job_id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    time.sleep(0 if first_only and ctx.attempt > 1 else pause)
    return os.getpid()


def main() -> None:
    vault = Vault.open(Path(sys.argv[1]))
    jobs.register("test.mark", mark)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    quick: dict[str, float] = {}
    if len(sys.argv) > 3:
        stalled = float(sys.argv[3])
        quick = {"stalled_s": stalled, "reap_s": stalled / 8, "answer_within_s": 3.0}
    worker = QueueWorker(vault, name=sys.argv[2], concurrency=2, poll_s=0.2, **quick).start()
    print("ready", flush=True)
    stop.wait()
    worker.stop(10)
    vault.close()


if __name__ == "__main__":
    main()
