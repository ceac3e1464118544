"""Migration 0029 (issue 28 item 9) up and down on SQLite and PostgreSQL: the table of
one-time unlock links appears, takes a link (its digest unique), and goes away again."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0028"
T = "2026-11-24 10:00:00"


def _link(vault: Vault, digest: str) -> None:
    with vault.engine.begin() as conn:
        user_id = conn.execute(text("SELECT min(id) FROM users")).scalar_one()
        conn.execute(text(
            "INSERT INTO access_login_unlocks (digest, user_id, issued_by, issued_at, "
            "expires_at, failures) VALUES (:d, :u, 'admin', :t, :t, 0)"),
            {"d": digest, "u": user_id, "t": T})


def test_0029_adds_the_unlock_links_and_goes_back(vault: Vault) -> None:
    from kustosz.access.users import add_user

    with vault.transaction() as s:
        add_user(s, "ania", "Ania", ["viewer"], "test")
    _link(vault, "a" * 64)
    with pytest.raises(IntegrityError):
        _link(vault, "a" * 64)  # a digest once
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "access_login_unlocks" not in inspect(vault.engine).get_table_names()
    upgrade(vault.engine)
    assert "access_login_unlocks" in inspect(vault.engine).get_table_names()
    _link(vault, "b" * 64)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT digest FROM access_login_unlocks")).scalars().all() \
            == ["b" * 64]
