"""Collects the suite once, split over the machine's cores, before `make test`'s workers start.

Every xdist worker collects the whole suite. On a fresh clone each of them also rewrote every
test module's asserts and compiled Kustosz from source: five times the same work side by
side, before any test ran. Collected once first (the halves in parallel), the byte-code is
on disk and the workers read it (issue 52 item 7: five cold collections side by side took
52.0 s, two halves first and then the five 42.1-45.1 s, on the 2-core AMD host).

Only a warm-up: the real run reports whatever cannot be collected, so this one's output and
exit status are not its business. It has a deadline of its own; a collection stuck past it is
killed and the run goes on.

Usage: python -m tests.support.precollect [pytest options...]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEADLINE_S = 300.0
ROOT = Path(__file__).resolve().parents[2]


def suite_modules(root: Path = ROOT) -> list[Path]:
    """The suite's test modules, as pytest finds them under ``tests`` (test_*.py)."""
    return sorted(p for p in (root / "tests").rglob("test_*.py")
                  if "__pycache__" not in p.parts)


def halves(files: list[Path], parts: int) -> list[list[Path]]:
    """``files`` dealt into ``parts`` lists, every part's share of each folder alike."""
    return [files[i::parts] for i in range(parts)] if files else []


def main(argv: list[str]) -> int:
    parts = max(1, min(os.cpu_count() or 1, 4))
    started = time.monotonic()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *argv, *map(str, part)], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
        for part in halves(suite_modules(), parts)]
    for proc in procs:
        left = DEADLINE_S - (time.monotonic() - started)
        try:
            proc.wait(timeout=max(left, 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"suite collected once beforehand in {len(procs)} processes "
          f"({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
