"""The PostgreSQL test schemas used again (tests/support/pg_schema_pool.py): a schema given
back and taken again is the migrated template's replay, row for row and sequence for
sequence; a schema that is no longer the template's shape is never kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from tests.conftest import PG, MigratedTemplate, make_vault, pg_schema_url
from tests.support.pg_schema_pool import USES, SchemaPool, shape

from kustosz.access.users import add_user

pytestmark = pytest.mark.skipif(not PG, reason="KUSTOSZ_TEST_PG is not set")


def _connect() -> psycopg.Connection[tuple[object, ...]]:
    assert PG
    return psycopg.connect(PG, autocommit=True, connect_timeout=10)


@pytest.fixture
def pool(migrated_template: MigratedTemplate | None) -> SchemaPool:
    if migrated_template is None or migrated_template.pg_script() is None:
        pytest.skip("no migrated template (KUSTOSZ_TEST_MIGRATE_EACH, or no pg_dump)")
    if migrated_template.pool is None:
        pytest.skip("this server's user may not use the pool")
    return migrated_template.pool


@pytest.fixture
def schemas() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with _connect() as conn:
        for name in made:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(name)))


def _new(schemas: list[str]) -> str:
    name = f"kt_{uuid.uuid4().hex[:12]}"
    with _connect() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    schemas.append(name)
    return name


def _content(schema: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows and every sequence's state."""
    out: dict[str, list[tuple[object, ...]]] = {}
    with _connect() as conn:
        rels = conn.execute(
            "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'S')",
            (schema,)).fetchall()
        for name, kind in rels:
            what = "last_value, is_called" if kind == "S" else "*"
            out[str(name)] = sorted(conn.execute(sql.SQL(f"SELECT {what} FROM {{}}").format(
                sql.Identifier(schema, str(name)))).fetchall(), key=repr)
    return out


def _vault_with_rows(schema: str, tmp: Path, pool: SchemaPool) -> None:
    """make_vault may have taken a pooled schema near its last use: counted as new here."""
    vault = make_vault(tmp, url=pg_schema_url(schema))
    pool.count_as_new(schema)
    with vault.transaction() as s:
        add_user(s, "burmistrz", "Jan Kowalski", ["approver"], "test")
    vault.close()


def test_a_schema_given_back_is_taken_as_the_templates_replay(
        pool: SchemaPool, schemas: list[str], migrated_template: MigratedTemplate,
        tmp_path: Path) -> None:
    used = _new(schemas)
    _vault_with_rows(used, tmp_path / "used", pool)
    assert _content(used)["users"], "the vault wrote rows of its own"
    assert pool.give_back(used), pool.refused
    # the next empty schema is replaced by it; a third one gets the template's replay
    taken, replayed = _new(schemas), _new(schemas)
    with _connect() as conn, conn.transaction():
        assert pool.take(conn, taken)
    script = migrated_template.pg_script()
    assert script is not None
    with _connect() as conn, conn.transaction():
        conn.execute(script.replace("{schema}", replayed))
    assert _content(taken) == _content(replayed)
    with _connect() as conn:
        assert shape(conn, taken) == shape(conn, replayed) != ""
    assert not _content(taken)["users"]


def test_a_schema_of_another_shape_is_not_kept(pool: SchemaPool, schemas: list[str],
                                               tmp_path: Path) -> None:
    used = _new(schemas)
    _vault_with_rows(used, tmp_path / "used", pool)
    with _connect() as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(used, "extra")))
    kept = pool.given_back
    assert not pool.give_back(used)
    assert pool.given_back == kept
    with _connect() as conn:  # left as it is, for the caller to drop
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            (used,)).fetchone()


def test_a_schema_is_used_at_most_uses_times(pool: SchemaPool, schemas: list[str],
                                             tmp_path: Path) -> None:
    used = _new(schemas)
    _vault_with_rows(used, tmp_path / "used", pool)
    for _ in range(USES - 1):
        assert pool.give_back(used), pool.refused
        with _connect() as conn, conn.transaction():  # the last given back is taken first
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(used)))
            assert pool.take(conn, used)
    assert not pool.give_back(used)
