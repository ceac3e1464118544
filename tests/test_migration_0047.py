"""Migration 0047 (issue 64 item 2) up and down on SQLite and PostgreSQL:
access_web_sessions.end_reason, why a browser session ended, is added (rows from before keep
NULL, never made up) and dropped again; a session written between keeps its other columns
through the downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0046"
T = "2026-12-08 10:00:00"
ROW = ("INSERT INTO access_web_sessions (id, user_id, csrf, client, created_at, last_seen_at, "
       "expires_at, ended_at{col}) VALUES (:id, :uid, 'c', '127.0.0.1', :t, :t, :t, :t{val})")


def _user(vault: Vault) -> int:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, display_name, roles, active, created_at) "
                          "VALUES ('józef', 'Józef Żółć 🎥', '[\"viewer\"]', true, :t)"),
                     {"t": T})
        return int(conn.execute(text("SELECT id FROM users WHERE name = 'józef'"))
                   .scalar_one())


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("access_web_sessions")}


def _insert(vault: Vault, sid: str, uid: int, reason: str | None = None) -> None:
    col, val = (", end_reason", ", :r") if reason is not None else ("", "")
    with vault.engine.begin() as conn:
        conn.execute(text(ROW.format(col=col, val=val)),
                     {"id": sid, "uid": uid, "t": T, "r": reason})


def test_0047_keeps_why_a_session_ended_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    uid = _user(vault)
    assert "end_reason" in _columns(vault)
    _insert(vault, "a" * 64, uid, "password reset — Żółć 🎥")
    command.downgrade(cfg, PREVIOUS)
    assert "end_reason" not in _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT id, user_id FROM access_web_sessions")).all() == [
            ("a" * 64, uid)]
    with pytest.raises(DBAPIError):
        _insert(vault, "b" * 64, uid, "signed out")
    upgrade(vault.engine)
    _insert(vault, "c" * 64, uid)
    _insert(vault, "d" * 64, uid, "roles changed")
    with vault.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, end_reason FROM access_web_sessions ORDER BY id")
                            ).all()
    assert rows == [("a" * 64, None), ("c" * 64, None), ("d" * 64, "roles changed")]
