"""Migration 0028 (issue 28 item 5) up and down on SQLite and PostgreSQL: the alert kind
retention_disagrees added to the CHECK constraint; the downgrade takes it away, and refuses
(changing nothing) while alert rows of that kind exist."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0027"
T = "2026-11-24 10:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message, cleared_at) "
                          "VALUES (:t, :k, 'x', :t)"), {"t": T, "k": kind})


def _kinds(vault: Vault) -> list[str]:
    with vault.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT kind FROM alerts")).scalars())


def test_0028_adds_the_retention_alert_kind_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, "retention_disagrees")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")  # the constraint still stands for everything else
    with pytest.raises(Exception, match="retention_disagrees"):
        command.downgrade(cfg, PREVIOUS)
    assert _kinds(vault) == ["retention_disagrees"]  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    _alert(vault, "storage_missing_versions")  # 0027's kinds stay
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "retention_disagrees")
    upgrade(vault.engine)
    _alert(vault, "retention_disagrees")
    assert _kinds(vault) == ["retention_disagrees", "storage_missing_versions"]
