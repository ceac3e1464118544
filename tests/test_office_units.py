"""The systemd units of an installation (issue 67): a process per office
(`kustosz-office@<office>.service`, `serve --port 0` for the office the instance names) in a
slice where the kernel shares CPU and disk I/O between the offices by weight, and the
installation's one web (`kustosz-installation.service`). `systemd-analyze verify` accepts
them without a word, systemd rates them as well hardened as kustosz.service, and their
hardening is kustosz.service's own, line for line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_service_units import ANALYZE, DEPLOY, SHIPPED_EXEC, _settings, needs_analyze

OFFICE = DEPLOY / "kustosz-office@.service"
WEB = DEPLOY / "kustosz-installation.service"
SLICE = DEPLOY / "kustosz-offices.slice"
FOLDER = "/var/lib/kustosz-installation"


def _hardening(path: Path) -> list[str]:
    text = path.read_text()
    block = text[text.index("# -- hardening"):text.index("[Install]")]
    return [line for line in block.splitlines()
            if line and not line.startswith("#") and not line.startswith("ReadWritePaths=")]


def _copies(tmp_path: Path) -> list[Path]:
    """The units with ExecStart at this venv's `kustosz` (verify insists it exists), the
    template as an instance for the office „mops”."""
    here = Path(sys.executable).parent / "kustosz"
    made = []
    for source, name in ((OFFICE, "kustosz-office@mops.service"), (WEB, WEB.name),
                         (SLICE, SLICE.name)):
        text = source.read_text()
        target = tmp_path / name
        target.write_text(text.replace(SHIPPED_EXEC, str(here)))
        made.append(target)
    return made


@needs_analyze
def test_systemd_analyze_verify_accepts_the_installations_units(tmp_path: Path) -> None:
    done = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, _copies(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


@needs_analyze
@pytest.mark.parametrize("name", ["kustosz-office@mops.service", WEB.name])
def test_systemd_rates_them_as_well_hardened_as_the_vaults_unit(tmp_path: Path,
                                                                 name: str) -> None:
    _copies(tmp_path)
    done = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager",
                           str(tmp_path / name)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and "offline" in done.stderr:
        pytest.skip(f"this systemd-analyze cannot rate a unit file offline: {done.stderr}")
    score = re.search(rf"Overall exposure level for {re.escape(name)}: ([0-9.]+)", done.stdout)
    assert score and float(score.group(1)) <= 2.0, done.stdout + done.stderr


def test_their_hardening_is_the_vaults_unit_own() -> None:
    vault = _hardening(DEPLOY / "kustosz.service")
    assert len(vault) > 20
    for unit in (OFFICE, WEB):
        assert _hardening(unit) == vault, unit.name
        assert _settings(unit.read_text())["ReadWritePaths"] == [
            f"{FOLDER} -/var/lib/kustosz-witness"]


def test_a_unit_per_office_records_its_office_alone_with_its_share_of_the_machine() -> None:
    office = _settings(OFFICE.read_text())
    env = dict(v.split("=", 1) for v in office["Environment"])
    assert env["KUSTOSZ_DATA"] == FOLDER and env["KUSTOSZ_OFFICE"] == "%i"
    assert office["ExecStart"] == [f"{SHIPPED_EXEC} serve --port 0"]  # no web of its own
    assert office["Slice"] == ["kustosz-offices.slice"]
    assert office["CPUWeight"] == office["IOWeight"] == ["100"]
    vault = _settings((DEPLOY / "kustosz.service").read_text())
    for key in ("Type", "NotifyAccess", "WatchdogSec", "Restart", "StartLimitIntervalSec",
                "KillMode", "KillSignal", "TimeoutStopSec", "User", "UMask", "ExecReload"):
        assert office[key] == vault[key], key
    web = _settings(WEB.read_text())
    env = dict(v.split("=", 1) for v in web["Environment"])
    assert "KUSTOSZ_OFFICE" not in env and env["KUSTOSZ_DATA"] == FOLDER  # every office
    assert web["ExecStart"] == [f"{SHIPPED_EXEC} serve"]
    assert env["KUSTOSZ_WEB_HOST"] == "127.0.0.1" and env["KUSTOSZ_WEB_PORT"] == "8470"
