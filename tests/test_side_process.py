"""The side processes (`kustosz.side_process`): many tasks sent at once whose answers are
large never deadlock the pipes (a bench's first run hung: the sender held the lock the answers'
reader needed while the child waited to answer); a caller never waits for the child to make
room in the pipe (the calls intake's thread did, 8.9 s of a 46 s scan); a task the registry does
not name is refused; a child that fails a task, or a task that cannot be sent, fails that task
alone."""

from __future__ import annotations

import os
import pickle
import signal
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


def test_a_caller_never_waits_for_a_stopped_child_to_make_room(tmp_path: Path) -> None:
    """The child stopped (SIGSTOP: it reads nothing), 60 tasks of ~30 kB — the pipe holds
    64 kB — are all submitted at once; sent before, the second or third send waited for it."""
    side_process.start("phone-facts")
    [pid] = side_process.pids("phone-facts")
    chunk = [(f"2026/11/20/rozmowa-Józef-Żółć-📞-{'y' * 180}-{i}.wav", (3200, 0))
             for i in range(128)]
    futures: list[object] = []
    os.kill(pid, signal.SIGSTOP)
    try:
        submitter = threading.Thread(target=lambda: futures.extend(
            side_process.submit("phone-facts", str(tmp_path), "Europe/Warsaw", f"p{n}", chunk,
                                frozenset()) for n in range(60)), daemon=True)
        submitter.start()
        submitter.join(60)
        assert not submitter.is_alive(), "submit waited for the stopped child"
        assert len(futures) == 60
        assert not any(f.done() for f in futures)  # type: ignore[attr-defined]
    finally:
        os.kill(pid, signal.SIGCONT)
    for future in futures:
        assert len(future.result(timeout=120)) == len(chunk)  # type: ignore[attr-defined]


def test_a_task_that_cannot_be_sent_fails_alone(tmp_path: Path) -> None:
    bad = side_process.submit("phone-facts", str(tmp_path), "Europe/Warsaw", "p",
                              [(lambda: 0, (1, 0))], frozenset())
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        bad.result(timeout=60)
    good = side_process.submit("phone-facts", str(tmp_path), "Europe/Warsaw", "p", [],
                               frozenset())
    assert good.result(timeout=60) == []
