"""The suite's longest tests start first, spread over the workers (issue 52 item 7).

`make test` runs the suite on xdist workers that steal work from each other (`--dist
worksteal`). What decides the whole run's length is its tail: a 10-minute test collected near
the end starts when the other workers are almost done and runs alone. The known-long tests
therefore start first — and on every worker at once. Worksteal hands worker k the k-th of N
consecutive, equal runs of the collected list, and a worker that runs dry steals the second
half of the longest queue left: the front of each run stays with its worker. A list that
merely put the long tests first gave them all to the first worker, one after another (a fresh
clone's run, 2026-11-27, still ran two 85-s outage tests in its 32nd minute). So the
long tests are dealt by the longest-processing-time rule — each, longest first, to the worker
whose share so far is smallest — and each run of the list is its worker's long tests, longest
first, then its equal share of the others in their collected order (`deal`). A module whose
tests share a fixture of wider scope than the test (a masked clip, a built site) goes whole
to one worker: split, each worker it reached made the fixture again (`unit_of`).

The lengths are measured, not guessed: `tests/durations.json` holds each test's setup, call
and teardown seconds from a whole run on this project's 2-core machine, for the tests past
`RECORDED_FROM` seconds; `KUSTOSZ_RECORD_DURATIONS=FILE make test` writes a new one. A test
missing from the file keeps its place; a stale entry orders nothing.

On a 2-core machine, what makes a run long is the CPU the tests use, not the seconds they
wait: each test's CPU (its worker's and the children it waited for: a serve, an ffmpeg, mypy;
not a browser kept for the whole session) is a property of its report (``cpu_s``, in a JUnit
XML file too) and the file keeps it for the tests past `CPU_FROM`."""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
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


def known(table: str = "tests") -> dict[str, float]:
    """Seconds per test id, as last measured ({} when the file is absent or unreadable);
    ``table`` `CPU_PROPERTY`: the CPU seconds of the tests past `CPU_FROM` instead."""
    try:
        data = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tests = data.get(table) if isinstance(data, dict) else None
    return {str(k): float(v) for k, v in (tests or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def order(items: list[Any], seconds: dict[str, float]) -> list[Any]:
    """``items`` with the measured ones first, longest first; the rest in their order."""
    long = sorted((i for i in items if i.nodeid in seconds),
                  key=lambda i: -seconds[i.nodeid])
    return long + [i for i in items if i.nodeid not in seconds]


def runs(total: int, workers: int) -> list[int]:
    """The lengths of the consecutive runs worksteal first hands its ``workers`` (xdist's
    `WorkStealingScheduling.check_schedule`: each takes what is left // the workers left)."""
    lengths = []
    for k in range(workers):
        lengths.append((total - sum(lengths)) // (workers - k))
    return lengths


UNMEASURED_S = 0.8  # a test durations.json does not name, on average (4 168 took 3 250 s)
SHARED_SCOPES = ("module", "class", "package")


def unit_of(item: Any) -> str:
    """What must stay on one worker: a module whose tests share a fixture of module, class
    or package scope (a masked clip, a built site, a SIPp rig: made again on each worker its
    tests land on, and torn down when another module's test comes between them), else the
    test alone."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in getattr(info, "name2fixturedefs", {}).values():
        if defs and defs[-1].scope in SHARED_SCOPES:
            return str(item.nodeid.split("::", 1)[0])
    return str(item.nodeid)


WAITING_SHARE = 0.25  # a unit using less CPU than this share of its length mostly waits


def deal(items: list[Any], seconds: dict[str, float], workers: int,
         unit: Callable[[Any], str] = unit_of, cpu: dict[str, float] | None = None,
         cores: int = 0) -> list[Any]:
    """``items`` laid out for ``workers`` stealing workers. The units (`unit_of`) holding a
    measured test are dealt by the longest-processing-time rule, heaviest first to the
    worker whose share is the lightest so far (a unit weighs its measured seconds, and
    `UNMEASURED_S` for each of its other tests); run k holds worker k's units, the one with
    the longest test first, each in its collected order, then its share of the other tests
    in their collected order. `order` where that cannot be done.

    With each test's CPU measured (``cpu``, seconds; a measured test missing from it used
    less than `CPU_FROM`) and more workers than ``cores``: the units that mostly wait (CPU
    under `WAITING_SHARE` of their length: the outages, the kills' timeouts) go to the first
    ``workers - cores`` workers only, so that the others keep every core busy meanwhile —
    dealt to all four, they started at once and left a third of two cores idle for ten
    minutes (issue 52 item 7). A waiting unit that would take those workers past the mean
    share goes by the plain rule."""
    if workers < 2:
        return order(items, seconds)
    units: dict[str, list[Any]] = {}
    for item in items:
        units.setdefault(unit(item), []).append(item)
    heavy = [u for u in units.values() if any(i.nodeid in seconds for i in u)]

    def weight(u: list[Any]) -> float:
        # A measured id counts once: the file sums the phases of every item of one id, and
        # schemathesis gives its 37 operations one id (counted 37 times, the fuzz module
        # weighed 1 421 s instead of 38 and pushed every outage test onto one worker).
        # Summed in a fixed order: a set's order follows each process's hash seed, and float
        # sums in another order differ in the last bit, enough to turn a tie the other way
        # on one xdist worker — which then collected another order and stopped the run.
        measured = sorted({i.nodeid for i in u if i.nodeid in seconds})
        return sum(seconds[n] for n in measured) + \
            UNMEASURED_S * sum(i.nodeid not in seconds for i in u)

    def longest(u: list[Any]) -> float:
        return max(seconds.get(i.nodeid, 0.0) for i in u)

    def waits(u: list[Any]) -> bool:
        return cpu is not None and \
            sum(cpu.get(n, 0.0) for n in sorted({i.nodeid for i in u})) < WAITING_SHARE * weight(u)

    lengths = runs(len(items), workers)
    shares: list[list[list[Any]]] = [[] for _ in range(workers)]
    totals = [0.0] * workers
    mean = sum(weight(u) for u in units.values()) / workers
    waiting = range(workers - cores) if cpu and 0 < cores < workers else range(0)
    for u in sorted(heavy, key=lambda u: (not waits(u), -weight(u))):
        k = min(range(workers), key=lambda w: (totals[w], w))
        if waits(u) and waiting:
            w = min(waiting, key=lambda w: (totals[w], w))
            k = w if totals[w] + weight(u) <= mean else k
        shares[k].append(u)
        totals[k] += weight(u)
    dealt = [[i for u in sorted(share, key=longest, reverse=True) for i in u]
             for share in shares]
    if any(len(run) > length for run, length in zip(dealt, lengths, strict=True)):
        return order(items, seconds)
    taken = {id(i) for run in dealt for i in run}
    rest = iter([i for i in items if id(i) not in taken])
    laid: list[Any] = []
    for run, length in zip(dealt, lengths, strict=True):
        laid += run + [next(rest) for _ in range(length - len(run))]
    return laid


DIST_KEY = "kustosz_dist"  # the controller's --dist, handed to each worker (`tell_worker`)


def tell_worker(node: Any) -> None:
    """In the controller, for each worker it starts: its --dist, which a worker's own options
    no longer hold (xdist sets them to "no" there)."""
    node.workerinput[DIST_KEY] = node.config.getoption("dist", None)


def stealing_workers(config: pytest.Config) -> int:
    """How many workers share this run by work stealing (1 when it is not so run)."""
    given = getattr(config, "workerinput", None)
    if given is None or given.get(DIST_KEY) != "worksteal":
        return 1
    return int(given.get("workercount", 1))


def modify(items: list[pytest.Item], config: pytest.Config | None = None) -> None:
    workers = stealing_workers(config) if config is not None else 1
    items[:] = deal(items, known(), workers, cpu=known(CPU_PROPERTY), cores=os.cpu_count() or 1)


class Recorder:
    """Adds up each test's phases as the reports arrive (in the controller, which xdist
    hands every worker's reports) and writes the long ones when the run ends."""

    def __init__(self, target: Path, workers: int = 1) -> None:
        self.target = target
        self.workers = workers
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.spans: dict[str, list[Any]] = {}  # nodeid: [worker, start, stop]

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        span = self.spans.setdefault(report.nodeid, [getattr(gateway, "id", "-"),
                                                     report.start, report.stop])
        span[1], span[2] = min(span[1], report.start), max(span[2], report.stop)
        for name, value in report.user_properties:
            if name == CPU_PROPERTY:
                self.cpu[report.nodeid] = float(value)

    def write(self, date: str) -> None:
        long = {k: round(v, 1) for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1])
                if v >= RECORDED_FROM}
        self.target.write_text(json.dumps(
            {"measured": date,
             "machine": f"{os.cpu_count()} cores, {self.workers} xdist worker(s)",
             "recorded_from_s": RECORDED_FROM, "tests": long,
             "cpu_from_s": CPU_FROM,
             CPU_PROPERTY: {k: round(v, 1) for k, v in
                            sorted(self.cpu.items(), key=lambda kv: -kv[1]) if v >= CPU_FROM}},
            ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        # Which worker ran what when (seconds from the first test's start): where a run's
        # end waited on one worker, and for what.
        t0 = min((s[1] for s in self.spans.values()), default=0.0)
        self.target.with_suffix(".timeline.tsv").write_text("".join(
            f"{w}\t{a - t0:.1f}\t{b - t0:.1f}\t{self.cpu.get(n, 0.0):.1f}\t{n}\n"
            for n, (w, a, b) in sorted(self.spans.items(), key=lambda kv: kv[1][1:])),
            encoding="utf-8")


def recorder() -> Recorder | None:
    target = os.environ.get(RECORD_ENV)
    return Recorder(Path(target).resolve()) if target else None
