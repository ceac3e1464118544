"""A PostgreSQL database of the test's own (CREATE DATABASE), for tests whose processes must
share one database exactly as an office's nodes would (tests/cluster), or need what is per
database (procrastinate's LISTEN/NOTIFY channels, tests/jobs). Import the fixture by name:
``from tests.support.pg_database import pg_database``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG = os.environ.get("KUSTOSZ_TEST_PG")


def admin_engine() -> sa.Engine:
    assert PG
    return sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1),
                            isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new database in the test server, dropped afterwards; its URL
    (postgresql://…/kt_<package>_…, e.g. kt_cluster_… for a test in tests/cluster)."""
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    package = request.module.__name__.split(".")[1] if "." in request.module.__name__ else "db"
    name = f"kt_{package}_{uuid.uuid4().hex[:12]}"
    admin = admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
