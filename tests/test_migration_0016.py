"""Migration 0016 (issue 15 item 1) up and down on SQLite and PostgreSQL: the kinds and states
of kustosz.kinds and kustosz.states become CHECK constraints. After it the database itself
refuses a recording in a state the program does not know (insert and update), a source of an
unknown kind, a request of an unknown status; rows written before it keep their values; a vault
holding a value off the lists is not upgraded (the rows are named, nothing changes); the
downgrade takes the constraints away and keeps every row."""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.states import CHECKED, constraint_name
from kustosz.vault import Vault

PREVIOUS = "0015"
T = "2026-11-20 10:00:00+00:00"


def _checks(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        found = inspect(conn)
        return {c["name"] for table in {t for t, _ in CHECKED}
                for c in found.get_check_constraints(table)}


def _versions(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _reached(vault: Vault) -> set[str]:
    """Every revision that has run: the heads in alembic_version and all below them (a later
    migration, 0017 on, takes 0016's place there)."""
    script = ScriptDirectory.from_config(alembic_config(vault.engine))
    return {r.revision for r in script.iterate_revisions(tuple(_versions(vault)), "base")}


def _rows(vault: Vault) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, enabled, created_at, "
                          "max_duration_s, settings) VALUES (1, 'hol', 'camera', :y, :t, 0, "
                          "'{}')"), {"y": True, "t": T})
        conn.execute(text(
            "INSERT INTO recordings (id, source_id, kind, start_at, end_at, size, storage_key, "
            "meta, state, expires_at, ingested_at) VALUES (1, 1, 'camera', :t, :t, 1, "
            "'hol/a.ts', '{}', 'stored', :t, :t)"), {"t": T})
        conn.execute(text(
            "INSERT INTO custody_requests (id, kind, material, requester, received_on, "
            "event_date, sources, start_at, end_at, items, purpose, status, late, "
            "registered_by, registered_at) VALUES (1, 'authority', 'video', 'Policja', "
            "'2026-11-20', '2026-11-20', '[]', :t, :t, '[]', 'cel', 'registered', :f, 'test', "
            ":t)"), {"f": False, "t": T})


def _refused(vault: Vault, sql: str) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=r"(?i)check"), vault.engine.begin() as conn:
        conn.execute(text(sql), {"t": T})


BAD = [
    "UPDATE recordings SET state = 'archived'",
    "UPDATE recordings SET kind = 'drone'",
    "UPDATE sources SET kind = 'drone'",
    "UPDATE custody_requests SET status = 'lost'",
    "UPDATE custody_requests SET material = 'letters'",
    "UPDATE custody_requests SET kind = 'neighbour'",
    "INSERT INTO recordings (source_id, kind, start_at, end_at, size, storage_key, meta, state, "
    "ingested_at) VALUES (1, 'camera', :t, :t, 1, 'hol/b.ts', '{}', 'Stored', :t)",
    "INSERT INTO sweeps (started_at, as_of, mode, deleted) VALUES (:t, :t, 'manual', 0)",
]


def test_0016_makes_the_database_refuse_unknown_states_and_goes_back(vault: Vault) -> None:
    names = {constraint_name(t, c) for t, c in CHECKED}
    assert names <= _checks(vault)  # a new vault has them
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    assert not names & _checks(vault)
    _rows(vault)
    upgrade(vault.engine)
    assert names <= _checks(vault)
    with vault.engine.connect() as conn:  # what was there keeps its values
        assert tuple(conn.execute(text("SELECT kind, state FROM recordings")).one()) == \
            ("camera", "stored")
    for sql in BAD:
        _refused(vault, sql)
    with vault.engine.connect() as conn:  # nothing of the refused statements stayed
        assert conn.execute(text("SELECT count(*) FROM recordings")).scalar_one() == 1
        assert conn.execute(text("SELECT status FROM custody_requests")).scalar_one() == \
            "registered"
    with vault.engine.begin() as conn:  # every known value is accepted
        for state in ("pending", "deleting", "stored"):
            conn.execute(text("UPDATE recordings SET state = :s"), {"s": state})
        for status in ("approved", "refused", "copied"):
            conn.execute(text("UPDATE custody_requests SET status = :s"), {"s": status})
    command.downgrade(cfg, PREVIOUS)
    assert not names & _checks(vault)
    with vault.engine.begin() as conn:  # without the constraints the row takes any value
        conn.execute(text("UPDATE recordings SET state = 'archived'"))
        conn.execute(text("UPDATE recordings SET state = 'stored'"))
        assert conn.execute(text("SELECT storage_key FROM recordings")).scalar_one() == \
            "hol/a.ts"
    upgrade(vault.engine)
    assert names <= _checks(vault)


def test_0016_refuses_a_vault_holding_an_unknown_value_and_changes_nothing(
        vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    _rows(vault)
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE recordings SET state = 'archived'"))
    with pytest.raises(RuntimeError, match=r"recordings\.state = 'archived'"):
        upgrade(vault.engine)
    assert "0016" not in _versions(vault) and PREVIOUS in _versions(vault)
    assert not {constraint_name(t, c) for t, c in CHECKED} & _checks(vault)
    with vault.engine.begin() as conn:
        assert conn.execute(text("SELECT state FROM recordings")).scalar_one() == "archived"
        conn.execute(text("UPDATE recordings SET state = 'stored'"))
    upgrade(vault.engine)
    assert "0016" in _reached(vault)


def test_the_migration_lists_exactly_the_enums_values() -> None:
    """The migration writes its lists out (a migration stays as it ran); today they are the
    enums' values, so the program and the database accept the same states."""
    migration = importlib.import_module("kustosz.db.migrations.versions.0016_checks")
    enums: dict[tuple[str, str], type[StrEnum]] = CHECKED
    # a list a later migration writes anew (0027 adds 'missing' to recordings' states) is
    # compared there: tests/test_migration_0017.py checks each column's newest list
    later: set[tuple[str, str]] = set()
    for path in Path(migration.__file__).parent.glob("0*.py"):
        if path.stem > "0016_checks":
            module = importlib.import_module(f"kustosz.db.migrations.versions.{path.stem}")
            later |= set(getattr(module, "CHECKS", {}))
            later |= set(getattr(module, "DROPPED_CHECKS", ()))  # 0044: capacity
    assert {k: tuple(v) for k, v in migration.CHECKS.items() if k not in later} == \
        {k: tuple(str(m) for m in e) for k, e in enums.items()
         if k in migration.CHECKS and k not in later}
