"""Migration 0030 (issue 27 item 7 c) up and down on SQLite and PostgreSQL: the moves a clock
jump made (`clock_rebased`, removed with their recording) and the jump a correction corrects
(`clock_jumps.corrects_id`); the downgrade takes both away, and an upgrade again finds the
rows of the other tables as they were."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.dependents import drop_dependents, partitioned
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.index.sources import add_source
from kustosz.vault import Vault

PREVIOUS = "0029"
T = "2026-11-24 10:00:00"


def _columns(vault: Vault, table: str) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns(table)}


def _tables(vault: Vault) -> set[str]:
    return set(inspect(vault.engine).get_table_names())


def test_0030_keeps_the_moves_of_a_jump_and_goes_back(vault: Vault) -> None:
    with vault.transaction() as s:
        add_source(s, vault.policy, "hall", "camera", "test")
    with vault.engine.begin() as conn:
        source = conn.execute(text("SELECT id FROM sources")).scalar_one()
        conn.execute(text(
            "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, "
            "meta, state, ingested_at) VALUES (:s, 'camera', :t, :t, 1, 'a.ts', '{}', "
            "'stored', :t)"), {"s": source, "t": T})
        rid = conn.execute(text("SELECT id FROM recordings")).scalar_one()
        conn.execute(text("INSERT INTO clock_jumps (detected_at, clock, delta_s, rebased) "
                          "VALUES (:t, 'server', 100.0, 1)"), {"t": T})
        conn.execute(text("INSERT INTO clock_jumps (detected_at, clock, delta_s, rebased, "
                          "corrects_id) VALUES (:t, 'server', -100.0, 0, 1)"), {"t": T})
        conn.execute(text("INSERT INTO clock_rebased (jump_id, recording_id, "
                          "retain_from_after) VALUES (1, :r, :t)"), {"r": rid, "t": T})
    with vault.engine.connect() as conn:
        by_key = not partitioned(conn)
    if by_key:  # on a partitioned index (0062) no key refers to a recording: drop_dependents
        with pytest.raises((IntegrityError, DBAPIError)), vault.engine.begin() as conn:
            conn.execute(text("INSERT INTO clock_rebased (jump_id, recording_id) "
                              "VALUES (1, :r)"), {"r": rid + 100})  # no such recording
    with vault.engine.begin() as conn:  # the moves go with their recording
        drop_dependents(conn, [rid])  # what every path that removes rows does
        conn.execute(text("DELETE FROM recordings"))
        assert conn.execute(text("SELECT count(*) FROM clock_rebased")).scalar_one() == 0

    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "clock_rebased" not in _tables(vault)
    assert "corrects_id" not in _columns(vault, "clock_jumps")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT delta_s FROM clock_jumps ORDER BY id")
                            ).scalars().all() == [100.0, -100.0]
    upgrade(vault.engine)
    assert "clock_rebased" in _tables(vault)
    with vault.engine.connect() as conn:  # a column added afresh: nothing corrected yet
        assert conn.execute(text("SELECT corrects_id FROM clock_jumps ORDER BY id")
                            ).scalars().all() == [None, None]
