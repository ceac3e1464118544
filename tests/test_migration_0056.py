"""Migration 0056 (issue 66 item 1) up and down on SQLite and PostgreSQL: a camera's one
`purpose` becomes its list `purposes`. The downgrade refuses, changing nothing, while a camera
has another or more than one purpose, or a zone is of a kind the earlier code does not know;
once the vault holds neither, it goes back to one purpose per camera, and up again."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update

from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.db.cameras import Camera
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

DAY = date(2026, 1, 1)


def _versions(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _columns(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        if vault.engine.dialect.name == "sqlite":
            return {r[1] for r in conn.execute(text("PRAGMA table_info(cameras)"))}
        return set(conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cameras' "
            "AND table_schema = current_schema()")).scalars())


def test_0056_keeps_every_purpose_of_a_camera_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    previous = ScriptDirectory.from_config(cfg).get_revision("0056").down_revision
    assert isinstance(previous, str)
    with vault.transaction() as s:
        add_site(s, "Urząd Gminy — Żółć", "test")
        add_zone(s, "Urząd Gminy — Żółć", "korytarz 🚪", "corridor", "test")
        add_zone(s, "Urząd Gminy — Żółć", "brama", "entrance_outside", "test")
        for name, zone in (("k1", "korytarz 🚪"), ("k2", "brama")):
            add_camera(s, vault.policy, CameraSpec(name, "Urząd Gminy — Żółć", zone,
                                                   "rtsp://10.0.0.9/s",
                                                   ("public_order", "property"), DAY, DAY),
                       "test")
    with vault.engine.connect() as conn:
        before = conn.execute(text("SELECT id, purposes FROM cameras ORDER BY id")).all()
    with pytest.raises(RuntimeError, match=r"cameras \d+, \d+ with other or several purposes; "
                                           r"zones of kinds entrance_outside — nothing was"):
        command.downgrade(cfg, previous)
    assert previous not in _versions(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT id, purposes FROM cameras ORDER BY id")).all() == before
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE camera_zones SET kind = 'outdoor' WHERE kind = "
                          "'entrance_outside'"))
        conn.execute(update(Camera).values(purposes=["secrecy"]))
    command.downgrade(cfg, previous)
    assert previous in _versions(vault)
    assert "purpose" in _columns(vault) and "purposes" not in _columns(vault)
    with vault.engine.connect() as conn:
        assert set(conn.execute(text("SELECT purpose FROM cameras")).scalars()) == {"secrecy"}
    upgrade(vault.engine)
    assert "purposes" in _columns(vault) and "purpose" not in _columns(vault)
    with vault.reading() as s:
        assert s.execute(select(Camera.purposes)).scalars().all() == [["secrecy"], ["secrecy"]]
