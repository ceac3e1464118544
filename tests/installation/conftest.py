"""The installation fixtures: the same tests on SQLite and on PostgreSQL, and an installation
role that is no superuser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import PG
from tests.installation.install_helpers import Install, drop_office, installation

from kustosz.db.engine import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def inst(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    with installation(tmp_path, request.param, monkeypatch) as made:
        yield made


@pytest.fixture
def pg_inst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    with installation(tmp_path, "postgresql", monkeypatch) as made:
        yield made


@pytest.fixture
def plain_admin(pg_inst: Install) -> Iterator[str]:
    """A role with CREATEROLE and CREATE on the database, no superuser: what the operations
    page asks a CUW to make for an installation."""
    assert PG
    name = f"kt_inst_admin_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(PG)
    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN CREATEROLE")
        conn.exec_driver_sql(f'GRANT CREATE ON DATABASE "{url.database}" TO {name}')
    try:
        yield url.set(username=name).render_as_string(hide_password=False)
    finally:
        for slug in pg_inst.slugs:
            drop_office(slug)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{url.database}" FROM {name}')
            conn.exec_driver_sql(f"DROP ROLE {name}")
        admin.dispose()
