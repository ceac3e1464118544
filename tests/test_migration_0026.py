"""Migration 0026 (issue 28 item 2) up and down on SQLite and PostgreSQL: the review's rows
get the bytes served in order and the media time they hold; a review still awaiting approval
that was counted the old way (position reports alone) must be watched again (its end reset),
an approved one keeps what it recorded; the downgrade drops the two columns and loses nothing
else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, text

from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.index.sources import add_source
from kustosz.vault import Vault

PREVIOUS = "0025"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _columns(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("custody_review_plays")}


def _copies(vault: Vault) -> tuple[int, int]:
    tz = vault.policy.timezone
    with vault.transaction() as s:
        add_source(s, vault.policy, "cam", "camera", "test")
        rid = register_request(s, vault.policy, RequestSpec(
            kind="data_subject", material="video", requester="Jan Nowak",
            received_on=T0.astimezone(tz).date(), event_date=T0.astimezone(tz).date(),
            purpose="art. 15", description="hol", cameras=["cam"], start=T0,
            end=T0 + timedelta(seconds=4), margin_minutes=0), "test").id
        ids = []
        for seq, state in ((1, "awaiting"), (2, "approved")):
            c = Copy(number=f"{seq}/2026", year=2026, seq=seq, request_id=rid, start_at=T0,
                     end_at=T0 + timedelta(seconds=4), sources=[], items=[], files=[],
                     made_by="informatyk", made_at=T0, expires_at=T0 + timedelta(days=30),
                     bundle=f"copies/{seq}", manifest_sha256="0" * 64, state="kept",
                     review_state=state)
            s.add(c)
            s.flush()
            ids.append(c.id)
        return ids[0], ids[1]


def _plays(vault: Vault) -> dict[int, tuple[float, bool]]:
    with vault.engine.connect() as conn:
        return {r[0]: (float(r[1]), r[2] is not None) for r in conn.execute(text(
            "SELECT copy_id, watched_s, ended_at FROM custody_review_plays"))}


def test_0026_adds_the_served_bytes_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    assert {"served_bytes", "served_s"} <= _columns(vault)
    awaiting, approved = _copies(vault)
    command.downgrade(cfg, PREVIOUS)
    assert not {"served_bytes", "served_s"} & _columns(vault)
    with vault.engine.begin() as conn:
        for copy_id in (awaiting, approved):
            conn.execute(text(
                "INSERT INTO custody_review_plays (copy_id, user_name, path, watched_s, "
                "furthest_s, skipped, ended_at, updated_at) VALUES (:c, 'kustosz2', "
                "'media/cam.mp4', 4.0, 4.0, false, :t, :t)"),
                {"c": copy_id, "t": T0.replace(tzinfo=None)})
    upgrade(vault.engine)
    assert {"served_bytes", "served_s"} <= _columns(vault)
    # Counted the old way and still awaiting: to be watched again; approved: as it was.
    assert _plays(vault) == {awaiting: (0.0, False), approved: (4.0, True)}
    with vault.engine.connect() as conn:
        assert set(conn.execute(text(
            "SELECT served_bytes, served_s FROM custody_review_plays")).all()) == {(0, 0.0)}
    command.downgrade(cfg, PREVIOUS)
    assert _plays(vault) == {awaiting: (0.0, False), approved: (4.0, True)}
    upgrade(vault.engine)
    assert {"served_bytes", "served_s"} <= _columns(vault)
