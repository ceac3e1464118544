"""One deadline for a whole call to a peer (issue 48): a camera's ONVIF session, an object
store's request.

A client library bounds each read of a socket, never a whole answer: a peer that answers one
byte every couple of seconds never trips a read timeout, and the call lasts for as long as the
peer keeps dribbling. Two ways to hold such a call to its deadline, both counting from one
`Deadline`:

* where every socket operation passes through Kustosz (httpx's network backend: onvif.deadline),
  each is given at most what is left (`Deadline.bound`);
* where it does not (botocore's urllib3 sockets: storage.s3_deadline), an `Alarm` shuts the
  call's sockets when the deadline passes, which ends whatever read or write is blocked in them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadline:
    """``total_s`` from now, on the monotonic clock."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self.at = time.monotonic() + total_s

    def left(self) -> float:
        return self.at - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.left() <= 0

    def bound(self, timeout: float | None, error: type[Exception]) -> float:
        """``timeout`` cut to what is left; ``error`` once nothing is."""
        left = self.left()
        if left <= 0:
            raise error(f"the peer's answers took longer than {self.total_s:.0f} s in all")
        return left if timeout is None else min(timeout, left)


class Alarm:
    """Calls ``fire`` once, from the alarm thread, when ``deadline`` passes — unless
    `cancel` came first. ``fire`` must be quick and must not raise (it shuts sockets)."""

    def __init__(self, deadline: Deadline, fire: Callable[[], None]) -> None:
        self.deadline, self._fire = deadline, fire
        self._lock = threading.Lock()
        self._done = False
        _ALARMS.add(self)

    def cancel(self) -> bool:
        """True if it had not fired (and now never will)."""
        with self._lock:
            done, self._done = self._done, True
        return not done

    def ring(self) -> None:
        with self._lock:
            done, self._done = self._done, True
        if not done:
            self._fire()

    @property
    def cancelled(self) -> bool:
        return self._done


class _Alarms:
    """One thread for every alarm of the process, sleeping until the earliest."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, alarm: Alarm) -> None:
        with self._cond:
            heapq.heappush(self._heap, (alarm.deadline.at, next(self._order), alarm))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kustosz-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)  # a call that ended in time
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        alarm = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            alarm.ring()


_ALARMS = _Alarms()
