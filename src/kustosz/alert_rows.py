"""Opening and clearing alert rows: the one rule every raising module uses (alerts/checks.py
for what the scheduler looks at, the cluster, the upload queue, the bucket check), kept apart
from the checks so that a module the checks run may raise its own rows without importing them
back (tests/test_import_cycles.py)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.models import Alert, Setting
from kustosz.db.settings import put_setting

log = logging.getLogger("kustosz.alerts.checks")  # the name the alerts' log lines always had
# The checks' own state (alerts/checks.py): last runs and outcomes, one settings row; the
# retention layer's sweep writes its outcome into it too (retention/sweep_alert.py).
CHECKS_STATE_KEY = "alerts.checks"


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


def checks_state(session: Session) -> dict[str, Any]:
    # Locked until the transaction ends: the sweep's report and the checks (two threads, or
    # on PostgreSQL two serve nodes) read, change and write this row; without the lock one
    # would write back the other's stale copy (a good sweep forgotten: a false sweep_late).
    row = session.get(Setting, CHECKS_STATE_KEY, with_for_update=True)
    return json.loads(row.value) if row is not None else {}


def save_checks_state(session: Session, state: dict[str, Any]) -> None:
    # An upsert: the first two writers of the row must not fail on each other's insert.
    put_setting(session, CHECKS_STATE_KEY, json.dumps(state, sort_keys=True))


# -- reported by others -------------------------------------------------------------------
