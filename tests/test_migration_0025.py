"""Migration 0025 (issue 27 item 4) up and down on SQLite and PostgreSQL: the alert kind
database_unreachable added to the CHECK constraint; the downgrade takes it away, and refuses
(changing nothing) while alert rows of that kind exist."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0024"
T = "2026-11-24 10:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message, cleared_at) "
                          "VALUES (:t, :k, 'x', :t)"), {"t": T, "k": kind})


def _kinds(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT kind FROM alerts")).scalars())


def test_0025_adds_the_database_alert_kind_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, "database_unreachable")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")  # the constraint still stands for everything else
    with pytest.raises(Exception, match="database_unreachable"):
        command.downgrade(cfg, PREVIOUS)
    assert _kinds(vault) == ["database_unreachable"]  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    _alert(vault, "storage_unreachable")  # 0021's kinds stay
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "database_unreachable")
    upgrade(vault.engine)
    _alert(vault, "database_unreachable")
    assert _kinds(vault) == ["database_unreachable", "storage_unreachable"]
