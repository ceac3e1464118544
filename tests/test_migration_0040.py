"""Migration 0040 (issue 50 item 8) up and down on SQLite and PostgreSQL: config.reload_failed
(a changed kustosz.toml that serve's reload refused) joins the CHECK constraint; the downgrade
refuses (changing nothing) while alert rows hold it, and otherwise takes the kind away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0039"
T = "2026-12-01 15:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def test_0040_adds_the_reload_alert_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, "config.reload_failed")
    with pytest.raises(Exception, match=r"config\.reload_failed"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.connect() as conn:  # refused: the row and the kind stay
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 1
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "config.reload_failed")
    _alert(vault, "serve.unclean_stop")  # 0039's kinds stay
    upgrade(vault.engine)
    _alert(vault, "config.reload_failed")
