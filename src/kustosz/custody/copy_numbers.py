"""A copy's number (R4.3): numbered per year, "7/2026", the year's next sequence number. Taken
under the write lock of the transaction that registers the copy; a copy whose playable files
carry a number planned before that (burned into the picture) is built again when another
copy took it meanwhile (`NumberTaken`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.db.custody import Copy


def next_number(session: Session, year: int) -> tuple[int, str]:
    last = session.execute(select(func.max(Copy.seq)).where(Copy.year == year)).scalar()
    seq = (last or 0) + 1
    return seq, f"{seq}/{year}"


class NumberTaken(Exception):
    """Another copy took the number burned into this one's playable files meanwhile."""
