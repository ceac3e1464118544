"""What the vault remembers of its backups: one vault_settings row (no schema of its own).

``last_ok`` / ``last_failed``: the latest successful and failed backup (doctor's backup age,
the schedule's alerts); ``targets``: the recent backup folders whose deletion journals the
vault keeps up to date (kustosz.backup.journal).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kustosz.db.models import Setting
from kustosz.db.settings import put_setting

if TYPE_CHECKING:
    from kustosz.vault import Vault

KEY = "backup_state"
KEEP_TARGETS = 20  # journals kept up to date: more than any sensible `keep`


def load(session: Session) -> dict[str, Any]:
    row = session.get(Setting, KEY)
    if row is None:
        return {}
    try:
        value = json.loads(row.value)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def update(vault: Vault, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    with vault.transaction() as s:
        state = load(s)
        change(state)
        put_setting(s, KEY, json.dumps(state, sort_keys=True))
    return state


def remember(state: dict[str, Any], target: dict[str, Any]) -> None:
    targets = [t for t in state.get("targets", []) if t.get("path") != target["path"]]
    targets.append(target)
    state["targets"] = targets[-KEEP_TARGETS:]
