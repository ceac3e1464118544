"""Migration 0039 (issue 47) up and down on SQLite and PostgreSQL: input.refused joins the
CHECK constraint and input_refusals is made; the downgrade refuses (changing nothing) while
alert rows of it exist, and otherwise drops the table and takes the kind away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0038"
T = "2026-11-26 15:00:00"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def test_0039_adds_the_refusal_alert_and_table_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, "input.refused")
    with pytest.raises(Exception, match=r"input\.refused"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.connect() as conn:  # refused: the rows, the table and the kind stay
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 1
        assert "input_refusals" in inspect(conn).get_table_names()
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    with vault.engine.connect() as conn:
        assert "input_refusals" not in inspect(conn).get_table_names()
    for kind in ("input.refused", "serve.unclean_stop"):
        with pytest.raises((IntegrityError, DBAPIError)):
            _alert(vault, kind)
    _alert(vault, "phone.not_stored")  # 0038's kinds stay
    upgrade(vault.engine)
    _alert(vault, "input.refused")
    _alert(vault, "serve.unclean_stop")
    with vault.engine.connect() as conn:
        assert "input_refusals" in inspect(conn).get_table_names()
