"""`kustosz sweeper`: the retention sweep in a process of its own (issue 16, hardening).

With media in an object store and ``[storage] sweep = "separate"``, `kustosz serve` — the
web app, the recorders, the listeners, every node — never reads the sweep's credentials
(`Vault.may_delete` is off there: no sweep, no crash recovery of sweeps, no disk-pressure
deletion). This process alone opens `delete_credentials_file`, which the packaged unit
(deploy/systemd/kustosz-sweeper.service) lets only its own group read, and runs the same
scheduler (`run_scheduler`: every `interval_minutes` and at local midnight, each outcome
reported to the `sweep_failed`/`sweep_late` alerts that serve's checks raise).

Exactly one sweep: on PostgreSQL it works only while it holds the cluster's lease
``singleton:sweep`` (kustosz.db.leases; a second sweeper on another machine waits and
takes over within a lease time when the first dies), on SQLite the data folder's lock
`sweeper` keeps a second one out. It makes itself non-dumpable at start, so a process of the
same account (serve, if it were taken over) can neither ptrace it nor read its memory
through /proc.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from kustosz.config_schema.storage import SWEEP_SEPARATE
from kustosz.db.leases import Leases
from kustosz.errors import ConfigError
from kustosz.retention.scheduler import run_scheduler
from kustosz.storage.base import Unavailable
from kustosz.vault import Vault

log = logging.getLogger(__name__)
SWEEP_LEASE = "singleton:sweep"
PR_SET_DUMPABLE = 4


def not_dumpable() -> bool:
    """No core dumps, no ptrace and no /proc/<pid>/mem of this process for other processes
    of its account (the kernel's `dumpable` flag); True when set."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # not Linux
        return False


def leave_the_sweep(vault: Vault) -> None:
    """In `serve`: with [storage] sweep = "separate" this process never opens the sweep's
    credentials nor sweeps (`Vault.may_delete`); otherwise nothing changes."""
    s3 = vault.config.s3
    if s3 is not None and s3.sweep == SWEEP_SEPARATE:
        vault.may_delete = False
        log.info("the sweep runs in its own process (kustosz sweeper): this one never "
                 "reads the sweep's credentials")


def check_separate(vault: Vault) -> None:
    """The sweeper runs only where serve leaves the sweep to it: otherwise two processes
    would sweep (serve's scheduler and this one)."""
    s3 = vault.config.s3
    if s3 is None or s3.sweep != SWEEP_SEPARATE:
        raise ConfigError(
            'kustosz sweeper runs only with media in an object store and [storage] sweep = '
            '"separate" in kustosz.toml; otherwise `kustosz serve` sweeps itself',
            pl='kustosz sweeper działa tylko przy nagraniach w magazynie obiektów i [storage] '
               'sweep = "separate" w kustosz.toml; w innym przypadku usuwa sam `kustosz '
               'serve`.')


@contextlib.contextmanager
def _one_sweeper(vault: Vault) -> Iterator[None]:
    """One sweeper per data folder on SQLite (the kernel releases the lock of a dead one)."""

    with (vault.root / "sweeper.lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another kustosz sweeper is already running on {vault.root}",
                              pl=f"Na skarbcu {vault.root} działa już inny kustosz "
                                 "sweeper.") from None
        yield


def sweeper_name() -> str:
    return f"sweeper@{socket.gethostname()}"[:100]


def run_sweeper(vault: Vault, stop: threading.Event, *, lease_seconds: float = 15.0,
                margin_seconds: float = 5.0, name: str | None = None,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                on_sweep: Callable[[int], None] | None = None,
                on_failure: Callable[[BaseException], None] | None = None) -> None:
    """Sweep on schedule until ``stop``; on PostgreSQL only while holding `SWEEP_LEASE`."""
    try:  # the credentials and the bucket checked before anything else
        vault.deleting_storage()
    except Unavailable as exc:  # away, not wrong: each sweep fails and says so (sweep_failed)
        log.warning("%s; the sweeps fail until it answers", exc)
    if vault.engine.dialect.name != "postgresql":
        with _one_sweeper(vault):
            run_scheduler(vault, stop, clock=clock, on_sweep=on_sweep, on_failure=on_failure)
        return

    leases = Leases(vault.engine, name or sweeper_name(), lease_seconds)
    renew_s = lease_seconds / 3
    while not stop.is_set():
        try:
            leases.ensure([SWEEP_LEASE])
            asked = time.monotonic()
            got, db_now = leases.claim([SWEEP_LEASE], 1)
        except Exception:
            log.exception("sweeper: cannot reach the lease table; trying again")
            stop.wait(renew_s)
            continue
        if not got:
            stop.wait(renew_s)  # another sweeper holds it
            continue
        held = got[0]
        deadline = asked + (held.until - db_now).total_seconds() - margin_seconds
        log.info("sweeper %s: holds %s (epoch %d); sweeps on schedule", leases.node,
                 SWEEP_LEASE, held.epoch)
        lost = threading.Event()
        worker = threading.Thread(target=run_scheduler, args=(vault, lost),
                                  kwargs={"clock": clock, "on_sweep": on_sweep,
                                          "on_failure": on_failure},
                                  name="retention", daemon=True)
        worker.start()
        while not stop.wait(min(renew_s, max(0.1, deadline - time.monotonic()))):
            try:
                asked = time.monotonic()
                renewed, db_now = leases.renew()
            except Exception:  # the database away: keep sweeping until the local deadline
                log.exception("sweeper: could not renew %s", SWEEP_LEASE)
                if time.monotonic() >= deadline:
                    break
                continue
            mine = renewed.get(SWEEP_LEASE)
            if mine is None or mine.epoch != held.epoch:
                log.warning("sweeper %s: lost %s; stops sweeping", leases.node, SWEEP_LEASE)
                break
            deadline = asked + (mine.until - db_now).total_seconds() - margin_seconds
        lost.set()  # a sweep under way finishes its batch (recover completes a cut one)
        worker.join()
        if stop.is_set():
            try:
                leases.release(SWEEP_LEASE, held.epoch)
            except Exception:  # it runs out by itself
                log.exception("sweeper: could not release %s", SWEEP_LEASE)
