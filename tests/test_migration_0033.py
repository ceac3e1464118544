"""Migrations 0033 and 0034 (issue 30 leftovers 1, 8, 9) up and down on SQLite and
PostgreSQL: a request keeps the "no data" answer and the delivery choice, a handover how its
medium was destroyed. Rows from before get NULLs and keep everything else through the
upgrade, the downgrade and the upgrade again; the downgrade drops only the new columns."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

REQUEST_COLUMNS = {"no_data_on", "no_data_by", "delivery"}


def _columns(vault: Vault, table: str) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns(table)}


def _request(conn, now: datetime) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO custody_requests (id, kind, material, requester, received_on, event_date, "
            "sources, start_at, end_at, items, purpose, status, late, registered_by, "
            "registered_at) VALUES (7, 'data_subject', 'calls', 'Anna Łęcka', :d, :d, '[]', :t, "
            ":t, '[]', '', 'approved', false, 'test', :t)"
        ),
        {"d": date(2026, 11, 2), "t": now},
    )


def test_0033_and_0034_up_and_down(vault: Vault) -> None:
    now = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert _columns(vault, "custody_requests") >= REQUEST_COLUMNS
    assert "medium_destroyed" in _columns(vault, "custody_handovers")

    command.downgrade(alembic_config(vault.engine), "0033")
    assert "medium_destroyed" not in _columns(vault, "custody_handovers")
    assert _columns(vault, "custody_requests") >= REQUEST_COLUMNS
    command.downgrade(alembic_config(vault.engine), "0032")
    assert not REQUEST_COLUMNS & _columns(vault, "custody_requests")
    with vault.engine.begin() as conn:
        _request(conn, now)
    upgrade(vault.engine)
    assert _columns(vault, "custody_requests") >= REQUEST_COLUMNS
    assert "medium_destroyed" in _columns(vault, "custody_handovers")
    with vault.engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT requester, no_data_on, no_data_by, delivery FROM "
                "custody_requests WHERE id = 7"
            )
        ).one()
        assert tuple(row) == ("Anna Łęcka", None, None, None)
        conn.execute(
            text(
                "UPDATE custody_requests SET no_data_on = :d, no_data_by = 'it', "
                "delivery = 'post' WHERE id = 7"
            ),
            {"d": date(2026, 11, 20)},
        )
    command.downgrade(alembic_config(vault.engine), "0032")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT requester, status FROM custody_requests")).one() == (
            "Anna Łęcka",
            "approved",
        )
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        assert tuple(
            conn.execute(text("SELECT no_data_on, delivery FROM custody_requests")).one()
        ) == (None, None)
