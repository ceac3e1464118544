"""The database as a listener's event loop sees it (issue 27): away at times, never waited for
where a sender is waiting.

A listener's spool is local: what it acknowledges is what it fsynced into the open chunk, and
that needs no database. The database is needed to take closed chunks in, to add the intake
counters, and (mail) to ask whether a message resent by its server is journalled already.
That work runs in threads of its own (`DatabaseGate.run`), never in the loop's default
executor: the fsyncs behind every acknowledgment run there, and six threads waiting a minute
each for a silent database would hold every acknowledgment back with them. Once the database
has been found away, it is asked again only after a bounded back-off (`may_ask`), so a long
outage costs one attempt every few seconds, not one per message; the log says once when it
went away and once when it answers again — when a call reached it and was answered: work that
needed no call (no counts to add, a chunk with nothing in it) says nothing of the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kustosz.db.outage import Backoff, is_database_away

log = logging.getLogger(__name__)
T = TypeVar("T")
WORKERS = 4  # closes, counters and duplicate checks at once; more would only queue
RETRY_LIMIT_S = 30.0  # the longest pause between attempts while the database is away


class DatabaseAway(Exception):
    """The database did not answer in the time the caller could wait, or is known away."""


class DatabaseGate:
    def __init__(self, name: str, workers: int = WORKERS) -> None:
        self.name = name
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"kustosz-db-{name}")
        self.backoff = Backoff(first_s=1.0, limit_s=RETRY_LIMIT_S)
        self.away_since: float | None = None
        self._retry_at = 0.0

    @property
    def away(self) -> bool:
        return self.away_since is not None

    def may_ask(self) -> bool:
        """False while the back-off after a failure runs: the answer would be the same."""
        return time.monotonic() >= self._retry_at

    async def run(self, fn: Callable[..., T], *args: Any, wait: float | None = None,
                  asked: Callable[[T], bool] = lambda _result: True) -> T:
        """``fn(*args)`` in a thread of the gate. With ``wait``, give up waiting after that
        many seconds (the thread goes on until the database's own deadline, db.deadline) and
        raise `DatabaseAway`. An error of the database marks it away and is raised as is.
        ``asked``: whether ``fn``, by its result, called the database (only an answer to a
        call ends an outage)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, functools.partial(fn, *args))
        try:
            result = await (future if wait is None else asyncio.wait_for(future, wait))
        except TimeoutError:
            self.went_away(f"no answer within {wait:.0f} s")
            raise DatabaseAway(f"the database did not answer within {wait:.0f} s") from None
        except Exception as exc:
            if is_database_away(exc):
                self.went_away(type(exc).__name__)
            raise
        if asked(result):
            self.answered()
        return result

    def went_away(self, why: str) -> None:
        if self.away_since is None:
            self.away_since = time.monotonic()
            log.warning("%s: the database is away (%s); the listener keeps taking in and "
                        "acknowledging into its local spool, and takes its chunks in when the "
                        "database is back", self.name, why)
        self._retry_at = time.monotonic() + self.backoff.delay()

    def answered(self) -> None:
        if self.away_since is not None:
            log.info("%s: the database answers again after %.0f s", self.name,
                     time.monotonic() - self.away_since)
        self.away_since, self._retry_at = None, 0.0
        self.backoff.reset()

    def close(self) -> None:
        # Not waited for: a thread waiting for a silent database ends at its deadline.
        self.executor.shutdown(wait=False, cancel_futures=True)
