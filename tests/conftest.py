"""Shared fixtures: vaults on SQLite and on the real PostgreSQL, and a 'nothing changed' check."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kustosz.cli import app
from kustosz.db.schema import metadata
from kustosz.vault import Vault

PG = os.environ.get("KUSTOSZ_TEST_PG")


def pg_schema_url(schema: str) -> str:
    assert PG
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL server, dropped afterwards."""
    if not PG:
        pytest.skip("KUSTOSZ_TEST_PG is not set (make test sets it when PostgreSQL answers)")
    schema = f"kt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("pg_url")


def make_vault(root: Path, preset: str = "pleszew", url: str = "") -> Vault:
    return Vault.init(root, preset, url, actor="test")


@pytest.fixture
def vault(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault", url=backend_url)
    yield v
    v.close()


@pytest.fixture
def sqlite_vault(tmp_path: Path) -> Iterator[Vault]:
    v = make_vault(tmp_path / "vault")
    yield v
    v.close()


def snapshot(vault: Vault) -> dict[str, Any]:
    """Everything a bad input must not change: every table, every stored file, the audit head."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with vault.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    files = {}
    for path in sorted((vault.root / "media").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(vault.root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    head = (vault.root / "audit.head").read_text() if (vault.root / "audit.head").exists() else ""
    config = (vault.root / "kustosz.toml").read_text()
    return {"tables": tables, "files": files, "head": head, "config": config}


class Cli:
    """Runs the real `kustosz` command (in-process) against one data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(app, ["--data", str(self.data), *args],
                                    env={"KUSTOSZ_ACTOR": "tester", "COLUMNS": "200"})
        if ok and result.exit_code != 0:
            raise AssertionError(f"kustosz {' '.join(args)} failed ({result.exit_code}):\n"
                                 f"{result.output}\n{result.exception!r}")
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "vault")


def iso(value: datetime) -> str:
    return value.isoformat()
