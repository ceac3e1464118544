"""Fixtures of the monitoring tests: vaults under the Elbląg preset, the one seed that
regulates e-mail and IT monitoring (the others refuse mailbox and endpoint sources)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kustosz.vault import Vault


@pytest.fixture
def elblag(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = Vault.init(tmp_path / "vault", "elblag", backend_url, actor="test")
    yield v
    v.close()


@pytest.fixture
def elblag_sqlite(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.init(tmp_path / "vault", "elblag", "", actor="test")
    yield v
    v.close()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Any]:
    """One private Dovecot for the IMAP journal-mailbox tests (each test has its own user)."""
    from imap_helpers import DOVECOT, Dovecot

    if DOVECOT is None:
        pytest.skip("dovecot is not installed (Debian dovecot-imapd; `make test` installs it "
                    "when run as root)")
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()
