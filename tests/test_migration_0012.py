"""Migration 0012 (separation of duties, issue 11) up and down on SQLite and PostgreSQL: a
decision entered before it keeps its `recorded_by`, and gets `keyed_by` only where that names
an office account; the downgrade drops the two columns, the upgrade brings them back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault


def _columns(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("custody_decisions")}


def test_0012_adds_keyed_by_and_paper_ref_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    command.downgrade(cfg, "0011")
    assert not {"keyed_by", "paper_ref"} & _columns(vault)
    t = "2026-11-20 10:00:00+00:00"
    with vault.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, name, display_name, roles, active, created_at) "
            "VALUES (1, 'burmistrz', 'Jan Kowalski', '[\"approver\"]', :a, :t)"),
            {"a": True, "t": t})
        for rid in (1, 2):
            conn.execute(text(
                "INSERT INTO custody_requests (id, kind, material, requester, received_on, "
                "event_date, sources, start_at, end_at, items, purpose, status, late, "
                "registered_by, registered_at) VALUES (:id, 'authority', 'video', 'Policja', "
                "'2026-11-20', '2026-11-20', '[]', :t, :t, '[]', 'cel', 'approved', :f, "
                "'test', :t)"), {"id": rid, "f": False, "t": t})
        for did, by in ((1, "burmistrz"), (2, "cli:root")):
            conn.execute(text(
                "INSERT INTO custody_decisions (id, request_id, agree, decided_by, capacity, "
                "decided_on, recorded_by, recorded_at) VALUES (:id, :id, :a, 'burmistrz', "
                "'head', '2026-11-20', :by, :t)"), {"id": did, "a": True, "by": by, "t": t})
    upgrade(vault.engine)
    with vault.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, recorded_by, keyed_by, paper_ref FROM "
                                 "custody_decisions ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "burmistrz", "burmistrz", None),
                                        (2, "cli:root", None, None)]
    command.downgrade(cfg, "0011")
    assert not {"keyed_by", "paper_ref"} & _columns(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custody_decisions")).scalar_one() == 2
    upgrade(vault.engine)
    assert {"keyed_by", "paper_ref"} <= _columns(vault)
