"""Migration 0046 (issue 64 item 4) up and down on SQLite and PostgreSQL: input_refusals is keyed
by (device, reason) — a class of forgeable senders has a row per reason — and keeps the
interval's address count, sample and last address. The downgrade refuses, changing nothing,
while a device holds rows for several reasons; once it holds one, it goes back to one row per
device with the counts kept, and up again."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0044"
T = "2026-12-06 10:00:00"
ROW = ("INSERT INTO input_refusals (id, device, source_id, count, first_at, last_at, "
       "last_reason, alert_id, alert_count{extra}) VALUES (:id, :d, NULL, :n, :t, :t, "
       "'powód', NULL, 1{values})")


def _row(vault: Vault, rid: int, device: str, n: int, reason: str | None = None) -> None:
    extra, values = (", reason", ", :r") if reason is not None else ("", "")
    with vault.engine.begin() as conn:
        conn.execute(text(ROW.format(extra=extra, values=values)),
                     {"id": rid, "d": device, "n": n, "t": T, "r": reason})


def _rows(vault: Vault) -> list[tuple[object, ...]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, device, count, last_reason FROM input_refusals ORDER BY id"))]


def test_0046_keys_refusals_by_device_and_reason_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _row(vault, 1, "kamera hol", 3)  # a known device's row: reason "" by default
    _row(vault, 2, "nadawca SIP spoza list linii SIPREC", 5000, "adres spoza list")
    _row(vault, 3, "nadawca SIP spoza list linii SIPREC", 7, "nieczytelna wiadomość SIP")
    with pytest.raises(DBAPIError), vault.engine.begin() as conn:  # one row per key
        conn.execute(text(ROW.format(extra=", reason", values=", :r")),
                     {"id": 4, "d": "kamera hol", "n": 1, "t": T, "r": ""})
    with vault.engine.connect() as conn:
        reason, addresses, sample, last = conn.execute(text(
            "SELECT reason, addresses, sample, last_address FROM input_refusals WHERE id = 1")
        ).one()
    assert (reason, addresses, last) == ("", 0, None)
    assert (json.loads(sample) if isinstance(sample, str) else sample) == []
    before = _rows(vault)
    with pytest.raises(RuntimeError, match=r"several reasons of nadawca SIP spoza list linii "
                                           r"SIPREC.*nothing was changed"):
        command.downgrade(cfg, PREVIOUS)
    assert _rows(vault) == before
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM input_refusals WHERE id = 3"))
    command.downgrade(cfg, PREVIOUS)
    assert _rows(vault) == before[:2]
    with pytest.raises(DBAPIError), vault.engine.begin() as conn:  # one row per device again
        conn.execute(text(ROW.format(extra="", values="")),
                     {"id": 5, "d": "kamera hol", "n": 1, "t": T})
    upgrade(vault.engine)
    assert _rows(vault) == before[:2]
    _row(vault, 3, "nadawca SIP spoza list linii SIPREC", 7, "nieczytelna wiadomość SIP")
    _row(vault, 6, "kamera hol", 1, "inny powód")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM input_refusals")).scalar_one() == 4
