"""Migration 0052 (issue 65 item 3 and its smaller findings) up and down on SQLite and
PostgreSQL: alerts get `message_en` and `detail` (rows from before keep NULL: a page shows
their Polish as written), and `alarm_devices` holds the browsers that asked for alarm
notifications; down, both go, the alert rows keep their Polish message; up again, nothing
is lost twice."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0050"
T = "2026-12-10 10:00:00"
POLISH = "Odrzucono dane od urządzenia „Józef Żółć 🎥”: powód."


def _columns(vault: Vault, table: str) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns(table)}


def _alert(vault: Vault, extra: bool) -> None:
    cols, vals = (", message_en, detail", ", :en, :d") if extra else ("", "")
    with vault.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO alerts (raised_at, kind, message{cols}) VALUES "
                          f"(:t, 'input.refused', :m{vals})"),
                     {"t": T, "m": POLISH, "en": "Refused.", "d": "403: not on any list"})


def _user(vault: Vault) -> int:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, display_name, roles, active, created_at) "
                          "VALUES ('jozef', 'Józef Żółć', '[\"operator\"]', true, :t)"),
                     {"t": T})
        return int(conn.execute(text("SELECT id FROM users WHERE name = 'jozef'"))
                   .scalar_one())


def _device(vault: Vault, uid: int) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO alarm_devices (user_id, endpoint, endpoint_hash, p256dh, auth, lang, "
            "session_id, created_at, confirmed_at) VALUES (:u, 'https://fcm.googleapis.com/x',"
            " :h, 'BP4', 'au', 'pl', NULL, :t, :t)"), {"u": uid, "h": "e" * 64, "t": T})


def test_0052_words_per_language_and_devices_up_and_down(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    assert {"message_en", "detail"} <= _columns(vault, "alerts")
    _alert(vault, extra=True)
    uid = _user(vault)
    _device(vault, uid)
    with pytest.raises(DBAPIError):  # one endpoint, one device
        _device(vault, uid)
    command.downgrade(cfg, PREVIOUS)
    assert not {"message_en", "detail"} & _columns(vault, "alerts")
    assert "alarm_devices" not in inspect(vault.engine).get_table_names()
    _alert(vault, extra=False)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT message FROM alerts")).scalars().all() == [
            POLISH, POLISH]
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        rows = conn.execute(text("SELECT message, message_en, detail FROM alerts ORDER BY id")
                            ).all()
    assert rows == [(POLISH, None, None), (POLISH, None, None)]
    _device(vault, uid)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alarm_devices")).scalar_one() == 1
