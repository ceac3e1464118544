"""DESIGN invariant 3 (R6.3): `audit verify` on a working vault says the log is whole when it
is. The head anchor (`audit.head`) is written after each commit and read before the entries,
so that it never names an entry the walk cannot see — but on SQLite a reading transaction
sees the database as it was at its *first* read, and `vault_report` (the dashboard, serve's
daily check, the command) reads the vault's identity before it walks. An entry committed
between that first read and the head's (a recorder, a sweep, a sign-in) then looked like a
cut log: "missing: the log ends at N but N+1 entries were written", a false tamper alarm.
Found by a CI run of tests/test_full_disk.py, whose background sweep committed just then.

A cut tail is still found: the head must name an entry that is really there, with its hash.
Each case on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from kustosz import audit
from kustosz.audit import witness
from kustosz.audit.verifier import check, vault_report
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault
from tests.audit_helpers import with_witness, witness_lines


def _commit_one(vault: Vault, what: str, action: str = "test.meanwhile") -> int:
    with vault.transaction() as s:
        audit.append(s, "test", action, what, {})
        return s.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())
                         .limit(1)).scalar_one()


def test_an_entry_committed_after_the_sessions_first_read_is_no_missing_entry(
        vault: Vault) -> None:
    with vault.reading() as s:
        before = witness.vault_id(s)  # the first read: SQLite's snapshot is taken here
        assert before
        seq = _commit_one(vault, "committed while the check reads")
        assert int(vault.head_file.read_text().split()[0]) == seq  # the head names it
        report = check(s, vault.head_file)
    assert report.ok, report.problems
    assert report.entries == seq  # the entry committed meanwhile checked too


def test_the_dashboards_verify_is_not_alarmed_by_a_commit_during_it(
        vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vault_report` as the dashboard and serve's daily check run it, with an entry committed
    by another writer right after its first read (that instant cannot be hit by timing, so
    the read is wrapped to commit then)."""
    read_id = witness.vault_id
    committed: list[int] = []

    def read_then_commit(session):  # type: ignore[no-untyped-def]
        found = read_id(session)
        if not committed:
            committed.append(_commit_one(vault, "a sign-in meanwhile"))
        return found

    monkeypatch.setattr(witness, "vault_id", read_then_commit)
    with vault.reading() as s:
        report = vault_report(s, vault.head_file)
    assert committed
    assert report.ok, report.problems


def test_a_cut_tail_is_still_missing_when_the_session_read_first(vault: Vault) -> None:
    seq = _commit_one(vault, "the entry an attacker removes")
    with vault.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == seq))
    with vault.reading() as s:
        assert witness.vault_id(s)
        report = check(s, vault.head_file)
    assert [p.problem for p in report.problems] == [
        f"missing: the log ends at {seq - 1} but {seq} entries were written"]


def test_a_head_naming_an_entry_with_another_hash_is_still_found(
        vault: Vault) -> None:
    """The head names a later entry whose hash is not the one recorded: the check outside
    the snapshot does not take the head's word for it."""
    seq = _commit_one(vault, "the last entry")
    with vault.reading() as s:
        assert witness.vault_id(s)
        vault.head_file.write_text(f"{seq + 1} {'0' * 64}\n")
        report = check(s, vault.head_file)
    assert [p.problem for p in report.problems] == [
        f"missing: the log ends at {seq} but {seq + 1} entries were written"]


def test_a_checkpoint_witnessed_after_the_sessions_first_read_is_no_cut_log(
        vault: Vault, tmp_path: Path) -> None:
    """The same for the witness: a custody action committed (and checkpointed to the witness
    outside the data folder) after the session's first read."""
    (tmp_path / "elsewhere").mkdir()
    witnessed = with_witness(vault, tmp_path / "elsewhere" / "witness.jsonl")
    try:
        path = witnessed.config.audit.witness
        assert path is not None
        _commit_one(witnessed, "the first checkpoint", action="hold.test")
        with witnessed.reading() as s:
            assert witness.vault_id(s)
            seq = _commit_one(witnessed, "a hold placed meanwhile", action="hold.test")
            lines = witness_lines(path)
            assert lines[-1]["seq"] > seq  # its checkpoint, committed and witnessed meanwhile
            report = check(s, witnessed.head_file, path, witness.public_key_of(witnessed.root))
        assert report.ok, report.problems
        assert report.witnessed == len(lines) >= 2
    finally:
        witnessed.close()
