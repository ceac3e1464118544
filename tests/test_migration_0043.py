"""Migration 0043 (issue 53) up and down on SQLite and PostgreSQL: alert_deliveries, who was
told of each alert, is created (its outcome checked), dropped with what it held, and made
again empty; the alert rows it pointed at stay through the downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0042"
ROW = ("INSERT INTO alert_deliveries (alert_ids, event, channel, channel_kind, recipients, "
       "sent_at, outcome, reason, from_memory) VALUES (:ids, 'start', 'email', 'email', "
       "'iod@um.example.pl', '2026-11-02 10:00:00', :outcome, :reason, false)")


def _alert(vault: Vault) -> int:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES "
                          "('2026-11-02 09:50:00', 'sweep_failed', 'Usuwanie nie działa.')"))
        return int(conn.execute(text("SELECT max(id) FROM alerts")).scalar_one())


def _tables(vault: Vault) -> set[str]:
    return set(inspect(vault.engine).get_table_names())


def test_0043_records_who_was_told_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    alert = _alert(vault)
    assert "alert_deliveries" in _tables(vault)
    with vault.engine.begin() as conn:
        conn.execute(text(ROW), {"ids": f"[{alert}]", "outcome": "sent", "reason": None})
        conn.execute(text(ROW), {"ids": f"[{alert}]", "outcome": "failed",
                                 "reason": "unreachable"})
    with pytest.raises(DBAPIError), vault.engine.begin() as conn:
        conn.execute(text(ROW), {"ids": "[]", "outcome": "maybe", "reason": None})
    command.downgrade(cfg, PREVIOUS)
    assert "alert_deliveries" not in _tables(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM alerts")).scalars().all() == [alert]
    upgrade(vault.engine)
    with vault.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_deliveries")).scalar_one() == 0
        conn.execute(text(ROW), {"ids": f"[{alert}]", "outcome": "sent", "reason": None})
        rows = conn.execute(text("SELECT channel, recipients, outcome FROM alert_deliveries"))
        assert rows.all() == [("email", "iod@um.example.pl", "sent")]
