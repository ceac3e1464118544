"""Password checks off the event loop, few at a time, fairly between addresses (issue 28 item 7).

argon2 costs a third of a second of CPU and 64 MiB per check; run inside an async handler it
held the web app's one event loop, and six threads posting logins made every other page wait
(a signed-in page 123–188×, a static file 262×). Every check of a password now runs here:

- on ``WORKERS`` threads of their own (argon2 releases the GIL), at a lower CPU priority
  (``NICE``: on Linux a thread's nice value is its own, and argon2's threads inherit it), so
  pages, media and the recorders go first when the machine is busy and a check only takes
  longer;
- at most ``PER_SOURCE`` checks of one address waiting or running at once, and ``QUEUE`` of
  all addresses: past either the request is refused at once (`Busy`: 429, or 503 when the
  whole queue is full) with Retry-After, before its form costs anything more;
- taken round-robin by address, so one address's flood delays another's login by at most
  one check per address ahead of it, never by the flood's length;
- in an installation of several offices (one process serving each office's app, issue 67),
  round-robin by office first and by address within it, and at most ``PER_OFFICE`` of the
  queue held by one office: a flood from many addresses at one office's sign-in fills that
  office's share only, and another office's login waits at most one check per office ahead.

One pool per process (every app of the process shares it: the CPU is the process's).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# argon2-cffi's default profile runs 4 lanes in threads of its own: one check already keeps
# four cores busy.
WORKERS = max(1, (os.cpu_count() or 2) // 4)
PER_SOURCE = 3  # a terminal server's three people typing at once still get in
QUEUE = 24
PER_OFFICE = QUEUE // 2  # one office's flood leaves the other half to the rest
NICE = 10  # CFS weight 110 against a page's 1024: a page loses ~10 % to a running check
FIRST_GUESS_S = 0.3  # a check's duration before any was measured (Retry-After)
RETRY_CAP_S = 60


class Busy(Exception):
    """Refused without queueing. ``whole``: the queue of all addresses, or this office's
    share of it, is full (503), else this address already has ``PER_SOURCE`` checks waiting
    or running (429)."""

    def __init__(self, retry_after: int, whole: bool) -> None:
        super().__init__(f"login checks busy ({'all' if whole else 'this address'}); "
                         f"retry after {retry_after} s")
        self.retry_after, self.whole = retry_after, whole

    @property
    def status(self) -> int:
        return 503 if self.whole else 429


@dataclass
class _Job:
    office: str
    source: str
    call: Callable[[], Any]
    future: Future[Any]


def _lower_priority(nice: int) -> None:
    if sys.platform == "linux" and nice > 0:
        # Linux: the thread's own nice value (elsewhere this would be the process's); a
        # container may refuse even lowering it: then the checks run as they are
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class LoginPool:
    def __init__(self, workers: int = WORKERS, per_source: int = PER_SOURCE,
                 queue: int = QUEUE, nice: int = NICE, per_office: int = PER_OFFICE) -> None:
        self.workers, self.per_source, self.queue, self.nice = workers, per_source, queue, nice
        self.per_office = per_office
        self._cond = threading.Condition()
        # office -> address -> its jobs waiting, both in their turn's order
        self._waiting: OrderedDict[str, OrderedDict[str, deque[_Job]]] = OrderedDict()
        self._held: dict[tuple[str, str], int] = {}  # (office, source) -> waiting or running
        self._office_held: dict[str, int] = {}
        self._total = 0
        self._mean_s = FIRST_GUESS_S
        self._threads: list[threading.Thread] = []

    def held(self, source: str | None = None, office: str = "") -> int:
        with self._cond:
            return self._total if source is None else self._held.get((office, source), 0)

    def held_by_office(self, office: str) -> int:
        with self._cond:
            return self._office_held.get(office, 0)

    def _retry_after(self) -> int:
        ahead = self._total / self.workers + 1
        return max(1, min(RETRY_CAP_S, math.ceil(self._mean_s * ahead)))

    def submit(self, source: str, call: Callable[[], T], office: str = "") -> Future[T]:
        """Queue ``call`` for ``source`` (an address) of ``office`` (its vault; "" when the
        process serves one) or raise `Busy` at once."""
        key = (office, source)
        with self._cond:
            if self._held.get(key, 0) >= self.per_source:
                raise Busy(self._retry_after(), whole=False)
            if self._total >= self.queue or \
                    self._office_held.get(office, 0) >= self.per_office:
                raise Busy(self._retry_after(), whole=True)
            job = _Job(office, source, call, Future())
            self._waiting.setdefault(office, OrderedDict()).setdefault(source, deque()) \
                .append(job)
            self._held[key] = self._held.get(key, 0) + 1
            self._office_held[office] = self._office_held.get(office, 0) + 1
            self._total += 1
            if len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, name="kustosz-login-check",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return job.future

    async def run(self, source: str, call: Callable[[], T], office: str = "") -> T:
        return await asyncio.wrap_future(self.submit(source, call, office))

    def _next(self) -> _Job:
        with self._cond:
            while not self._waiting:
                self._cond.wait()
            office, sources = next(iter(self._waiting.items()))
            source, jobs = next(iter(sources.items()))
            job = jobs.popleft()
            del sources[source]
            if jobs:  # round robin: this address goes to the back of its office's line
                sources[source] = jobs
            del self._waiting[office]
            if sources:  # and this office to the back of the offices'
                self._waiting[office] = sources
            return job

    @staticmethod
    def _less(counts: dict[Any, int], key: Any) -> None:
        left = counts.get(key, 1) - 1
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)

    def _done(self, job: _Job, took: float | None) -> None:
        with self._cond:
            self._less(self._held, (job.office, job.source))
            self._less(self._office_held, job.office)
            self._total -= 1
            if took is not None:
                self._mean_s = 0.8 * self._mean_s + 0.2 * took

    def _work(self) -> None:
        _lower_priority(self.nice)
        while True:
            job = self._next()
            if not job.future.set_running_or_notify_cancel():
                self._done(job, None)  # the request went away before its turn
                continue
            started = time.monotonic()
            try:
                result = job.call()
            except BaseException as exc:  # handed to the request, which answers for it
                self._done(job, time.monotonic() - started)
                job.future.set_exception(exc)
            else:
                self._done(job, time.monotonic() - started)
                job.future.set_result(result)


_POOL: LoginPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> LoginPool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = LoginPool()
        return _POOL
