"""Opening and clearing alert rows: the one rule every raising module uses (alerts/checks.py
for what the scheduler looks at, the cluster, the upload queue, the bucket check), kept apart
from the checks so that a module the checks run may raise its own rows without importing them
back (tests/test_import_cycles.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.models import Alert

log = logging.getLogger("kustosz.alerts.checks")  # the name the alerts' log lines always had


def raise_row(session: Session, kind: str, message: str, now: datetime,
              source_id: int | None = None) -> bool:
    """Open a row of this kind (for this source) unless one is open; its message is kept up
    to date. True when a new row was opened."""
    row = session.execute(select(Alert).where(
        Alert.kind == kind, Alert.cleared_at.is_(None),
        Alert.source_id.is_(None) if source_id is None else Alert.source_id == source_id)
    ).scalars().first()
    if row is not None:
        row.message = message
        return False
    session.add(Alert(raised_at=now, kind=kind, source_id=source_id, message=message))
    log.warning("alert %s raised: %s", kind, message)
    return True


def clear_rows(session: Session, kind: str, now: datetime, source_id: int | None = None,
               every_source: bool = False) -> int:
    query = select(Alert).where(Alert.kind == kind, Alert.cleared_at.is_(None))
    if not every_source:
        query = query.where(Alert.source_id.is_(None) if source_id is None
                            else Alert.source_id == source_id)
    rows = list(session.execute(query).scalars())
    for row in rows:
        row.cleared_at = now
        log.info("alert %s cleared", kind)
    return len(rows)
