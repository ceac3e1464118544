"""Migration 0017 (issue 15 item 1, after 0016) up and down on SQLite and PostgreSQL: a camera
recorder's state, a phone spool file's outcome, an alert's kind and a viewing session's action
become CHECK constraints. After it the database itself refuses a value the program does not
know (insert and update); rows written before it keep their values; a vault holding a value off
the lists is not upgraded (the rows are named, nothing changes); the downgrade takes the
constraints away and keeps every row."""

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

PREVIOUS = "0016"
T = "2026-11-20 10:00:00+00:00"
MIGRATION = importlib.import_module("kustosz.db.migrations.versions.0017_more_checks")
COLUMNS: list[tuple[str, str]] = list(MIGRATION.CHECKS)
NAMES = {constraint_name(t, c) for t, c in COLUMNS}


def _checks(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        found = inspect(conn)
        return {c["name"] for table in {t for t, _ in COLUMNS}
                for c in found.get_check_constraints(table)}


def _versions(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _reached(vault: Vault) -> set[str]:
    """Every revision that has run (a later migration takes 0017's place as a head)."""
    script = ScriptDirectory.from_config(alembic_config(vault.engine))
    return {r.revision for r in script.iterate_revisions(tuple(_versions(vault)), "base")}


def _rows(vault: Vault) -> None:
    with vault.engine.begin() as conn:
        for n, (name, kind) in enumerate((("hol", "camera"), ("sekretariat", "phone")), 1):
            conn.execute(text(
                "INSERT INTO sources (id, name, kind, enabled, created_at, max_duration_s, "
                "settings) VALUES (:n, :name, :kind, :y, :t, 0, '{}')"),
                {"n": n, "name": name, "kind": kind, "y": True, "t": T})
        conn.execute(text("INSERT INTO camera_recorder_status (source_id, state, since, "
                          "updated_at) VALUES (1, 'recording', :t, :t)"), {"t": T})
        conn.execute(text("INSERT INTO phone_spool_items (id, source_id, item, outcome, size, "
                          "mtime_ns, at) VALUES (1, 2, 'a1', 'stored', 1, 1, :t)"), {"t": T})
        conn.execute(text("INSERT INTO alerts (id, raised_at, kind, source_id, message) "
                          "VALUES (1, :t, 'camera_down', 1, 'Kamera nie nagrywa.')"), {"t": T})
        conn.execute(text("INSERT INTO users (id, name, display_name, roles, active, "
                          "created_at) VALUES (1, 'ola', 'Ola', '[]', :y, :t)"),
                     {"y": True, "t": T})
        conn.execute(text(
            "INSERT INTO access_viewing_sessions (id, token_hash, user_id, user_name, action, "
            "source_id, purpose, client, started_at, last_at, served, bytes_served) VALUES "
            "(1, 'h1', 1, 'ola', 'playback', 1, 'cel', '127.0.0.1', :t, :t, 0, 0)"), {"t": T})


def _refused(vault: Vault, sql: str) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=r"(?i)check"), vault.engine.begin() as conn:
        conn.execute(text(sql), {"t": T})


BAD = [
    "UPDATE camera_recorder_status SET state = 'sleeping'",
    "UPDATE phone_spool_items SET outcome = 'lost'",
    "UPDATE alerts SET kind = 'test'",
    "UPDATE access_viewing_sessions SET action = 'download'",
    "INSERT INTO alerts (raised_at, kind, message) VALUES (:t, 'Camera_Down', 'x')",
    "INSERT INTO phone_spool_items (source_id, item, outcome, size, mtime_ns, at) VALUES "
    "(2, 'a2', 'Stored', 1, 1, :t)",
]


def _values(vault: Vault) -> tuple[str, ...]:
    with vault.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT r.state, p.outcome, a.kind, v.action FROM camera_recorder_status r, "
            "phone_spool_items p, alerts a, access_viewing_sessions v")).one())


def test_0017_makes_the_database_refuse_unknown_values_and_goes_back(vault: Vault) -> None:
    assert _checks(vault) >= NAMES  # a new vault has them
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    assert "0016" in _versions(vault) and "0017" not in _reached(vault)
    assert not NAMES & _checks(vault)
    _rows(vault)
    upgrade(vault.engine)
    assert _checks(vault) >= NAMES
    # what was there keeps its values
    assert _values(vault) == ("recording", "stored", "camera_down", "playback")
    for sql in BAD:
        _refused(vault, sql)
    with vault.engine.connect() as conn:  # nothing of the refused statements stayed
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM phone_spool_items")).scalar_one() == 1
    assert _values(vault) == ("recording", "stored", "camera_down", "playback")
    with vault.engine.begin() as conn:  # every known value is accepted
        for (table, column), values in MIGRATION.CHECKS.items():
            for value in values:
                conn.execute(text(f"UPDATE {table} SET {column} = :v"), {"v": value})
    command.downgrade(cfg, PREVIOUS)
    assert not NAMES & _checks(vault)
    with vault.engine.begin() as conn:  # without the constraints the rows take any value
        for sql in BAD[:4]:
            conn.execute(text(sql))
    assert _values(vault) == ("sleeping", "lost", "test", "download")
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE camera_recorder_status SET state = 'down'"))
        conn.execute(text("UPDATE phone_spool_items SET outcome = 'skipped'"))
        conn.execute(text("UPDATE alerts SET kind = 'clock_jump'"))
        conn.execute(text("UPDATE access_viewing_sessions SET action = 'live'"))
    upgrade(vault.engine)
    assert _checks(vault) >= NAMES
    assert _values(vault) == ("down", "skipped", "clock_jump", "live")


def test_0017_refuses_a_vault_holding_an_unknown_value_and_changes_nothing(
        vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, PREVIOUS)
    _rows(vault)
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE alerts SET kind = 'test'"))
        conn.execute(text("UPDATE camera_recorder_status SET state = 'sleeping'"))
    with pytest.raises(RuntimeError, match=r"camera_recorder_status\.state = 'sleeping'.*"
                                           r"alerts\.kind = 'test'"):
        upgrade(vault.engine)
    assert "0017" not in _reached(vault) and PREVIOUS in _versions(vault)
    assert not NAMES & _checks(vault)
    assert _values(vault) == ("sleeping", "stored", "test", "playback")
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE alerts SET kind = 'camera_down'"))
        conn.execute(text("UPDATE camera_recorder_status SET state = 'recording'"))
    upgrade(vault.engine)
    assert "0017" in _reached(vault)


def test_the_migrations_list_exactly_the_enums_values() -> None:
    """The migrations write their lists out (a migration stays as it ran); today the newest
    list of each column is its enum's values, and every enum of CHECKED has a constraint, so
    the program and the database accept the same values."""
    versions = Path(MIGRATION.__file__).parent
    newest: dict[tuple[str, str], tuple[str, ...]] = {}
    later: set[tuple[str, str]] = set()  # columns a later migration gave a new list
    for path in sorted(versions.glob("0*.py")):  # in revision order
        module = importlib.import_module(f"kustosz.db.migrations.versions.{path.stem}")
        if path.stem > "0017":
            later |= set(getattr(module, "CHECKS", {}))
        newest |= getattr(module, "CHECKS", {})
        for dropped in getattr(module, "DROPPED_CHECKS", ()):  # 0044: capacity is the policy's
            newest.pop(dropped, None)
    assert {k: tuple(v) for k, v in MIGRATION.CHECKS.items() if k not in later} == \
        {k: tuple(str(m) for m in CHECKED[k]) for k in COLUMNS if k not in later}
    enums: dict[tuple[str, str], type[StrEnum]] = CHECKED
    assert newest == {k: tuple(str(m) for m in e) for k, e in enums.items()}
