"""The side processes (`kustosz.side_process`): many tasks sent at once whose answers are
large never deadlock the pipes (a bench's first run hung: the sender held the lock the answers'
reader needed while the child waited to answer); a task the registry does not name is refused;
a child that fails a task answers for that task alone."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kustosz import side_process


def test_many_tasks_with_large_answers_sent_at_once_all_come_back(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    # Each answer: a refusal of every file of the chunk (none exists), long names, ~40 kB;
    # each task ~30 kB: both pipes fill many times over.
    chunk = [(f"2026/11/20/nie-ma-takiego-pliku-źdźbło-📞-{'x' * 160}-{i}.wav", (3200, 0))
             for i in range(128)]
    futures: list[object] = []
    box: list[BaseException] = []

    def send() -> None:
        try:
            for n in range(60):
                futures.append(side_process.submit(
                    "phone-facts", str(spool), "Europe/Warsaw", f"pass-{n}", chunk,
                    frozenset()))
        except BaseException as exc:  # the test's verdict
            box.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(120)
    assert not sender.is_alive(), "the sender is stuck: the pipes deadlocked"
    assert not box, box
    for future in futures:
        answers = future.result(timeout=120)  # type: ignore[attr-defined]
        assert len(answers) == len(chunk)
        assert all(a[0] == "unsafe" and "does not exist" in a[1] for a in answers), answers[0]


def test_a_task_no_registry_names_is_refused() -> None:
    with pytest.raises(ValueError, match="no such side task"):
        side_process.submit("os:system", "echo pwned")


def test_a_failing_task_fails_its_own_future_only(tmp_path: Path) -> None:
    bad = side_process.submit("phone-facts", str(tmp_path), "Nie/Ma_Takiej_Strefy", "p", [],
                              frozenset())
    with pytest.raises(RuntimeError, match="the phone-facts task failed"):
        bad.result(timeout=60)
    good = side_process.submit("phone-facts", str(tmp_path), "Europe/Warsaw", "p", [],
                               frozenset())
    assert good.result(timeout=60) == []
