"""What the alert notifier keeps between passes and restarts: the `vault_settings` row
`alerts.notifier` (its parts are described in kustosz.alerts.notifier), read and written by
the notifier and by the daily digest it sends, and read by the dashboard and `doctor`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kustosz.alerts.channels import NAMES_PL, REASONS_PL
from kustosz.db.models import Setting
from kustosz.db.outage import is_disk_full
from kustosz.db.settings import put_setting
from kustosz.vault import Vault

log = logging.getLogger(__name__)

STATE_KEY = "alerts.notifier"


def load_state(session: Session) -> dict[str, Any]:
    row = session.get(Setting, STATE_KEY)
    state = json.loads(row.value) if row is not None else {}
    for key in ("open", "once", "queues", "channels", "digest"):
        state.setdefault(key, {})
    state.setdefault("seq", 0)
    return state


def save_state(session: Session, state: dict[str, Any]) -> None:
    put_setting(session, STATE_KEY, json.dumps(state, sort_keys=True))


class HeldState:
    """The notifier's state as the notifier changes it, pass after pass.

    The row lives in the database, and the database may be on a disk that is full: the very
    disk its alert is about (issue 48: a fresh clone's run wrote the disk-full row with the
    reserve's room, and then no pass of the notifier could save what it had decided, so the
    mail never went). A change the full disk refuses is kept here in memory and is the state
    from then on: the notifier decides and delivers from it, so a message is sent once and
    not again at every pass; it is written as soon as a write fits. A process that ends
    before that sends it again at its next start (at least once, never lost)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.memory: dict[str, Any] | None = None

    def read(self) -> dict[str, Any]:
        if self.memory is not None:
            return _copy(self.memory)
        with self.vault.reading() as s:
            return load_state(s)

    @contextmanager
    def change(self) -> Iterator[tuple[Session, dict[str, Any]]]:
        """The state to change in place, with the session it was read in; saved when it
        changed (or when only memory held it)."""
        state: dict[str, Any] | None = None
        try:
            with self.vault.transaction() as s:
                stored = load_state(s)
                state = stored if self.memory is None else dict(
                    _copy(self.memory), digest=stored["digest"])
                before = json.dumps(stored, sort_keys=True)
                yield s, state
                if self.memory is not None or json.dumps(state, sort_keys=True) != before:
                    save_state(s, state)
        except Exception as exc:
            if state is None or not is_disk_full(exc):
                raise
            if self.memory is None:
                log.warning("alert notifier: the disk is full; what it decides is kept in "
                            "memory and written once there is room")
            self.memory = state
            return
        if self.memory is not None:
            log.info("alert notifier: what was kept in memory while the disk was full is "
                     "written")
        self.memory = None


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(state))
    return copied


def channel_problems(session: Session) -> list[dict[str, Any]]:
    """The failing channels for the dashboard: Polish name, since when, why, how many wait."""
    state = load_state(session)
    return [{"name": NAMES_PL.get(name, name), "since": datetime.fromisoformat(st["since"]),
             "reason": REASONS_PL.get(st.get("reason", "error"), REASONS_PL["error"]),
             "waiting": len(state["queues"].get(name, []))}
            for name, st in sorted(state["channels"].items())]
