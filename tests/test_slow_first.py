"""The longest tests start first (tests/support/slow_first.py, issue 52 item 7): the order is a
permutation of what was collected, the measured tests first and longest first, every other
test in its collected order; a recorded run writes what the next run orders by."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import slow_first


@dataclass(frozen=True)
class Item:
    nodeid: str


@dataclass(frozen=True)
class Report:
    nodeid: str
    duration: float
    user_properties: tuple[tuple[str, object], ...] = ()
    start: float = 0.0
    stop: float = 0.0


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=30),
       st.dictionaries(st.text(min_size=1, max_size=8),
                       st.floats(min_value=0, max_value=1e4), max_size=30))
def test_order_puts_the_measured_first_longest_first(ids: list[str],
                                                     seconds: dict[str, float]) -> None:
    items = [Item(i) for i in ids]
    ordered = slow_first.order(items, seconds)
    assert sorted(i.nodeid for i in ordered) == sorted(ids)
    measured = [i for i in ordered if i.nodeid in seconds]
    assert ordered[:len(measured)] == measured
    times = [seconds[i.nodeid] for i in measured]
    assert times == sorted(times, reverse=True)
    assert ordered[len(measured):] == [i for i in items if i.nodeid not in seconds]


def test_a_recorded_run_is_what_the_next_run_orders_by(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "durations.json"
    rec = slow_first.Recorder(target)
    for nodeid, phase, at in [("t::a", 10.0, 100.0), ("t::a", 6.0, 110.0), ("t::b", 40.0, 50.0),
                              ("t::c", 1.0, 150.0)]:
        rec.add(Report(nodeid, phase, start=at, stop=at + phase))  # type: ignore[arg-type]
    rec.write("2026-11-27 10:00 UTC")
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written["tests"] == {"t::b": 40.0, "t::a": 16.0}  # under 15 s: not kept
    assert (tmp_path / "durations.timeline.tsv").read_text(encoding="utf-8").splitlines() == [
        "-\t0.0\t40.0\t0.0\tt::b", "-\t50.0\t66.0\t0.0\tt::a", "-\t100.0\t101.0\t0.0\tt::c"]
    monkeypatch.setattr(slow_first, "DURATIONS", target)
    items = [Item("t::c"), Item("t::a"), Item("t::d"), Item("t::b")]
    slow_first.modify(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == ["t::b", "t::a", "t::c", "t::d"]


def test_an_unreadable_file_orders_nothing(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "durations.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(slow_first, "DURATIONS", bad)
    assert slow_first.known() == {}
    items = [Item("b"), Item("a")]
    slow_first.modify(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == ["b", "a"]


def test_a_tests_cpu_counts_the_children_it_waited_for(tmp_path: Path) -> None:
    """What a 2-core run is short of is CPU: a test's own and its children's (issue 52 item 7)."""
    before = slow_first.cpu_seconds()
    subprocess.run([sys.executable, "-c",
                    "import time\nend = time.process_time() + 0.4\n"
                    "while time.process_time() < end: pass"], check=True)
    assert slow_first.cpu_seconds() - before >= 0.4
    rec = slow_first.Recorder(tmp_path / "durations.json")
    rec.add(Report("t::busy", 1.0))  # type: ignore[arg-type]
    rec.add(Report("t::busy", 0.5, ((slow_first.CPU_PROPERTY, 7.25),)))  # type: ignore[arg-type]
    rec.add(Report("t::idle", 20.0, ((slow_first.CPU_PROPERTY, 0.5),)))  # type: ignore[arg-type]
    rec.write("2026-11-27 17:00 UTC")
    written = json.loads((tmp_path / "durations.json").read_text(encoding="utf-8"))
    assert written["cpu_s"] == {"t::busy": 7.2}  # under 5 s of CPU: not kept
    assert written["tests"] == {"t::idle": 20.0}


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, min_size=1, max_size=60),
       st.dictionaries(st.text(min_size=1, max_size=8),
                       st.floats(min_value=0, max_value=1e4), max_size=12),
       st.integers(1, 6))
def test_dealt_runs_start_with_each_workers_long_share(
        ids: list[str], seconds: dict[str, float], workers: int) -> None:
    """Each of the runs worksteal hands out begins with its worker's measured tests, longest
    first; the shares are the longest-processing-time rule's (none over the mean by more than
    the longest test); the others keep their collected order."""
    items = [Item(i) for i in ids]
    laid = slow_first.deal(items, seconds, workers)
    assert sorted(i.nodeid for i in laid) == sorted(ids)
    measured = {i.nodeid for i in items if i.nodeid in seconds}
    lengths = slow_first.runs(len(items), workers)
    assert sum(lengths) == len(items)
    if workers == 1 or laid == slow_first.order(items, seconds):
        assert laid == slow_first.order(items, seconds)
        return
    start, totals = 0, []
    for length in lengths:
        run = laid[start:start + length]
        start += length
        long = [i for i in run if i.nodeid in measured]
        assert run[:len(long)] == long
        times = [seconds[i.nodeid] for i in long]
        assert times == sorted(times, reverse=True)
        totals.append(sum(times))
    if measured:
        mean = sum(seconds[m] for m in measured) / workers
        assert max(totals) <= mean + max(seconds[m] for m in measured) + 1e-6
    assert [i for i in laid if i.nodeid not in measured] == \
        [i for i in items if i.nodeid not in measured]


def test_the_waiting_tests_go_to_the_workers_beyond_the_cores() -> None:
    """Four workers on two cores: the outages (long, little CPU) on two workers, the long
    busy tests on the other two, so that two workers keep both cores busy while the outages
    wait; before, every worker began with an outage and two cores sat a third idle for ten
    minutes (issue 52 item 7)."""
    waiting = {"w::a": 600.0, "w::b": 300.0, "w::c": 100.0, "w::d": 100.0}
    busy = {"b::a": 300.0, "b::b": 250.0, "b::c": 200.0}
    cpu = {"w::a": 60.0, "w::b": 20.0, **busy}  # c and d: under 5 s, so not in the file
    items = [Item(f"s::{n}") for n in range(400)] + [Item(k) for k in {**waiting, **busy}]

    def runs_of(laid: list[Item]) -> dict[str, int]:
        start, where = 0, {}
        for k, length in enumerate(slow_first.runs(len(items), 4)):
            where.update({i.nodeid: k for i in laid[start:start + length]})
            start += length
        return where

    laid = slow_first.deal(items, {**waiting, **busy}, 4, cpu=cpu, cores=2)
    assert sorted(i.nodeid for i in laid) == sorted(i.nodeid for i in items)
    where = runs_of(laid)
    assert {where[w] for w in waiting} == {0, 1}
    assert {where[b] for b in busy} == {2, 3}
    # Without the CPU measured, or with as many cores as workers: the plain rule, which
    # spreads the waiting tests over more than two of the four workers here.
    for plain in (slow_first.deal(items, {**waiting, **busy}, 4),
                  slow_first.deal(items, {**waiting, **busy}, 4, cpu=cpu, cores=4)):
        assert len({runs_of(plain)[w] for w in waiting}) > 2


def test_items_sharing_one_id_weigh_their_measured_seconds_once() -> None:
    """schemathesis collects one item per API operation, all under one id, and the file holds
    that id's seconds summed over them: the module weighs them once, not once an item (37
    items × 38 s made it the heaviest unit of the suite and sent both outage tests of 684 and
    287 s to one worker, a fresh clone's run, 11:33 UTC)."""
    fuzz = [Item("f.py::t") for _ in range(37)]
    waiting = {"o1::ten": 684.0, "o2::silent": 287.0}
    busy = {f"b{n}::t": 500.0 for n in range(8)}  # the rest of the suite: a mean of ~1 400 s
    items = [Item(f"s::{n}") for n in range(600)] + fuzz + [Item(k) for k in {**waiting, **busy}]
    laid = slow_first.deal(items, {"f.py::t": 38.0, **waiting, **busy}, 4,
                           unit=lambda i: i.nodeid.split("::")[0],
                           cpu={"o1::ten": 60.0, "o2::silent": 20.0, **busy}, cores=2)
    start, where = 0, {}
    for k, length in enumerate(slow_first.runs(len(items), 4)):
        where.update({i.nodeid: k for i in laid[start:start + length]})
        start += length
    assert where["o1::ten"] != where["o2::silent"]


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, min_size=1, max_size=60),
       st.dictionaries(st.text(min_size=1, max_size=8),
                       st.floats(min_value=0, max_value=1e4), max_size=12),
       st.dictionaries(st.text(min_size=1, max_size=8),
                       st.floats(min_value=0, max_value=1e4), max_size=12),
       st.integers(1, 6), st.integers(1, 6))
def test_dealt_with_cpu_each_worker_still_starts_with_its_long_share(
        ids: list[str], seconds: dict[str, float], cpu: dict[str, float], workers: int,
        cores: int) -> None:
    """Whatever the CPU and the cores: a permutation; every run begins with its measured
    tests, longest first; a waiting test sits in a run beyond the cores' only when it fits
    under the mean share or the plain rule put it there."""
    items = [Item(i) for i in ids]
    laid = slow_first.deal(items, seconds, workers, cpu=cpu, cores=cores)
    assert sorted(i.nodeid for i in laid) == sorted(ids)
    if laid == slow_first.order(items, seconds):
        return
    start = 0
    for length in slow_first.runs(len(items), workers):
        run = laid[start:start + length]
        start += length
        times = [seconds[i.nodeid] for i in run if i.nodeid in seconds]
        assert [i.nodeid for i in run[:len(times)]] == \
            [i.nodeid for i in run if i.nodeid in seconds]
        assert times == sorted(times, reverse=True)


def test_real_stealing_workers_each_start_with_their_long_tests(tmp_path: Path) -> None:
    """The layout against xdist itself: two workers stealing from each other, four measured
    tests and twenty others; each worker's first two tests are two of the measured ones."""
    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "conftest.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from tests.support import slow_first\n"
        "LONG = {'test_x.py::test_long_%d' % i: 100.0 - i for i in range(4)}\n"
        "def pytest_collection_modifyitems(config, items):\n"
        "    items[:] = slow_first.deal(items, LONG, slow_first.stealing_workers(config))\n"
        "def pytest_configure_node(node):\n"
        "    slow_first.tell_worker(node)\n",
        encoding="utf-8")
    (tmp_path / "test_x.py").write_text(
        "import os\n"
        "def _seen(name):\n"
        "    with open(os.environ['SEEN'], 'a') as f:\n"
        "        f.write(os.environ['PYTEST_XDIST_WORKER'] + ' ' + name + '\\n')\n"
        + "".join(f"def test_short_{i}():\n    _seen('short')\n" for i in range(20))
        + "".join(f"def test_long_{i}():\n    _seen('long')\n" for i in range(4)),
        encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    seen = tmp_path / "seen.txt"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "worksteal", "-c", str(tmp_path / "pytest.ini"), "--rootdir",
         str(tmp_path), str(tmp_path / "test_x.py")],
        cwd=tmp_path, env={**os.environ, "SEEN": str(seen)}, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    order: dict[str, list[str]] = {}
    for line in seen.read_text(encoding="utf-8").splitlines():
        worker, kind = line.split()
        order.setdefault(worker, []).append(kind)
    assert sorted(order) == ["gw0", "gw1"]
    for kinds in order.values():
        assert kinds[:2] == ["long", "long"], order


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.booleans()), min_size=1, max_size=50),
       st.integers(2, 5), st.data())
def test_a_unit_holding_a_long_test_stays_whole_on_one_worker(
        tests: list[tuple[str, bool]], workers: int, data: st.DataObject) -> None:
    """Modules whose tests share a fixture of module scope (here every module) are dealt
    whole: each one holding a measured test lies inside one run, in its collected order."""
    items = [Item(f"{module}.py::t{n}") for n, (module, _) in enumerate(tests)]
    seconds = {i.nodeid: data.draw(st.floats(1, 1000))
               for i, (_, long) in zip(items, tests, strict=True) if long}
    laid = slow_first.deal(items, seconds, workers, unit=lambda i: i.nodeid.split("::")[0])
    assert sorted(i.nodeid for i in laid) == sorted(i.nodeid for i in items)
    if laid == slow_first.order(items, seconds):
        return  # a run could not hold its units: the plain order
    bounds, start = [], 0
    for length in slow_first.runs(len(items), workers):
        bounds.append((start, start + length))
        start += length
    where = {i.nodeid: n for n, i in enumerate(laid)}
    for module in {m for (m, long) in tests if long}:
        mine = [i for i in items if i.nodeid.startswith(f"{module}.py::")]
        places = [where[i.nodeid] for i in mine]
        assert places == list(range(places[0], places[0] + len(places)))  # whole, in order
        assert any(a <= places[0] and places[-1] < b for a, b in bounds)  # in one run


DEAL_UNDER_A_SEED = """
import json, sys
from dataclasses import dataclass
from tests.support import slow_first

@dataclass(frozen=True)
class Item:
    nodeid: str

ids = ["b.py::b1"] + [f"a.py::a{n}" for n in range(1, 4)] + [f"c.py::c{n}" for n in range(9)]
seconds = {"b.py::b1": 0.6, "a.py::a1": 0.1, "a.py::a2": 0.2, "a.py::a3": 0.3}
laid = slow_first.deal([Item(i) for i in ids], seconds, 2,
                       unit=lambda i: i.nodeid.split("::")[0])
print(json.dumps([i.nodeid for i in laid]))
"""


def test_every_worker_deals_the_same_order_whatever_its_hash_seed() -> None:
    """xdist stops a run whose workers collected different orders; each worker is a process
    with its own hash seed, so the deal must not depend on a set's order (0.1 + 0.2 + 0.3 and
    0.3 + 0.2 + 0.1 differ in the last bit, and a tie with 0.6 then breaks either way)."""
    root = Path(__file__).resolve().parents[1]
    orders = {subprocess.run([sys.executable, "-c", DEAL_UNDER_A_SEED], cwd=root, check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
              for seed in range(12)}
    assert len(orders) == 1, orders
