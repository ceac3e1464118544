"""Migration 0060 (issue 67 item 2) up and down on SQLite and PostgreSQL: the offices' support
grants for the installation's administrator are kept in a table of their own, dropped by the
downgrade and made again empty by the upgrade; the audit chain, which records each grant,
is untouched by both."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from kustosz.access import support
from kustosz.audit.verifier import verify
from kustosz.db.migrate import alembic_config, upgrade
from kustosz.vault import Vault

PREVIOUS = "0059"


def _tables(vault: Vault) -> set[str]:
    return set(inspect(vault.engine).get_table_names())


def test_0060_keeps_support_grants_and_goes_back(vault: Vault) -> None:
    with vault.transaction() as s:
        support.grant(s, "kierownik", "Wymiana dysku 💾 — zgłoszenie ŻÓŁĆ-7", 4)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT reason FROM access_support_grants")).scalar_one() == \
            "Wymiana dysku 💾 — zgłoszenie ŻÓŁĆ-7"
        entries = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    command.downgrade(alembic_config(vault.engine), PREVIOUS)
    assert "access_support_grants" not in _tables(vault)
    upgrade(vault.engine)
    assert "access_support_grants" in _tables(vault)
    with vault.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM access_support_grants")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == entries
    with vault.reading() as s:
        checked, problem = verify(s)
    assert problem is None and checked == entries
