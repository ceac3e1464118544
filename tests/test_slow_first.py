"""The longest tests start first (tests/support/slow_first.py, issue 52 item 7): the order is a
permutation of what was collected, the measured tests first and longest first, every other
test in its collected order; a recorded run writes what the next run orders by."""

from __future__ import annotations

import json
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
    for nodeid, phase in [("t::a", 10.0), ("t::a", 6.0), ("t::b", 40.0), ("t::c", 1.0)]:
        rec.add(Report(nodeid, phase))  # type: ignore[arg-type]
    rec.write("2026-11-27 10:00 UTC")
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written["tests"] == {"t::b": 40.0, "t::a": 16.0}  # under 15 s: not kept
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
