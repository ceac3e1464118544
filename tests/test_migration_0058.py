"""Migration 0058 (issue 68 item 1) up and down on SQLite and PostgreSQL:
recordings.file_stamp, what a stored file was when its content was last proven, is added
(rows from before keep NULL: their first playback hashes them) and dropped again; the
recordings keep their other columns through the downgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault
from tests.custody.custody_helpers import record, setup_camera

PREVIOUS = "0056"
STAMP = "2049:1234:5600000:1764403200000000000:1764403200000000001"


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("recordings")}


def test_0058_keeps_a_files_stamp_and_goes_back(vault: Vault, tmp_path: Path) -> None:
    setup_camera(vault, "cam-hol")
    [rec] = record(vault, "cam-hol", datetime(2026, 11, 29, 8, tzinfo=UTC), 1, tmp_path)
    assert "file_stamp" in _columns(vault)
    with vault.engine.begin() as conn:
        assert conn.execute(text("SELECT file_stamp FROM recordings")).scalar_one() is None
        conn.execute(text("UPDATE recordings SET file_stamp = :s"), {"s": STAMP})
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "file_stamp" not in _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT id, sha256 FROM recordings")).all() == [
            (rec.id, rec.sha256)]
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT id, file_stamp FROM recordings")).all() == [
            (rec.id, None)]
