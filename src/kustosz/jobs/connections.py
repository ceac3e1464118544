"""The job worker's own PostgreSQL connections with a deadline for every answer (issue 27).

procrastinate's worker talks to the database through psycopg's asyncio connections, which the
engine's bound (kustosz.db.deadline, for the synchronous ones) does not cover: with the
database silenced (connections held open, never answered) the worker's poll and its LISTEN
waited for ever and the worker was dead while serve looked alive. This is the same bound for
the asyncio connections: an answer awaited longer than ``seconds`` closes the connection and
raises `OperationalError`, which ends the worker's run and starts it again (jobs.queue).
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from kustosz.db.deadline import DEFAULT_S

ANSWER_WITHIN_S = DEFAULT_S


def deadline_connection_class(seconds: float) -> type[psycopg.AsyncConnection[Any]]:
    """An AsyncConnection whose every wait for an answer ends within ``seconds``."""

    class DeadlineAsyncConnection(psycopg.AsyncConnection[Any]):
        async def wait(self, gen: Any, interval: float = 0.1,
                       timeout: float | None = None) -> Any:
            limit = seconds if timeout is None else timeout
            try:
                return await super().wait(gen, interval=interval, timeout=limit)
            except pg_errors._WaitTimeout:
                if timeout is not None:
                    raise  # psycopg's own bounded wait (cancel_safe, notifies): its caller's
                with contextlib.suppress(Exception):
                    self.pgconn.finish()  # never waits: the connection is unusable now
                raise psycopg.OperationalError(
                    f"the database did not answer within {limit:.0f} s") from None

    return DeadlineAsyncConnection
