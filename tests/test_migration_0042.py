"""Migration 0042 (issue 53) up and down on SQLite and PostgreSQL: deletions.entries, the
messages or events a deleted chunk held, is added (rows from before keep NULL) and dropped
again; a row written between keeps its other columns through the downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0041"
ROW = ("INSERT INTO deletions (sweep_id, recording_id, source_id, start_at, end_at, size, "
       "sha256, rule, deleted_at{col}) VALUES (1, :rid, :src, '2026-11-02 10:00:00', "
       "'2026-11-02 11:00:00', 10, NULL, 'retention 30 days', '2026-12-02 10:00:00'{val})")


def _source(vault: Vault) -> int:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, kind, enabled, created_at, "
                          "max_duration_s, settings) VALUES ('dziennik', 'mailbox', true, "
                          "'2026-11-01 00:00:00', 0, '{}')"))
        return int(conn.execute(text("SELECT id FROM sources WHERE name = 'dziennik'"))
                   .scalar_one())


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("deletions")}


def test_0042_adds_the_entries_of_a_deleted_chunk_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    src = _source(vault)
    assert "entries" in _columns(vault)
    with vault.engine.begin() as conn:
        conn.execute(text(ROW.format(col=", entries", val=", 50")), {"rid": 1, "src": src})
    command.downgrade(cfg, PREVIOUS)
    assert "entries" not in _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT recording_id, size FROM deletions")).all() == [(1, 10)]
    with pytest.raises(DBAPIError), vault.engine.begin() as conn:
        conn.execute(text(ROW.format(col=", entries", val=", 3")), {"rid": 2, "src": src})
    upgrade(vault.engine)
    with vault.engine.begin() as conn:
        conn.execute(text(ROW.format(col="", val="")), {"rid": 3, "src": src})
        conn.execute(text(ROW.format(col=", entries", val=", 7")), {"rid": 4, "src": src})
        rows = conn.execute(text("SELECT recording_id, entries FROM deletions ORDER BY "
                                 "recording_id")).all()
    assert rows == [(1, None), (3, None), (4, 7)]  # before the column: NULL, never made up
