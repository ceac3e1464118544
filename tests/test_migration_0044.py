"""Migration 0044 (issue 51 item 1) up and down on SQLite and PostgreSQL: a decision per
position — capacity holds any position's key, UNIQUE (request_id, capacity) replaces UNIQUE
(request_id). The downgrade refuses, changing nothing, while a request holds several
decisions or a decision names a position other than head or deputy; once the vault holds
neither, it goes back to one decision per request by the head or the deputy, and up again."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0043"
T = "2026-11-20 10:00:00+00:00"
DECISION = ("INSERT INTO custody_decisions (id, request_id, agree, decided_by, capacity, "
            "decided_on, recorded_by, recorded_at) VALUES (:id, :rid, :a, 'x', :cap, "
            "'2026-11-20', 't', :t)")


def _requests(vault: Vault, *ids: int) -> None:
    with vault.engine.begin() as conn:
        for rid in ids:
            conn.execute(text(
                "INSERT INTO custody_requests (id, kind, material, requester, received_on, "
                "event_date, sources, start_at, end_at, items, purpose, status, late, "
                "registered_by, registered_at) VALUES (:id, 'authority', 'video', 'Policja', "
                "'2026-11-20', '2026-11-20', '[]', :t, :t, '[]', 'cel', 'approved', :f, "
                "'test', :t)"), {"id": rid, "f": False, "t": T})


def _decision(vault: Vault, did: int, rid: int, capacity: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text(DECISION), {"id": did, "rid": rid, "a": True, "cap": capacity,
                                      "t": T})


def _refused(vault: Vault, did: int, rid: int, capacity: str) -> None:
    with pytest.raises(DBAPIError), vault.engine.begin() as conn:
        conn.execute(text(DECISION), {"id": did, "rid": rid, "a": True, "cap": capacity,
                                      "t": T})


def _rows(vault: Vault) -> list[tuple[int, int, str]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, request_id, capacity FROM custody_decisions ORDER BY id"))]


def _versions(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_0044_keeps_a_decision_per_position_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    _requests(vault, 1, 2)
    _decision(vault, 1, 1, "head")
    _decision(vault, 2, 1, "sekretarz_miasta_i_gminy")  # a declared position's key
    _refused(vault, 3, 1, "head")  # a position decides once
    before = _rows(vault)
    with pytest.raises(RuntimeError, match=r"several decisions on requests 1.*positions "
                                           r"sekretarz_miasta_i_gminy.*nothing was changed"):
        command.downgrade(cfg, PREVIOUS)
    assert PREVIOUS not in _versions(vault) and _rows(vault) == before
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE custody_decisions SET request_id = 2 WHERE id = 2"))
    with pytest.raises(RuntimeError, match=r"positions sekretarz_miasta_i_gminy"):
        command.downgrade(cfg, PREVIOUS)
    with vault.engine.begin() as conn:
        conn.execute(text("UPDATE custody_decisions SET capacity = 'deputy' WHERE id = 2"))
    command.downgrade(cfg, PREVIOUS)
    assert PREVIOUS in _versions(vault) and "0044" not in _versions(vault)
    assert _rows(vault) == [(1, 1, "head"), (2, 2, "deputy")]
    _refused(vault, 3, 1, "deputy")  # one decision per request again
    _requests(vault, 3)
    _refused(vault, 3, 3, "sekretarz")  # and the head or the deputy only
    upgrade(vault.engine)
    assert PREVIOUS not in _versions(vault)  # at 0044 again, or a later head
    assert _rows(vault) == [(1, 1, "head"), (2, 2, "deputy")]
    _decision(vault, 3, 1, "sekretarz")
    _refused(vault, 4, 1, "sekretarz")
    if vault.engine.dialect.name != "sqlite":  # SQLite keeps any length in a VARCHAR
        _refused(vault, 4, 3, "x" * 41)  # wider than any position's key
