"""A copy's number (R4.3): numbered per year, "7/2026", the year's next sequence number. Taken
under the write lock of the transaction that registers the copy; a copy whose playable files
carry a number planned before that (burned into the picture) is built again when another
copy took it meanwhile (`NumberTaken`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.audit.log import lock_chain
from kustosz.db.custody import Copy


def planned_number(session: Session, year: int) -> str:
    """The number a copy would take if it were registered now (burned into its playable
    files, printed on its label before the lock); `next_number` decides."""
    return _next(session, year)[1]


def next_number(session: Session, year: int) -> tuple[int, str]:
    """The year's next number, in the transaction that registers the copy. The audit chain's
    lock is taken first (registering a copy appends to the chain anyway): on PostgreSQL two
    copies registered at once read the highest number one after the other, so the second
    takes the next one instead of failing on the unique number; SQLite's write transaction
    already holds its one lock."""
    lock_chain(session)
    return _next(session, year)


def _next(session: Session, year: int) -> tuple[int, str]:
    last = session.execute(select(func.max(Copy.seq)).where(Copy.year == year)).scalar()
    seq = (last or 0) + 1
    return seq, f"{seq}/{year}"


class NumberTaken(Exception):
    """Another copy took the number burned into this one's playable files meanwhile."""
