"""Migration 0027 (issue 28 item 4) up and down on SQLite and PostgreSQL: the recording state
missing and the alert kind storage_missing_versions added to their CHECK constraints; the
downgrade takes them away, and refuses (changing nothing) while rows hold either."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.index.sources import add_source
from kustosz.vault import Vault

PREVIOUS = "0026"
T = "2026-11-24 10:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message, cleared_at) "
                          "VALUES (:t, :k, 'x', :t)"), {"t": T, "k": kind})


def _recording(vault: Vault, key: str, state: str) -> None:
    with vault.engine.begin() as conn:
        source = conn.execute(text("SELECT id FROM sources")).scalar_one()
        conn.execute(text(
            "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
            "meta, state, ingested_at) VALUES (:s, 'camera', :t, :t, 1, :k, '{}', :st, :t)"),
            {"s": source, "t": T, "k": key, "st": state})


def _states(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT state FROM recordings")).scalars())


def _downgrade(vault: Vault) -> None:
    # later migrations first (each tested on its own), then 0027 itself
    command.downgrade(alembic_config(vault.engine), PREVIOUS)


def test_0027_adds_the_missing_state_and_alert_kind_and_goes_back(vault: Vault) -> None:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    _recording(vault, "a.ts", "missing")
    _alert(vault, "storage_missing_versions")
    with pytest.raises((IntegrityError, DBAPIError)):
        _recording(vault, "b.ts", "no_such_state")  # the constraint stands for the rest
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")
    with pytest.raises(Exception, match="missing"):
        _downgrade(vault)
    assert _states(vault) == ["missing"]  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE recordings SET state = 'stored'"))
    with pytest.raises(Exception, match="storage_missing_versions"):
        _downgrade(vault)
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    _downgrade(vault)
    _alert(vault, "storage_unknown_objects")  # the earlier kinds and states stay
    _recording(vault, "c.ts", "deleting")
    with pytest.raises((IntegrityError, DBAPIError)):
        _recording(vault, "d.ts", "missing")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "storage_missing_versions")
    upgrade(vault.engine)
    _recording(vault, "d.ts", "missing")
    _alert(vault, "storage_missing_versions")
    assert _states(vault) == ["deleting", "missing", "stored"]
