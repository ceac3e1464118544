"""Issue 48 item 3: a clock that disagrees with the vault after a reboot deletes nothing on
its word until it is confirmed (kustosz.clock.confirm).

Across a reboot the steady clock starts again: a clock set 40 days ahead while the machine was
off, or a 40-day lag corrected at boot, cannot be told from a long stop. 38 segments recorded
with a right clock, a reboot, the clock 40 days ahead: before this, the first sweep deleted all
38 and no clock alert was raised. Now the vault marks the clock unconfirmed and alerts; no
retention sweep — serve's, or the separate sweeper's that runs no watch — deletes while the
mark stands; the mark goes when the kernel reports the clock synchronised or an administrator
confirms it, each audited. The kernel's answer is the one thing given to the watch here (a
test cannot set this machine's NTP state); the segments, the vault and the sweep are real."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from kustosz.access.users import add_user
from kustosz.clock import ClockWatch
from kustosz.clock.confirm import confirm, synchronised
from kustosz.db.models import AuditEntry
from kustosz.errors import InputError
from kustosz.retention import run_sweep
from kustosz.vault import Vault
from tests.clock_helpers import DAY, Camera, ShiftedClock, camera_source
from tests.test_clock_restart import _alerts, _at, _record, _rows, clock, started

__all__ = ["clock"]


def _rebooted(vault: Vault, clock: ShiftedClock, error_s: float, synced: list[bool]) -> ClockWatch:
    clock.advance(300)
    clock.start = clock.true  # the machine rebooted: CLOCK_BOOTTIME from 0
    clock.error_s = error_s
    return ClockWatch(vault, wall=clock.wall, steady=clock.steady, boot=lambda: "boot-two",
                      synced=lambda: synced[0]).start()


def _recorded(vault: Vault, clock: ShiftedClock, n: int = 38) -> None:
    cam = camera_source(vault)
    watch = started(vault, clock)
    _record(Camera(vault, cam, clock, "20261122T100000-rbh"), n)
    watch.close()


def _audit(vault: Vault, action: str) -> list[AuditEntry]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_a_clock_40_days_ahead_after_a_reboot_deletes_nothing_until_synchronised(
        vault: Vault, clock: ShiftedClock) -> None:
    """SQLite and PostgreSQL. Held at start and alerted; the sweep of a process without a
    watch (the separate sweeper) is held too; the kernel reports the clock synchronised: the
    watch's thread takes the mark away, audited, and the sweep judges by the clock again."""
    _recorded(vault, clock)
    synced = [False]
    watch = _rebooted(vault, clock, 40 * DAY, synced)
    stop = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    try:
        assert watch.held
        said = _alerts(vault)[-1]
        assert said.startswith("Po ponownym uruchomieniu serwera zegar wskazuje")
        assert "o 40 dni później" in said and "nie jest zsynchronizowany" in said
        assert "kustosz clock confirm" in said
        report = run_sweep(vault, now=_at(clock.wall()))
        assert report.held_by_clock and report.deleted == [] and len(_rows(vault)) == 38
        watch.unregister()  # the sweeper's process: no watch, the vault's mark alone
        report = run_sweep(vault, now=_at(clock.wall()))
        assert report.held_by_clock and len(_rows(vault)) == 38
        watch.register()
        thread.start()
        synced[0] = True
        assert _wait(lambda: not watch.held)
        [done] = _audit(vault, "clock.confirmed")
        assert json.loads(done.details)["how"] == "synchronised"
        report = run_sweep(vault, now=_at(clock.wall()))
        assert not report.held_by_clock and len(report.deleted) == 38  # the clock vouched for
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(10)
        watch.close()


def test_a_40_day_lag_corrected_at_boot_is_held_and_a_person_confirms(
        vault: Vault, clock: ShiftedClock) -> None:
    """Recorded by a clock 40 days behind, corrected while the machine was off, no NTP: held
    until an administrator confirms; the mark survives a restart on the same boot; a person
    without the role, or without a reason, is refused and changes nothing."""
    clock.true += 40 * DAY
    clock.start += 40 * DAY
    clock.error_s = -40 * DAY
    _recorded(vault, clock, 4)
    watch = _rebooted(vault, clock, 0.0, [False])
    try:
        assert watch.held and run_sweep(vault, now=_at(clock.wall())).held_by_clock
    finally:
        watch.close()
    again = ClockWatch(vault, wall=clock.wall, steady=clock.steady, boot=lambda: "boot-two",
                       synced=lambda: False).start()
    try:
        assert again.held  # read back from the vault: not forgotten by a restart
        with vault.transaction() as s:
            add_user(s, "anna", "Anna Nowak", ["administrator"], "test")
            add_user(s, "jan", "Jan Kowalski", ["viewer"], "test")
        with pytest.raises(InputError):
            confirm(vault, "jan", "NTP sprawdzony", "test")
        with pytest.raises(InputError):
            confirm(vault, "anna", "  ", "test")
        assert run_sweep(vault, now=_at(clock.wall())).held_by_clock
        assert confirm(vault, "anna", "czas sprawdzony z zegarem ntp.gum.gov.pl", "test")
        [done] = _audit(vault, "clock.confirmed")
        assert json.loads(done.details)["how"] == "person"
        assert json.loads(done.details)["by"] == "anna"
        assert not run_sweep(vault, now=_at(clock.wall())).held_by_clock
        assert not confirm(vault, "anna", "again", "test")  # nothing left to confirm
    finally:
        again.close()


def test_a_synchronised_clock_or_a_short_reboot_holds_nothing(vault: Vault,
                                                            clock: ShiftedClock) -> None:
    _recorded(vault, clock, 2)
    watch = _rebooted(vault, clock, 40 * DAY, [True])  # NTP says the clock is right
    try:
        assert not watch.held and not run_sweep(vault, now=_at(clock.wall())).held_by_clock
    finally:
        watch.close()
    watch = _rebooted(vault, clock, 40 * DAY, [False])  # a 5-minute reboot, no NTP:
    try:  # the clock reads what the vault last saw plus the reboot
        assert not watch.held
    finally:
        watch.close()


def test_the_kernel_is_asked_without_privileges() -> None:
    """adjtimex read-only: an answer (True/False) on Linux, never an exception."""
    assert synchronised() in (True, False)


def _wait(done, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return True
        time.sleep(0.05)
    return False
