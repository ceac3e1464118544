"""Migration 0036 (issue 34 items 3-5) up and down on SQLite and PostgreSQL: the tables of
the cameras' own clock readings and of their motion and input intervals, the consent and health
columns of camera_devices, and the alert kinds camera_clock_off, camera_onvif_unreachable,
camera_tamper and camera_video_loss added to the CHECK constraint; the downgrade refuses
(changing nothing) while alert rows of the new kinds exist, and otherwise takes them away, the
ONVIF cameras' facts of 0035 kept."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0035"
T = "2026-11-25 09:00:00"
COLUMNS = {"onvif_ok_at", "onvif_error", "clock_consent_by", "clock_consent_at",
           "clock_setting", "ntp_server"}


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def _state(vault: Vault) -> tuple[set[str], set[str]]:
    with vault.engine.connect() as conn:
        found = inspect(conn)
        return (set(found.get_table_names()),
                {c["name"] for c in found.get_columns("camera_devices")})


def test_0036_adds_clock_readings_consent_and_alert_kinds_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    tables, columns = _state(vault)
    assert {"camera_clock_readings", "camera_marks"} <= tables and columns >= COLUMNS
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, enabled, max_duration_s, "
                          "settings, created_at) VALUES (1, 'hol', 'camera', true, 10, '{}', "
                          ":t)"), {"t": T})
        conn.execute(text("INSERT INTO camera_devices (source_id, onvif_address, make, model, "
                          "serial, record_profile, read_at, clock_setting) VALUES (1, "
                          "'http://10.0.0.5/onvif/device_service', 'Axis', 'P3245', 'S1', "
                          "'main', :t, 'ntp')"), {"t": T})
        conn.execute(text("INSERT INTO camera_clock_readings (source_id, measured_at, "
                          "offset_s, round_trip_s, ntp) VALUES (1, :t, 90.0, 0.01, true)"),
                     {"t": T})
    _alert(vault, "camera_clock_off")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")
    with pytest.raises(Exception, match="camera_clock_off"):
        command.downgrade(cfg, PREVIOUS)
    tables, columns = _state(vault)
    assert "camera_clock_readings" in tables and columns >= COLUMNS  # refused: unchanged
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
    command.downgrade(cfg, PREVIOUS)
    tables, columns = _state(vault)
    assert not {"camera_clock_readings", "camera_marks"} & tables and not COLUMNS & columns
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT serial FROM camera_devices")).scalar_one() == "S1"
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "camera_onvif_unreachable")
    upgrade(vault.engine)
    _alert(vault, "camera_onvif_unreachable")
    _alert(vault, "camera_tamper")
    _alert(vault, "camera_video_loss")
    tables, columns = _state(vault)
    assert {"camera_clock_readings", "camera_marks"} <= tables and columns >= COLUMNS
