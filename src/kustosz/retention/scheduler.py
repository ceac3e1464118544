"""Running the sweep on a schedule: every `interval_minutes` and at each local midnight.

Periods end at local midnight (art. 111/112 k.c. on the office's calendar), so a sweep is
always due at that instant; the interval covers items whose expiry moved (policy change,
released hold) and retries after failures. Between runs the thread also answers the disk
watch (retention/pressure.py): a segment or chunk that closes on a disk short of space wakes
the disk-pressure sweep at once, in this thread, so that it never runs beside a retention
sweep.

The loop beats serve's watchdog (kustosz.watchdog) as ``retention`` at every turn (a second at
most apart while it waits); a sweep is a known long step (`SWEEP_ALLOWANCE_S`), after which it
must beat again. It is forgotten when it ends at the stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from kustosz.db.outage import Backoff, is_database_away
from kustosz.retention.partitions import make_days
from kustosz.retention.pressure import relieve_pressure, watch_of
from kustosz.retention.sweep import run_sweep
from kustosz.retention.sweep_alert import note_sweep
from kustosz.vault import Vault
from kustosz.watchdog import progress_of

log = logging.getLogger(__name__)
RETRY_LIMIT_S = 60.0  # the longest pause between sweeps while the database is away
# The longest a turn without a sweep may honestly take: the sweep's alert row or the disk
# watch on a database that went silent (connect 10 s, an answer 60 s: db.deadline).
ALLOWANCE_S = 180.0
# A sweep: each statement over the whole index may wait up to the server's statement limit
# (15 min, db.deadline.patience) and a big backlog (the first sweep after days away) deletes
# tens of thousands of files, one request each on an object store. Beyond it, it is hung.
SWEEP_ALLOWANCE_S = 2 * 3600.0


def next_run(now: datetime, interval: timedelta, vault: Vault) -> datetime:
    """The earlier of now + interval and the next local midnight (a hair after it)."""
    local = now.astimezone(vault.policy.timezone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0),
                                tzinfo=vault.policy.timezone).astimezone(UTC)
    return min(now + interval, midnight + timedelta(seconds=1))


def sweep_once(vault: Vault, actor: str = "scheduler") -> int:
    make_days(vault)  # the days ahead, even when the sweep itself is held (the clock)
    with watch_of(vault).running():
        report = run_sweep(vault, actor=actor, detail=False)
        pressure = relieve_pressure(vault, actor=actor)
    deleted = len(report.deleted) + len(pressure.deleted)
    if deleted:
        log.info("retention sweep deleted %d item(s)", deleted)
    return deleted


def run_scheduler(vault: Vault, stop: threading.Event,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                  on_sweep: Callable[[int], None] | None = None,
                  on_failure: Callable[[BaseException], None] | None = None) -> None:
    """Sweep until ``stop`` is set. A failed sweep is logged and retried at the next tick.
    Returns at once in a process that does not delete ([storage] sweep = "separate": the
    `kustosz sweeper` process sweeps, kustosz.retention.sweeper)."""
    if not vault.may_delete:
        log.info("the retention sweep runs in its own process (kustosz sweeper), not here")
        return
    interval = timedelta(minutes=vault.config.sweep_interval_minutes)
    watch = watch_of(vault)
    watch.listener = True
    due = clock()
    # A sweep the database's absence stopped is tried again within RETRY_LIMIT_S rather than
    # an interval later: one due at midnight must not wait an hour after the outage.
    backoff = Backoff(first_s=5.0, limit_s=RETRY_LIMIT_S)
    progress = progress_of(vault).loop("retention", ALLOWANCE_S)
    try:
        while not stop.is_set():
            progress.beat()
            now = clock()
            if now >= due:
                retry: float | None = None
                try:
                    with progress.busy(SWEEP_ALLOWANCE_S):
                        deleted = sweep_once(vault)
                except Exception as exc:
                    if is_database_away(exc):
                        retry = backoff.delay()
                        log.warning("retention sweep: the database is away (%s); trying "
                                    "again in %.0f s", type(exc).__name__, retry)
                    else:
                        log.exception("retention sweep failed; retrying at the next run")
                    note_sweep(vault, exc)  # the sweep_failed alert (kustosz.retention.sweep_alert)
                    if on_failure:
                        on_failure(exc)
                else:
                    backoff.reset()
                    note_sweep(vault)
                    if on_sweep:
                        on_sweep(deleted)
                now = clock()
                due = max(next_run(now, interval, vault), now + timedelta(seconds=1))
                if retry is not None:
                    due = min(due, now + timedelta(seconds=retry))
            elif watch.wake.is_set():
                watch.wake.clear()
                try:
                    with progress.busy(SWEEP_ALLOWANCE_S):
                        deleted = len(watch.relieve(actor="scheduler").deleted)  # type: ignore[union-attr]
                    if deleted:
                        log.info("disk-pressure sweep deleted %d item(s)", deleted)
                except Exception as exc:
                    if not is_database_away(exc):
                        log.exception("disk-pressure sweep failed; retrying at the next run")
                    else:  # the disk is still short: the sweep that is due soon relieves it
                        log.warning("disk-pressure sweep: the database is away (%s); the "
                                    "next sweep relieves the disk", type(exc).__name__)
                        due = min(due, clock() + timedelta(seconds=backoff.delay()))
            # Short waits: the stop and the disk watch are answered within a second.
            watch.wake.wait(min(max((due - clock()).total_seconds(), 0.0), 1.0))
    finally:
        watch.listener = False
        if stop.is_set():  # stopped on purpose: no hang
            progress.forget()
