"""An entry in the register of actions (rejestr czynności): written by every custody step as
it happens. Apart from `custody.registers`, which prints the registers and reads the requests,
copies and answer deadlines the steps keep: the steps write here without importing the
printing (no import cycle)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kustosz.db.custody import ActionEntry


def record_action(session: Session, kind: str, description: str, by: str, *,
                  request_id: int | None = None, copy_id: int | None = None,
                  at: datetime | None = None) -> ActionEntry:
    entry = ActionEntry(at=at or datetime.now(UTC), kind=kind, description=description, by=by,
                        request_id=request_id, copy_id=copy_id)
    session.add(entry)
    session.flush()
    return entry
