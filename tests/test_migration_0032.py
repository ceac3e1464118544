"""Migration 0032 (issue 30 item 11) up and down on SQLite and PostgreSQL: a viewing session
keeps who the person present is (an account or an employee of the register) beside the name.
A session typed before keeps its free-text name through the upgrade, the downgrade and the
upgrade again, and is shown as typed by hand; the downgrade drops only the references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, select, text

from kustosz.access import records
from kustosz.access.users import add_user
from kustosz.db.access import ViewingSession
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0031"
REFS = ("witness_user_id", "witness_employee_id")


def _columns(vault: Vault) -> set[str]:
    return {c["name"] for c in inspect(vault.engine).get_columns("access_viewing_sessions")}


def _foreign_keys(vault: Vault) -> dict[str, str]:
    return {fk["constrained_columns"][0]: fk["referred_table"]
            for fk in inspect(vault.engine).get_foreign_keys("access_viewing_sessions")}


def test_0032_keeps_typed_witnesses_and_goes_back(vault: Vault) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with vault.transaction() as s:
        viewer = add_user(s, "ola", "Ola Nowak", ["viewer"], "test")
        witness = add_user(s, "anna", "Anna Zielińska", ["supervisor"], "test",
                           title="Sekretarz Miasta")
        viewer_id, witness_id = viewer.id, witness.id
    assert _foreign_keys(vault).get("witness_user_id") == "users"
    assert _foreign_keys(vault).get("witness_employee_id") == "employees"

    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert not set(REFS) & _columns(vault)
    # a session recorded before 0032: the person present only as typed
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO access_viewing_sessions (token_hash, user_id, user_name, action, "
            "purpose, case_ref, witness, client, started_at, last_at, served, bytes_served) "
            "VALUES ('h1', :u, 'ola', 'playback', 'cel', 'OR.1', 'Jan Świadek', '127.0.0.1', "
            ":t, :t, 0, 0)"), {"u": viewer_id, "t": now - timedelta(days=1)})
    upgrade(vault.engine)
    assert set(REFS) <= _columns(vault)
    with vault.transaction() as s:
        old = s.execute(select(ViewingSession)).scalar_one()
        assert (old.witness, old.witness_user_id, old.witness_employee_id) == (
            "Jan Świadek", None, None)
        assert records.witness_shown(old) == "Jan Świadek (wpisano ręcznie)"
        new = ViewingSession(
            token_hash="h2", user_id=viewer_id, user_name="ola", action="playback",
            purpose="cel", case_ref="OR.2", witness="Anna Zielińska, Sekretarz Miasta",
            witness_user_id=witness_id, client="127.0.0.1", started_at=now, last_at=now,
            served=0, bytes_served=0)
        s.add(new)
        s.flush()
        assert records.witness_shown(new) == "Anna Zielińska, Sekretarz Miasta"

    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert not set(REFS) & _columns(vault)
    with vault.engine.connect() as conn:
        names = sorted(conn.execute(text(
            "SELECT witness FROM access_viewing_sessions")).scalars())
    assert names == ["Anna Zielińska, Sekretarz Miasta", "Jan Świadek"]  # every name kept
    upgrade(vault.engine)
    with vault.reading() as s:
        rows = {v.token_hash: v for v in s.execute(select(ViewingSession)).scalars()}
    assert {h: (v.witness, v.witness_user_id) for h, v in rows.items()} == {
        "h1": ("Jan Świadek", None), "h2": ("Anna Zielińska, Sekretarz Miasta", None)}
