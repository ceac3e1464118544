"""Fixtures of the cluster tests: a PostgreSQL database of the test's own (CREATE DATABASE), so
that nodes started as separate processes share it exactly as an office's would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz.vault import Vault
from tests.support.pg_database import pg_database  # noqa: F401 (a fixture, found by its name)


@pytest.fixture
def pg_vault(tmp_path: Path, pg_database: str) -> Iterator[Vault]:  # noqa: F811
    vault = Vault.init(tmp_path / "vault", "pleszew", pg_database, actor="test")
    yield vault
    vault.close()
