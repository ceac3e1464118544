"""The sweep's own alert: `sweep_failed` raised when a scheduled sweep fails, cleared with
`sweep_late` when one succeeds (the checks, kustosz.alerts.checks, raise `sweep_late` when none
succeeded for too long). Written here, below the alerts, through the one rule for alert rows
(kustosz.alert_rows): the sweep needs no alert service to leave its word."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kustosz.alert_rows import checks_state, clear_rows, raise_row, save_checks_state
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger("kustosz.alerts.checks")  # the name the alerts' log lines always had
SWEEP_FAILED = AlertRow.SWEEP_FAILED
SWEEP_LATE = AlertRow.SWEEP_LATE


def note_sweep(vault: Vault, error: BaseException | None = None,
               now: datetime | None = None) -> None:
    """The retention scheduler's report of one sweep: a failure raises `sweep_failed` (the
    error's type only: a message may name a file), a success clears it and `sweep_late`.
    Never raises: the sweep's own outcome matters more than its alert."""
    now = now or datetime.now(UTC)
    try:
        with vault.transaction() as s:
            state = checks_state(s)
            if error is None:
                state["sweep_ok"] = now.isoformat()
                clear_rows(s, SWEEP_FAILED, now)
                clear_rows(s, SWEEP_LATE, now)
            else:
                state["sweep_failed"] = now.isoformat()
                raise_row(s, SWEEP_FAILED, "Usuwanie nagrań po upływie okresu przechowywania "
                          f"nie powiodło się ({type(error).__name__}); zostanie ponowione przy "
                          "następnym przebiegu. Szczegóły w dzienniku usługi.", now)
            save_checks_state(s, state)
    except Exception:
        log.exception("could not record the sweep's outcome for the alerts")
