"""Migration 0022 (issue 17 item 1) up and down on SQLite and PostgreSQL: a data subject's
request gains the columns of its extended deadline (art. 12 ust. 3 RODO); the downgrade drops
them, and refuses (changing nothing) while an extension is recorded."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0021"
COLUMNS = {"extended_on", "extension_reason", "extended_by"}


def _columns(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("custody_requests")}


def _request(vault: Vault, extended: bool) -> None:
    extra = ", extended_on, extension_reason, extended_by" if extended else ""
    values = ", '2026-11-20', 'liczba żądań', 'iod'" if extended else ""
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO custody_requests (kind, material, requester, received_on, event_date, "
            "sources, start_at, end_at, items, purpose, status, late, registered_by, "
            f"registered_at{extra}) VALUES ('data_subject', 'video', 'Jan', '2026-11-19', "
            "'2026-11-18', '[]', '2026-11-18 10:00:00', '2026-11-18 11:00:00', '[]', 'dostęp', "
            f"'registered', false, 'test', '2026-11-19 10:00:00'{values})"))


def test_0022_adds_the_extension_columns_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    assert _columns(vault) >= COLUMNS
    _request(vault, extended=True)
    with pytest.raises(Exception, match="extended deadline"):
        command.downgrade(cfg, PREVIOUS)
    assert _columns(vault) >= COLUMNS  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE custody_requests SET extended_on = NULL, "
                          "extension_reason = NULL, extended_by = NULL"))
    command.downgrade(cfg, PREVIOUS)
    assert not COLUMNS & _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT requester FROM custody_requests")).scalar_one() == "Jan"
    _request(vault, extended=False)  # the older schema takes requests as before
    upgrade(vault.engine)
    assert _columns(vault) >= COLUMNS
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custody_requests")).scalar_one() == 2
