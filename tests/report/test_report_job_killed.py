"""A report's making killed mid-way (issue 64, low): it left its staging folder under reports/
— after signing, a complete signed bundle that was not the shelf's report — for good. Now the
staging folder carries its maker (kustosz.staging): the next making, and serve's start, remove
what a dead one left and never what a running one is filling. Real `kustosz report
accountability` processes are killed (SIGKILL) once their staging folder exists."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.db.models import AuditEntry
from kustosz.report import store, verify
from kustosz.report.bundle import STAGING
from kustosz.report.monthly import last_month, run_monthly
from kustosz.vault import Vault
from tests.audit_helpers import rechain
from tests.conftest import make_vault

DEADLINE_S = 120.0


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """A vault whose life began 70 days ago (its audit log moved back and chained again), so
    last month is over and the vault existed in it."""
    root = tmp_path / "vault"
    vault = make_vault(root)
    try:
        with vault.transaction() as s:
            for e in s.execute(select(AuditEntry)).scalars():
                e.at = e.at - timedelta(days=70)
        rechain(vault)
    finally:
        vault.close()
    yield root


def _month(root: Path) -> str:
    vault = Vault.open(root)
    try:
        return last_month(datetime.now(UTC), vault)
    finally:
        vault.close()


def _start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(root), "report",
                             "accountability", "--month", _month(root), *args],
                            env={**os.environ, "KUSTOSZ_ACTOR": "tester"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _staging(root: Path) -> list[Path]:
    shelf = root / "reports"
    return sorted(shelf.glob(f"{STAGING}*")) if shelf.is_dir() else []


def _when_staging(proc: subprocess.Popen[bytes], root: Path) -> Path:
    """The process's staging folder, as soon as it exists (the process still running)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = _staging(root)
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    raise AssertionError("no staging folder appeared")


def _killed_midway(root: Path) -> Path:
    proc = _start(root)
    left = _when_staging(proc, root)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=DEADLINE_S)
    assert proc.returncode == -signal.SIGKILL
    assert left.is_dir()
    return left


def _shelf(root: Path) -> list[store.Made]:
    vault = Vault.open(root)
    try:
        return store.made(vault)
    finally:
        vault.close()


def test_a_killed_making_leaves_nothing_once_serve_starts(data: Path, tmp_path: Path) -> None:
    left = _killed_midway(data)
    assert _shelf(data) == []  # a staging folder is never a report on the shelf
    # What a kill after signing leaves: the dead process's folder holding a whole signed
    # bundle (the same process's making, finished elsewhere, put where it would have been).
    whole = tmp_path / "whole"
    done = _start(data, "--out", str(whole))
    assert done.wait(timeout=DEADLINE_S) == 0, done.communicate()
    shutil.rmtree(left / "bundle", ignore_errors=True)
    shutil.copytree(whole, left / "bundle")
    assert verify.verify(left / "bundle").ok  # left there, a second valid report
    vault = Vault.open(data)
    try:
        stop = threading.Event()
        stop.set()  # serve's loop starting and stopping at once: its start's work alone
        run_monthly(vault, stop)
    finally:
        vault.close()
    assert not left.exists() and _staging(data) == []
    assert _shelf(data) == []


def test_the_next_making_removes_a_killed_ones_leftover_and_makes_one_report(
        data: Path) -> None:
    left = _killed_midway(data)
    proc = _start(data)
    assert proc.wait(timeout=DEADLINE_S) == 0, proc.communicate()
    assert not left.exists() and _staging(data) == []
    [made] = _shelf(data)
    assert made.verified and made.label == _month(data)
    assert sorted(p.name for p in (data / "reports").iterdir()) == [
        f"accountability-{made.label}"]


def test_a_running_makings_folder_is_left_alone(data: Path) -> None:
    """Stopped (SIGSTOP) with its staging folder there: a cleaning meanwhile keeps it; let go,
    the making ends and leaves nothing behind but its report."""
    proc = _start(data)
    left = _when_staging(proc, data)
    proc.send_signal(signal.SIGSTOP)
    try:
        vault = Vault.open(data)
        try:
            assert store.clean_leftovers(vault) == []
        finally:
            vault.close()
        assert left.is_dir()
    finally:
        proc.send_signal(signal.SIGCONT)
    assert proc.wait(timeout=DEADLINE_S) == 0, proc.communicate()
    assert _staging(data) == [] and len(_shelf(data)) == 1
