"""Migration 0050 (issue 64) up and down on SQLite and PostgreSQL: phone.capture_away (the
capture process away past its bound) and camera_codec_changed (a camera's stream changed its
codec) join the CHECK constraint; the downgrade refuses (changing nothing) while alert rows
hold either, naming them, and otherwise takes both away."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0048"
T = "2026-11-29 15:00:00"
NEW = ("phone.capture_away", "camera_codec_changed")


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def _count(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM alerts")).scalar_one())


def test_0050_adds_the_two_alerts_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    for kind in NEW:
        _alert(vault, kind)
    with pytest.raises(Exception, match=r"camera_codec_changed.*phone\.capture_away"):
        command.downgrade(cfg, PREVIOUS)
    assert _count(vault) == 2  # refused: the rows and the kinds stay
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts WHERE kind = 'camera_codec_changed'"))
    with pytest.raises(Exception, match=r"phone\.capture_away"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    for kind in NEW:
        with pytest.raises((IntegrityError, DBAPIError)):
            _alert(vault, kind)
    _alert(vault, "report.failed")  # 0041's kinds stay
    upgrade(vault.engine)
    for kind in NEW:
        _alert(vault, kind)
    assert _count(vault) == 3
