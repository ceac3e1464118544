"""A command that runs a job in its caller (as `kustosz copies make` does), for
test_in_caller_crash.py: opens the vault at argv[1], registers the test kind and runs one job
of it with the note argv[2], pausing argv[3] seconds; it beats every argv[4] seconds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kustosz import jobs
from kustosz.jobs import JobContext
from kustosz.jobs.runners import Inline
from kustosz.vault import Vault


def nap(ctx: JobContext, note: str, pause: float) -> str:
    ctx.progress(0.5, note)
    time.sleep(pause)
    return note


def main() -> None:
    vault = Vault.open(Path(sys.argv[1]))
    jobs.register("test.nap", nap)
    jobs.use(vault, Inline(heartbeat_s=float(sys.argv[4])))
    jobs.defer(vault, "test.nap", note=sys.argv[2], pause=float(sys.argv[3]))
    vault.close()


if __name__ == "__main__":
    main()
