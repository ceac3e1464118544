"""Migration 0011 (issue 11): lock-out columns give way to throttling, a TOTP step is kept,
API tokens keep why they ended — up and down, on SQLite and PostgreSQL, rows kept."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault


def _columns(vault: Vault, table: str) -> set[str]:
    with vault.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def test_0011_up_and_down_keeps_accounts_and_tokens(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, "0010")
    assert "failed_logins" in _columns(vault, "access_accounts")
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, name, display_name, roles, active, "
                          "created_at) VALUES (1, 'ania', 'Ania', '[\"viewer\"]', :t, :at)"),
                     {"t": True, "at": "2026-11-20 10:00:00+00:00"})
        conn.execute(text("INSERT INTO access_accounts (user_id, failed_logins, one_time, "
                          "directory, totp_secret) VALUES (1, 4, :f, :f, 'ABCDEFGHIJKLMNOP')"),
                     {"f": False})
        conn.execute(text("INSERT INTO access_api_tokens (id, user_id, name, token_hash, "
                          "scopes, created_by, created_at) VALUES (1, 1, 'skrypt', :h, "
                          "'[\"read\"]', 'ania', :at)"),
                     {"h": "a" * 64, "at": "2026-11-20 10:00:00+00:00"})
    upgrade(vault.engine)
    assert {"totp_last_step"} <= _columns(vault, "access_accounts")
    assert not {"failed_logins", "locked_until"} & _columns(vault, "access_accounts")
    assert {"revoke_reason", "last_used_at"} <= _columns(vault, "access_api_tokens")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT totp_secret FROM access_accounts")).scalar_one() == \
            "ABCDEFGHIJKLMNOP"
        assert conn.execute(text("SELECT name FROM access_api_tokens")).scalar_one() == "skrypt"
        assert conn.execute(text("SELECT count(*) FROM access_login_throttle")).scalar_one() == 0
    command.downgrade(cfg, "0010")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT failed_logins FROM access_accounts")).scalar_one() == 0
        assert conn.execute(text("SELECT name FROM access_api_tokens")).scalar_one() == "skrypt"
    assert "access_login_throttle" not in inspect(vault.engine).get_table_names()
    upgrade(vault.engine)
