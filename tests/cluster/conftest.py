"""Fixtures of the cluster tests: a PostgreSQL database of the test's own (CREATE DATABASE), so
that nodes started as separate processes share it exactly as an office's would."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.vault import Vault

PG = os.environ.get("KUSTOSZ_TEST_PG")


def _admin() -> sa.Engine:
    assert PG
    return sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                            isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new database in the test server; its URL (postgresql://…/kt_cluster_…)."""
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    name = f"kt_cluster_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_vault(tmp_path: Path, pg_database: str) -> Iterator[Vault]:
    vault = Vault.init(tmp_path / "vault", "pleszew", pg_database, actor="test")
    yield vault
    vault.close()
