"""Running the sweep on a schedule: every `interval_minutes` and at each local midnight.

Periods end at local midnight (art. 111/112 k.c. on the office's calendar), so a sweep is
always due at that instant; the interval covers items whose expiry moved (policy change,
released hold) and retries after failures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from kustosz.retention.sweep import relieve_pressure, run_sweep
from kustosz.vault import Vault

log = logging.getLogger(__name__)


def next_run(now: datetime, interval: timedelta, vault: Vault) -> datetime:
    """The earlier of now + interval and the next local midnight (a hair after it)."""
    local = now.astimezone(vault.policy.timezone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0),
                                tzinfo=vault.policy.timezone).astimezone(UTC)
    return min(now + interval, midnight + timedelta(seconds=1))


def sweep_once(vault: Vault, actor: str = "scheduler") -> int:
    report = run_sweep(vault, actor=actor, detail=False)
    pressure = relieve_pressure(vault, actor=actor)
    deleted = len(report.deleted) + len(pressure.deleted)
    if deleted:
        log.info("retention sweep deleted %d item(s)", deleted)
    return deleted


def run_scheduler(vault: Vault, stop: threading.Event,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                  on_sweep: Callable[[int], None] | None = None) -> None:
    """Sweep until ``stop`` is set. A failed sweep is logged and retried at the next tick."""
    interval = timedelta(minutes=vault.config.sweep_interval_minutes)
    while not stop.is_set():
        try:
            deleted = sweep_once(vault)
            if on_sweep:
                on_sweep(deleted)
        except Exception:
            log.exception("retention sweep failed; retrying at the next run")
        now = clock()
        wait = (next_run(now, interval, vault) - now).total_seconds()
        stop.wait(max(wait, 1.0))
