"""DESIGN invariant 3: the audit log is append-only and hash-chained; `audit verify` finds the
first changed, removed or reordered entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from kustosz.vault import Vault
from tests.conftest import Cli


@pytest.fixture
def logged(tmp_path: Path, cli: Cli, backend_url: str) -> Cli:
    args = ["init", "--preset", "elblag"] + (["--database-url", backend_url] if backend_url
                                              else [])
    cli(*args)
    for name in ("hall", "gate", "yard", "roof"):
        cli("sources", "add", name, "--kind", "camera")
    cli("holds", "place", "--source", "hall", "--from", "2026-01-01T00:00:00Z",
        "--to", "2026-01-02T00:00:00Z", "--basis", "sprawa 1")
    # vault.init, four sources, the hold, and the checkpoint that follows a custody action
    assert "7 entries verified" in cli("audit", "verify").stdout
    return cli


def _sql(cli: Cli, statement: str) -> None:
    vault = Vault.open(cli.data)
    with vault.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    vault.close()


def test_edited_entry_is_found(logged: Cli) -> None:
    _sql(logged, "UPDATE audit_log SET subject = 'courtyard' WHERE seq = 3")
    result = logged("audit", "verify", ok=False)
    assert result.exit_code == 1
    assert "entry 3: its content was changed" in result.output


def test_edited_details_are_found(logged: Cli) -> None:
    _sql(logged, "UPDATE audit_log SET details = '{}' WHERE seq = 6")
    assert "entry 6: its content was changed" in logged("audit", "verify", ok=False).output


def test_deleted_entry_is_found(logged: Cli) -> None:
    _sql(logged, "DELETE FROM audit_log WHERE seq = 4")
    result = logged("audit", "verify", ok=False)
    assert result.exit_code == 1
    assert "entry 4: missing" in result.output


def test_swapped_entries_are_found(logged: Cli) -> None:
    # Swap two entries' positions entirely (rows keep their own hashes).
    _sql(logged, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    _sql(logged, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    _sql(logged, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    result = logged("audit", "verify", ok=False)
    assert result.exit_code == 1
    assert "entry 3:" in result.output


def test_renumbered_deletion_is_found(logged: Cli) -> None:
    # Remove entry 2 and renumber the rest to hide the gap: the chain still breaks at 2.
    _sql(logged, "DELETE FROM audit_log WHERE seq = 2")
    for seq in range(3, 8):
        _sql(logged, f"UPDATE audit_log SET seq = {seq - 1} WHERE seq = {seq}")
    assert "entry 2:" in logged("audit", "verify", ok=False).output


def test_cut_off_tail_is_found(logged: Cli) -> None:
    _sql(logged, "DELETE FROM audit_log WHERE seq = 7")
    result = logged("audit", "verify", ok=False)
    assert result.exit_code == 1
    assert "entry 7: missing" in result.output


def test_chain_continues_across_processes(logged: Cli) -> None:
    logged("sources", "add", "dock", "--kind", "camera")
    assert "8 entries verified" in logged("audit", "verify").stdout


def test_no_secret_or_content_in_deletion_records(sqlite_vault: Vault, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from kustosz.index.sources import add_source
    from kustosz.ingest.files import ingest_file
    from kustosz.retention import run_sweep

    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hall", "camera", "test")
    f = tmp_path / "секрет.ts"
    f.write_bytes(b"CONTENT-MARKER" * 10)
    ingest_file(sqlite_vault, "hall", f, datetime(2026, 1, 1, tzinfo=UTC))
    run_sweep(sqlite_vault, datetime(2026, 6, 1, tzinfo=UTC))
    with sqlite_vault.engine.connect() as conn:
        dump = str(conn.execute(sa.text("SELECT * FROM deletions")).all())
        dump += str(conn.execute(sa.text("SELECT * FROM audit_log")).all())
    assert "CONTENT-MARKER" not in dump
