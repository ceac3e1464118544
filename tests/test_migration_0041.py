"""Migration 0041 (issue 53) up and down on SQLite and PostgreSQL: report.failed (serve's
monthly accountability report could not be made) joins the CHECK constraint; the downgrade
refuses (changing nothing) while alert rows hold it, and otherwise takes the kind away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0040"
T = "2026-12-01 15:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def test_0041_adds_the_report_alert_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, "report.failed")
    with pytest.raises(Exception, match=r"report\.failed"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.connect() as conn:  # refused: the row and the kind stay
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 1
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "report.failed")
    _alert(vault, "config.reload_failed")  # 0040's kinds stay
    upgrade(vault.engine)
    _alert(vault, "report.failed")
