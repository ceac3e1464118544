"""Intake counters of mailbox and endpoint sources: counted in memory, added to the database
every few seconds (one row write per event would cap intake far below what a SIEM sends)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kustosz.db.events import IntakeCounter
from kustosz.vault import Vault


class Counters:
    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self._pending: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()  # since this listener started
        self._lock = threading.Lock()  # chunk closes count from worker threads

    def add(self, name: str, n: int = 1) -> None:
        name = name[:40]  # the column's width (MIME defect class names can be longer)
        with self._lock:
            self._pending[name] += n
            self.totals[name] += n

    def take(self) -> dict[str, int]:
        with self._lock:
            pending, self._pending = dict(self._pending), Counter()
        return pending

    def flush(self, vault: Vault) -> bool:
        """Add what was counted since to the database; False if there was nothing (then the
        database was not asked)."""
        pending = self.take()
        if not pending:
            return False
        try:
            with vault.transaction() as s:
                add_counts(s, self.source_id, pending)
        except Exception:
            with self._lock:  # not lost: the next flush tries again
                self._pending.update(pending)
            raise
        return True


def add_counts(session: Session, source_id: int, counts: dict[str, int]) -> None:
    now = datetime.now(UTC)
    for name, n in counts.items():
        changed = session.execute(
            update(IntakeCounter)
            .where(IntakeCounter.source_id == source_id, IntakeCounter.name == name)
            .values(value=IntakeCounter.value + n, updated_at=now)).rowcount
        if not changed:
            session.add(IntakeCounter(source_id=source_id, name=name, value=n, updated_at=now))
            session.flush()


def read_counts(session: Session, source_id: int) -> dict[str, int]:
    return {c.name: c.value for c in session.execute(
        select(IntakeCounter).where(IntakeCounter.source_id == source_id)
        .order_by(IntakeCounter.name)).scalars()}


def last_update(session: Session, source_id: int) -> datetime | None:
    rows = [c.updated_at for c in session.execute(
        select(IntakeCounter).where(IntakeCounter.source_id == source_id)).scalars()]
    return max(rows) if rows else None


def counter_times(session: Session, source_id: int) -> dict[str, datetime]:
    """When each counter last grew (within a flush interval of the event itself)."""
    return {c.name: c.updated_at for c in session.execute(
        select(IntakeCounter).where(IntakeCounter.source_id == source_id)).scalars()}
