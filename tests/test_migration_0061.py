"""Migration 0061 up and down on SQLite and PostgreSQL: camera_recorder_status.pictures_cut,
what a camera's probe found of its pictures (issue 65, kept for the next node or run), is
added (rows from before keep NULL: the next session asks) and dropped again; the rows keep
their state and codec through the downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.db.models import Source
from kustosz.ingest.camera import health
from kustosz.vault import Vault
from tests.custody.custody_helpers import setup_camera

PREVIOUS = "0060"


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("camera_recorder_status")}


def test_0061_keeps_what_the_probe_found_and_goes_back(vault: Vault) -> None:
    setup_camera(vault, "cam-hol")
    with vault.reading() as s:
        source_id = s.execute(select(Source.id).where(Source.name == "cam-hol")).scalar_one()
    health.set_status(vault, source_id, "recording", "recording h264", codec="h264")
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT pictures_cut FROM camera_recorder_status")
                            ).scalar_one() is None
    health.remember_pictures(vault, source_id, True)
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "pictures_cut" not in _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT state, codec FROM camera_recorder_status")).all() == [
            ("recording", "h264")]
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT codec, pictures_cut FROM camera_recorder_status")
                            ).all() == [("h264", None)]
