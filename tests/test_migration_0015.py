"""Migration 0015 (issue 14 item 9) up and down on SQLite and PostgreSQL: recordings gain
`retain_from` (NULL for what was stored before: retention counts from start_at as it did), the
clocks' jumps their table; the downgrade takes both away and keeps the recordings."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0013"


def _schema(vault: Vault) -> tuple[set[str], set[str]]:
    with vault.engine.connect() as conn:
        found = inspect(conn)
        return {c["name"] for c in found.get_columns("recordings")}, set(found.get_table_names())


def test_0015_adds_retain_from_and_clock_jumps_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    columns, tables = _schema(vault)
    assert "retain_from" not in columns and "clock_jumps" not in tables
    t = "2026-11-20 10:00:00"
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, enabled, created_at, "
                          "max_duration_s, settings) VALUES (1, 'hol', 'camera', :y, :t, 0, "
                          "'{}')"), {"y": True, "t": t})
        conn.execute(text(
            "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
            "meta, state, expires_at, ingested_at) VALUES (1, 'camera', :t, :t, 1, 'hol/a.ts', "
            "'{}', 'stored', :t, :t)"), {"t": t})
    upgrade(vault.engine)
    columns, tables = _schema(vault)
    assert "retain_from" in columns and "clock_jumps" in tables
    with vault.engine.begin() as conn:
        assert conn.execute(text("SELECT retain_from FROM recordings")).scalar_one() is None
        conn.execute(text("UPDATE recordings SET retain_from = :t"), {"t": t})
        conn.execute(text("INSERT INTO clock_jumps (detected_at, clock, source_id, delta_s, "
                          "before_at, rebased) VALUES (:t, 'server', NULL, 3456000.0, :t, 1)"),
                     {"t": t})
    command.downgrade(cfg, PREVIOUS)
    columns, tables = _schema(vault)
    assert "retain_from" not in columns and "clock_jumps" not in tables
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT storage_key FROM recordings")).scalar_one() == \
            "hol/a.ts"
    upgrade(vault.engine)
    assert "retain_from" in _schema(vault)[0]
