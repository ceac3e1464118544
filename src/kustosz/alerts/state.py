"""What the alert notifier keeps between passes and restarts: the `vault_settings` row
`alerts.notifier` (its parts are described in kustosz.alerts.notifier), read and written by
the notifier and by the daily digest it sends, and read by the dashboard and `doctor`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kustosz.alerts.channels import NAMES_PL, REASONS_PL
from kustosz.db.models import Setting

STATE_KEY = "alerts.notifier"


def load_state(session: Session) -> dict[str, Any]:
    row = session.get(Setting, STATE_KEY)
    state = json.loads(row.value) if row is not None else {}
    for key in ("open", "once", "queues", "channels", "digest"):
        state.setdefault(key, {})
    state.setdefault("seq", 0)
    return state


def save_state(session: Session, state: dict[str, Any]) -> None:
    session.merge(Setting(key=STATE_KEY, value=json.dumps(state, sort_keys=True)))


def channel_problems(session: Session) -> list[dict[str, Any]]:
    """The failing channels for the dashboard: Polish name, since when, why, how many wait."""
    state = load_state(session)
    return [{"name": NAMES_PL.get(name, name), "since": datetime.fromisoformat(st["since"]),
             "reason": REASONS_PL.get(st.get("reason", "error"), REASONS_PL["error"]),
             "waiting": len(state["queues"].get(name, []))}
            for name, st in sorted(state["channels"].items())]
