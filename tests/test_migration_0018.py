"""Migration 0018 (issue 16 item 2) up and down on SQLite and PostgreSQL: the nodes and leases
tables, and the alert kinds of the cluster added to 0017's CHECK constraint; the downgrade
takes them away, and refuses (changing nothing) while alert rows of the new kinds exist."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0017"
T = "2026-11-22 22:00:00"


def _tables(vault: Vault) -> set[str]:
    with vault.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _alert(vault: Vault, kind: str) -> None:
    with vault.engine.begin() as conn:
        conn.execute(text("INSERT INTO alerts (raised_at, kind, message) VALUES (:t, :k, 'x')"),
                     {"t": T, "k": kind})


def test_0018_adds_nodes_leases_and_alert_kinds_and_goes_back(vault: Vault) -> None:
    cfg = alembic_config(vault.engine)
    assert {"nodes", "leases"} <= _tables(vault)
    _alert(vault, "node_missing")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "no_such_kind")  # 0017's constraint still stands for everything else
    with pytest.raises(Exception, match="node_missing"):
        command.downgrade(cfg, PREVIOUS)
    assert {"nodes", "leases"} <= _tables(vault)  # refused: nothing changed
    with vault.engine.begin() as conn:
        conn.execute(text("DELETE FROM alerts"))
        conn.execute(text("INSERT INTO leases (resource, node, until, epoch) VALUES "
                          "('camera:hol', 'a', :t, 3)"), {"t": T})
    command.downgrade(cfg, PREVIOUS)
    assert not {"nodes", "leases"} & _tables(vault)
    _alert(vault, "camera_down")
    with pytest.raises((IntegrityError, DBAPIError)):
        _alert(vault, "source_without_node")  # 0017's list again
    upgrade(vault.engine)
    assert {"nodes", "leases"} <= _tables(vault)
    _alert(vault, "source_without_node")
    _alert(vault, "node_clock_skew")
    with vault.engine.connect() as conn:
        kinds = sorted(conn.execute(text("SELECT kind FROM alerts")).scalars())
    assert kinds == ["camera_down", "node_clock_skew", "source_without_node"]
