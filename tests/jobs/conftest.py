"""Fixtures of the job tests: a PostgreSQL database of the test's own (CREATE DATABASE) for the
shared queue — procrastinate's LISTEN/NOTIFY channels are per database, and workers started
as separate processes share it exactly as an office's nodes would — and job kinds made for a
test and forgotten after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kustosz import jobs
from kustosz.vault import Vault
from tests.support.pg_database import pg_database  # noqa: F401 (a fixture, found by its name)


@pytest.fixture
def pg_vault(tmp_path: Path, pg_database: str) -> Iterator[Vault]:  # noqa: F811
    vault = Vault.init(tmp_path / "vault", "pleszew", pg_database, actor="test")
    yield vault
    jobs.stop(vault, 10)
    vault.close()


@pytest.fixture
def kinds() -> Iterator[list[str]]:
    """Names registered through this list are unregistered after the test."""
    made: list[str] = []
    yield made
    for name in made:
        jobs.unregister(name)
