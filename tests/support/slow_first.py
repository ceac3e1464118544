"""The suite's longest tests start first (issue 52 item 7).

`make test` runs the suite on three xdist workers that steal work from each other
(`--dist worksteal`). What decides the whole run's length is its tail: a 10-minute test
collected near the end starts when the other workers are almost done and runs alone. Sorting
the known-long tests to the front, longest first, is the longest-processing-time rule of
scheduling: the long ones overlap each other and the short ones fill the gaps.

The lengths are measured, not guessed: `tests/durations.json` holds each test's setup, call
and teardown seconds from a whole run on this project's 2-core machine, for the tests past
`RECORDED_FROM` seconds; `KUSTOSZ_RECORD_DURATIONS=FILE make test` writes a new one. A test
missing from the file keeps its place; a stale entry orders nothing.

On a 2-core machine with three workers, what makes a run long is the CPU the tests use, not
the seconds they wait: each test's CPU (its worker's and the children it waited for: a serve,
an ffmpeg, mypy; not a browser kept for the whole session) is a property of its report
(``cpu_s``, in a JUnit XML file too) and the file keeps it for the tests past `CPU_FROM`."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

import pytest

DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"
RECORDED_FROM = 15.0
RECORD_ENV = "KUSTOSZ_RECORD_DURATIONS"
CPU_PROPERTY = "cpu_s"
CPU_FROM = 5.0


def cpu_seconds() -> float:
    """User and system CPU of this process and of the children it has waited for."""
    own, children = (resource.getrusage(who)
                     for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def known() -> dict[str, float]:
    """Seconds per test id, as last measured ({} when the file is absent or unreadable)."""
    try:
        data = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tests = data.get("tests") if isinstance(data, dict) else None
    return {str(k): float(v) for k, v in (tests or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def order(items: list[Any], seconds: dict[str, float]) -> list[Any]:
    """``items`` with the measured ones first, longest first; the rest in their order."""
    long = sorted((i for i in items if i.nodeid in seconds),
                  key=lambda i: -seconds[i.nodeid])
    return long + [i for i in items if i.nodeid not in seconds]


def modify(items: list[pytest.Item]) -> None:
    items[:] = order(items, known())


class Recorder:
    """Adds up each test's phases as the reports arrive (in the controller, which xdist
    hands every worker's reports) and writes the long ones when the run ends."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration
        for name, value in report.user_properties:
            if name == CPU_PROPERTY:
                self.cpu[report.nodeid] = float(value)

    def write(self, date: str) -> None:
        long = {k: round(v, 1) for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1])
                if v >= RECORDED_FROM}
        self.target.write_text(json.dumps(
            {"measured": date, "machine": "2 cores, make test (3 workers)",
             "recorded_from_s": RECORDED_FROM, "tests": long,
             "cpu_from_s": CPU_FROM,
             "cpu_s": {k: round(v, 1) for k, v in sorted(self.cpu.items(), key=lambda kv: -kv[1])
                       if v >= CPU_FROM}},
            ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def recorder() -> Recorder | None:
    target = os.environ.get(RECORD_ENV)
    return Recorder(Path(target).resolve()) if target else None
