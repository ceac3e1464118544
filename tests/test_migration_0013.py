"""Migration 0013 (issue 13 items 7-10) up and down on SQLite and PostgreSQL: users gain a
position and a contractor's agreement, authorisations the position they were issued for, and the
destruction commission's appointments get their table (002 zał.5 §8.2); rows written before it
keep their data (new columns NULL: staff, no listed position), and the downgrade takes the
additions away again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault


def _schema(vault: Vault) -> tuple[set[str], set[str], set[str]]:
    with vault.engine.connect() as conn:
        found = inspect(conn)
        return ({c["name"] for c in found.get_columns("users")},
                {c["name"] for c in found.get_columns("access_authorisations")},
                set(found.get_table_names()))


NEW_USER = {"position", "contractor_agreement", "contractor_until"}


def test_0013_adds_positions_contractors_and_appointments_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, "0012")
    users, auths, tables = _schema(vault)
    assert not NEW_USER & users and "position" not in auths
    assert "custody_commission_appointments" not in tables
    t = "2026-11-20 10:00:00+00:00"
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, name, display_name, title, roles, active, created_at) "
            "VALUES (1, 'sekretarz', 'Ewa Sekretarska', 'Sekretarz Gminy', '[\"viewer\"]', "
            ":a, :t)"), {"a": True, "t": t})
        conn.execute(text(
            "INSERT INTO access_authorisations (id, holder_id, sources, source_kinds, actions, "
            "issued_by, issued_at, valid_from, valid_to) VALUES (1, 1, '[]', '[\"camera\"]', "
            "'[\"playback\"]', 'wojt', :t, :t, :t)"), {"t": t})
    upgrade(vault.engine)
    users, auths, tables = _schema(vault)
    assert users >= NEW_USER and "position" in auths
    assert "custody_commission_appointments" in tables
    with vault.engine.connect() as conn:
        row = conn.execute(text("SELECT name, title, position, contractor_agreement, "
                                "contractor_until FROM users")).one()
        assert tuple(row) == ("sekretarz", "Sekretarz Gminy", None, None, None)
        assert conn.execute(text("SELECT position FROM access_authorisations")).scalar_one() \
            is None
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO custody_commission_appointments (member, order_ref, appointed_on, "
            "approver, recorded_by, recorded_at) VALUES ('k1', '5/2026', '2026-01-02', 'wojt', "
            "'test', :t)"), {"t": t})
    command.downgrade(cfg, "0012")
    users, auths, tables = _schema(vault)
    assert not NEW_USER & users and "position" not in auths
    assert "custody_commission_appointments" not in tables
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM access_authorisations")).scalar_one() == 1
        assert conn.execute(text("SELECT title FROM users")).scalar_one() == "Sekretarz Gminy"
    upgrade(vault.engine)
    assert _schema(vault)[0] >= NEW_USER
