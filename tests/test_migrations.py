"""Migrations from day one: the Alembic head builds exactly the schema the models describe,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kustosz.db.schema import metadata
from kustosz.vault import Vault


def test_migrations_match_models(vault: Vault) -> None:
    with vault.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_open_is_idempotent(vault: Vault) -> None:
    again = Vault.open(vault.root)
    from alembic.script import ScriptDirectory

    from kustosz.db.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config(again.engine)).get_heads())
    with again.engine.connect() as conn:
        applied = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    assert applied == heads
    again.close()


def test_sqlite_runs_in_wal_mode(sqlite_vault: Vault) -> None:
    with sqlite_vault.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
