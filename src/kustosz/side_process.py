"""Child processes that do an intake's bulk work beside it: one per kind of task, started on
first use and kept, each on its own interpreter (and so on another core).

Why processes: a PBX spool's pass handles thousands of 3 kB recordings a second, and each
file's copy and format check are a handful of system calls, each letting go of the
interpreter's lock and taking it back. In threads of the intake's own process each one waited
for the lock behind the intake's Python (its rows, pairing, Master.csv), and the intake waited
behind them (bench/README.md, calls). Not multiprocessing's pool: its `spawn` runs the
parent's main script again in the child, which a script without a main guard (a bench, an
administrator's own) cannot survive; a child here imports its task's module alone.

A task's function runs in the child with the arguments sent (plain data: strings, numbers,
tuples, dataclasses) and its answer comes back the same way. A function that must not act
after its parent died takes the parent's pid and raises `Orphaned` (the child then ends).
A child ends when its task pipe closes, that is with its parent.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from kustosz.errors import KustoszError

# The tasks a child may run, by name: the function as module:name, imported in the child on
# its first task (this module imports none of them: it sits below them all).
TASKS = {
    "copy": "kustosz.storage.local_copier:copy_chunk",
    "phone-facts": "kustosz.ingest.phone.facts_chunk:facts_chunk",
    "phone-cdr": "kustosz.ingest.phone.cdr_rows:cdr_span",
}


class Orphaned(RuntimeError):
    """The child's parent died: the child stops and ends."""


class SideGone(KustoszError):
    """A child process ended with tasks of its own under way (killed, out of memory)."""


GONE = "a helper process ended in the middle of its work ({kind})"
GONE_PL = "Proces pomocniczy zakończył się w trakcie pracy ({kind})."


class _Child:
    """One kind's process and the thread that reads its answers."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        tasks_r, tasks_w = os.pipe()
        answers_r, answers_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, kind, str(tasks_r), str(answers_w)],
                pass_fds=(tasks_r, answers_w), stdin=subprocess.DEVNULL)
        finally:
            os.close(tasks_r)
            os.close(answers_w)
        self.tasks = Connection(tasks_w, readable=False)
        self.answers = Connection(answers_r, writable=False)
        self.waiting: dict[int, Future[Any]] = {}
        self.next_id = 0
        self.lock = threading.Lock()  # `waiting`, `next_id`, `broken`
        # Tasks go into the pipe from a thread of their own: a caller sending work far ahead
        # (a pass's format checks, 4 096 files) must not wait while the child works through
        # what fills the pipe's 64 kB — the intake's thread did, 8.9 s of a 46 s scan
        # (bench/README.md, calls), instead of taking its first batch meanwhile.
        self.outbox: queue.SimpleQueue[tuple[int, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self.broken = False
        threading.Thread(target=self._read, name=f"kustosz-side-{kind}", daemon=True).start()
        threading.Thread(target=self._write, name=f"kustosz-side-{kind}-tasks",
                         daemon=True).start()

    def gone(self) -> SideGone:
        return SideGone(GONE.format(kind=self.kind), pl=GONE_PL.format(kind=self.kind))

    def submit(self, args: tuple[Any, ...]) -> Future[Any]:
        """Queued for the pipe at once, never waiting for the child (``args`` are pickled
        later, by the writer: the caller must not change them)."""
        future: Future[Any] = Future()
        with self.lock:
            if self.broken:
                raise self.gone()
            self.next_id += 1
            task = self.next_id
            self.waiting[task] = future
            self.outbox.put((task, args))
        return future

    def _write(self) -> None:
        """The tasks into the pipe, in order. Never under `lock`: a send waits while the pipe
        is full, that is while the child waits to send an answer, which the reader takes
        only once it has the lock."""
        try:
            while (item := self.outbox.get()) is not None:
                try:
                    self.tasks.send(item)
                except OSError:  # the child is gone: the reader fails what waits
                    with self.lock:
                        self.broken = True
                    return
                except Exception as exc:  # not picklable: that task fails, not the child
                    with self.lock:
                        future = self.waiting.pop(item[0], None)
                    if future is not None:
                        future.set_exception(exc)
        finally:
            self.tasks.close()

    def _read(self) -> None:
        try:
            while True:
                task, ok, value = self.answers.recv()
                with self.lock:
                    future = self.waiting.pop(task)
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(f"the {self.kind} task failed: {value}"))
        except (EOFError, OSError):
            with self.lock:
                self.broken = True
                waiting, self.waiting = list(self.waiting.values()), {}
            for future in waiting:
                future.set_exception(self.gone())
            self.outbox.put(None)  # the writer ends and closes the task pipe
            self.answers.close()
            self.proc.wait()


_lock = threading.Lock()
_children: dict[str, _Child] = {}


def start(kind: str) -> None:
    """``kind``'s child process running: started now if none runs, or a new one after the
    last ended. Raises OSError if none can be started (memory, a task limit: the caller
    does the work itself)."""
    _child(kind)


def _child(kind: str) -> _Child:
    if kind not in TASKS:
        raise ValueError(f"no such side task: {kind!r}")
    with _lock:
        child = _children.get(kind)
        if child is None or child.broken:
            child = _children[kind] = _Child(kind)
        return child


def submit(kind: str, *args: Any) -> Future[Any]:
    """``kind``'s function called with ``args`` in its child process (`start`ed if need be).
    Raises `SideGone` if the child is found gone; the future fails with it if the child dies
    before answering."""
    return _child(kind).submit(args)


def end(kind: str) -> None:
    """``kind``'s child killed (it stopped answering): what waits on it fails with `SideGone`,
    and the next task starts a new one. Only for a kind whose task may be cut anywhere (one
    that writes nothing a parent's undo must find whole)."""
    with _lock:
        child = _children.get(kind)
    if child is not None:
        with contextlib.suppress(ProcessLookupError):
            child.proc.kill()


def pids(kind: str) -> list[int]:
    """``kind``'s process, if it runs (for tests)."""
    with _lock:
        child = _children.get(kind)
        return [] if child is None or child.broken else [child.proc.pid]


def _resolve(kind: str) -> Callable[..., Any]:
    module, _, name = TASKS[kind].partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def _serve(kind: str, tasks_fd: int, answers_fd: int) -> None:
    """The child's loop: a task in, its answer out, until the parent closes the pipe."""
    function = _resolve(kind)
    tasks = Connection(tasks_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    while True:
        try:
            task, args = tasks.recv()
        except EOFError:
            return
        try:
            answers.send((task, True, function(*args)))
        except Orphaned:
            return
        except Exception as exc:  # e.g. a folder unreadable: the parent fails the task
            answers.send((task, False, f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    # Ctrl-C at a terminal reaches the whole process group: the parent unwinds its work
    # (waiting for the tasks sent) and ends, and its end is this child's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
