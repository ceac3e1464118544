"""Fixtures of the job tests: a PostgreSQL database of the test's own (CREATE DATABASE) for the
shared queue — procrastinate's LISTEN/NOTIFY channels are per database, and workers started
as separate processes share it exactly as an office's nodes would — and job kinds made for a
test and forgotten after it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz import jobs
from kustosz.vault import Vault

PG = os.environ.get("KUSTOSZ_TEST_PG")


@pytest.fixture
def pg_database() -> Iterator[str]:
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    name = f"kt_jobs_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_vault(tmp_path: Path, pg_database: str) -> Iterator[Vault]:
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
