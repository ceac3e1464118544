"""Migration 0035 (issue 34 item 2) up and down on SQLite and PostgreSQL: the table of what a
camera added over ONVIF says of itself, with its serial number unique; the downgrade drops it
and leaves the cameras themselves (recorded by URL), the upgrade brings it back empty."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

T = "2026-11-25 08:00:00"


def _tables(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _source(vault: Vault, sid: int) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, retention, enabled, "
                          "max_duration_s, settings, created_at) VALUES (:i, :n, 'camera', "
                          "NULL, true, 10, '{}', :t)"), {"i": sid, "n": f"kamera-{sid}", "t": T})


def _device(vault: Vault, sid: int, serial: str | None) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO camera_devices (source_id, onvif_address, make, model, "
                          "serial, record_profile, read_at) VALUES (:i, 'http://10.0.0.5/onvif/"
                          "device_service', 'Axis', 'P3245', :s, 'main', :t)"),
                     {"i": sid, "s": serial, "t": T})


def test_0035_adds_camera_devices_with_unique_serials_and_goes_back(vault: Vault) -> None:
    assert "camera_devices" in _tables(vault)
    for sid in (1, 2, 3, 4):
        _source(vault, sid)
    _device(vault, 1, "ACCC8E000001")
    with pytest.raises(IntegrityError):
        _device(vault, 2, "ACCC8E000001")  # the same device twice
    _device(vault, 3, None)
    _device(vault, 4, None)  # cameras that give no serial do not collide
    command.downgrade(alembic_config(vault.engine), "0034")
    assert "camera_devices" not in _tables(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sources")).scalar_one() == 4
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM camera_devices")).scalar_one() == 0
