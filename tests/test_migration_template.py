"""The test vaults' databases are copies of one migration run per session (tests/conftest.py,
`migrated_template`): the copy is exactly what the migrations build from scratch, on SQLite and
on PostgreSQL, so every test on a copied vault tests what a real `kustosz init` makes."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.db.engine import make_engine, sqlite_url
from kustosz.db.migrate import upgrade
from tests.conftest import PG, MigratedTemplate, make_vault, pg_schema_url


def sqlite_schema(engine: sa.Engine) -> list[tuple[str, ...]]:
    with engine.connect() as conn:
        objects = conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all()
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        # A table's columns and constraints as a set: Alembic's batch mode (SQLite) writes a
        # rebuilt table's constraints in no fixed order, from one migration run to the next.
        return [(kind, name, table, *sorted(part.strip().rstrip(",")
                                            for part in str(sql).splitlines()))
                for kind, name, table, sql in objects] + [("version", v) for v in
                                                           sorted(versions)]


def pg_schema(engine: sa.Engine) -> tuple[str, list[str]]:
    """pg_dump of the engine's schema (structure only, its name neutral) and the versions."""
    assert PG
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        versions = sorted(conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                          .scalars())
    dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "--schema-only",
                           "--schema", schema, PG],
                          capture_output=True, text=True, check=True).stdout
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]
    return "\n".join(lines).replace(schema, "SCHEMA"), versions


def test_a_vault_database_is_the_migrations_result(
        migrated_template: MigratedTemplate | None, tmp_path: Path, backend_url: str) -> None:
    if migrated_template is None:
        pytest.skip("KUSTOSZ_TEST_MIGRATE_EACH: every vault is migrated from scratch")
    copies = migrated_template.copies
    vault = make_vault(tmp_path / "vault", url=backend_url)
    try:
        assert migrated_template.copies == copies + 1  # the copy was used, not a migration
        if not backend_url:
            fresh = make_engine(sqlite_url(tmp_path / "fresh.db"))
            try:
                upgrade(fresh)  # the real thing, from an empty file
                # the vault's own rows (audit, settings) are not part of the schema
                assert sqlite_schema(vault.engine) == sqlite_schema(fresh)
            finally:
                fresh.dispose()
            return
        fresh_schema = f"kt_fresh_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{fresh_schema}"')
        try:
            fresh = make_engine(pg_schema_url(fresh_schema))
            try:
                upgrade(fresh)  # the real thing, into an empty schema
                assert pg_schema(vault.engine) == pg_schema(fresh)
            finally:
                fresh.dispose()
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{fresh_schema}" CASCADE')
            admin.dispose()
    finally:
        vault.close()
