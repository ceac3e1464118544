"""Migration 0021 (issue 16) up and down on SQLite and PostgreSQL: the object store's alert
kinds added to the CHECK constraint; the downgrade takes them away, and refuses (changing
nothing) while alert rows of the new kinds exist."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0020"
T = "2026-11-23 02:00:00"
NEW = ("storage_unreachable", "spool_over_limit", "storage_unknown_objects")


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def _kinds(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT kind FROM alerts")).scalars())


def test_0021_adds_the_storage_alert_kinds_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    for kind in NEW:
        _alert(vault, kind)
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")  # the constraint still stands for everything else
    with pytest.raises(Exception, match="spool_over_limit"):
        command.downgrade(cfg, PREVIOUS)
    assert _kinds(vault) == sorted(NEW)  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    _alert(vault, "node_missing")  # 0018's kinds stay
    for kind in NEW:
        with pytest.raises((IntegrityError, DBAPIError)):
            _alert(vault, kind)
    upgrade(vault.engine)
    _alert(vault, "storage_unreachable")
    assert _kinds(vault) == ["node_missing", "storage_unreachable"]
