"""The office of the SIPREC tests: every call in scope (Bolesławiec's preset), one line whose
SBC is this machine (127.0.0.1), enabled with its legal basis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import make_vault
from tests.siprec.siprec_helpers import add_line

from kustosz.vault import Vault


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    add_line(vault)
    yield vault
    vault.close()
