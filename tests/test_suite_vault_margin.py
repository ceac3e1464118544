"""The suite's own promise (tests/conftest.py): a vault a test makes does not react to the free
share of the host's disk, whether a test or a module's fixture makes it, so a CI disk that other
work filled cannot make the disk-pressure sweep delete a fixture's material, and the suite's
vaults do not each hold 64 MiB of that disk in a reserve. Tests marked
`disk_margin` keep the product's default and measure disks they control."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz.vault import Vault
from tests.conftest import make_vault


@pytest.fixture(scope="module")
def module_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    vault = make_vault(tmp_path_factory.mktemp("margin") / "vault")
    try:
        yield vault
    finally:
        vault.close()


def test_a_vault_made_by_a_modules_fixture_keeps_no_margin(module_vault: Vault) -> None:
    # A module's fixture is set up before the function-scoped fixtures of its first test.
    assert module_vault.config.min_free_percent == 0.0
    assert module_vault.config.reserve_mib == 1


@pytest.mark.parametrize(("margin", "reserve"), [
    pytest.param(0.0, 1, id="a-test-keeps-no-margin"),
    pytest.param(5.0, 64, id="a-disk-margin-test-keeps-the-products-default",
                 marks=pytest.mark.disk_margin),
])
def test_a_vault_made_by_a_test(tmp_path: Path, margin: float, reserve: int) -> None:
    vault = make_vault(tmp_path / "vault")
    try:
        assert (vault.config.min_free_percent, vault.config.reserve_mib) == (margin, reserve)
    finally:
        vault.close()


def test_a_passing_tests_folder_is_removed_and_a_failing_ones_kept(tmp_path: Path) -> None:
    """pyproject's tmp_path_retention_policy: what a passing test wrote does not stay on the
    host's disk until the run ends; a failing test's folder stays to be read."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_two.py").write_text(
        "def test_passes(tmp_path):\n"
        "    (tmp_path / 'passed.bin').write_bytes(b'x' * 4096)\n\n"
        "def test_fails(tmp_path):\n"
        "    (tmp_path / 'failed.bin').write_bytes(b'x' * 4096)\n"
        "    assert False\n", "utf-8")
    base = tmp_path / "base"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-c", str(root / "pyproject.toml"), "--rootdir", str(suite), f"--basetemp={base}",
         str(suite / "test_two.py")], capture_output=True, text=True, timeout=120, cwd=suite)
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    left = sorted(p.name for p in base.rglob("*.bin"))
    assert left == ["failed.bin"]
