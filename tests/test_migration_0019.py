"""Migration 0019 (issue 16 item 1) up and down on SQLite and PostgreSQL: `recordings` gains
a nullable `version_id` (the object store's version of each content); the downgrade drops it
and keeps every row and the table's constraints; up again works."""

from __future__ import annotations

import importlib

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.index.sources import add_source
from kustosz.vault import Vault

MIGRATION = importlib.import_module("kustosz.db.migrations.versions.0019_object_versions")
PREVIOUS = MIGRATION.down_revision
T = "2026-11-22 22:00:00"


def _columns(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("recordings")}


def _recording(vault: Vault, key: str, state: str = "stored", **extra: str) -> None:
    cols = "".join(f", {k}" for k in extra)
    vals = "".join(f", :{k}" for k in extra)
    with vault.transaction() as s:
        if not s.execute(text("SELECT id FROM sources")).first():
            add_source(s, vault.policy, "hol", "camera", "test")
    with vault.engine.begin() as conn:
        source = conn.execute(text("SELECT id FROM sources")).scalar()
        conn.execute(text(
            "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
            f"meta, state, ingested_at{cols}) VALUES (:s, 'camera', :t, :t, 1, :k, '{{}}', "
            f":state, :t{vals})"), {"s": source, "t": T, "k": key, "state": state, **extra})


def test_0019_adds_version_id_and_goes_back(vault: Vault) -> None:
    assert MIGRATION.revision == "0019" and PREVIOUS == "0018"
    cfg = alembic_config(vault.engine)
    assert "version_id" in _columns(vault)
    _recording(vault, "hol/a.ts", version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    _recording(vault, "hol/b.ts")  # stored before 0019, or on the local folder: none
    command.downgrade(cfg, PREVIOUS)
    assert "version_id" not in _columns(vault)
    with vault.engine.connect() as conn:
        keys = sorted(conn.execute(text("SELECT storage_key FROM recordings")).scalars())
    assert keys == ["hol/a.ts", "hol/b.ts"]  # every row kept
    with pytest.raises((IntegrityError, DBAPIError)):
        _recording(vault, "hol/c.ts", state="no_such_state")  # 0016's CHECK still stands
    upgrade(vault.engine)
    assert "version_id" in _columns(vault)
    _recording(vault, "hol/d.ts", version_id="v-d")
    with vault.engine.connect() as conn:
        got = dict(conn.execute(text("SELECT storage_key, version_id FROM recordings")).all())
    assert got == {"hol/a.ts": None, "hol/b.ts": None, "hol/d.ts": "v-d"}
