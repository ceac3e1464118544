"""Migration 0038 (issue 35) up and down on SQLite and PostgreSQL: the alert of a call recorded
by Kustosz that cannot be stored (phone.not_stored) added to the CHECK constraint; the
downgrade refuses (changing nothing) while alert rows of it exist, and otherwise takes it
away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0037"
T = "2026-11-25 15:00:00"
NEW = ("phone.not_stored",)


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def test_0038_adds_the_not_stored_alert_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    for kind in NEW:
        _alert(vault, kind)
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "phone.no_such_kind")
    with pytest.raises(Exception, match=r"phone\.not_stored"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.connect() as conn:  # refused: the rows and the constraint stay
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 1
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    for kind in NEW:
        with pytest.raises((IntegrityError, DBAPIError)):
            _alert(vault, kind)
    _alert(vault, "phone.loss")  # 0037's kinds stay
    upgrade(vault.engine)
    for kind in NEW:
        _alert(vault, kind)
