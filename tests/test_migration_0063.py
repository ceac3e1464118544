"""Migration 0063 (issue 68 item 3) up and down on SQLite and PostgreSQL: index_repeated_keys
(one storage key under two rows of the index, found by the store check) joins the CHECK
constraint; the downgrade refuses (changing nothing) while alert rows hold it, naming it, and
otherwise takes it away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0062"
T = "2026-11-30 13:00:00"
NEW = "index_repeated_keys"


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def _count(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM alerts")).scalar_one())


def test_0063_adds_the_alert_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _alert(vault, NEW)
    with pytest.raises(Exception, match=r"index_repeated_keys"):
        command.downgrade(cfg, PREVIOUS)
    assert _count(vault) == 1  # refused: the row and the kind stay
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, NEW)
    _alert(vault, "camera_codec_changed")  # 0050's kinds stay
    upgrade(vault.engine)
    _alert(vault, NEW)
    assert _count(vault) == 2
