"""The tamper suite of issue 11 item 7 (DESIGN invariant 3, invariant 2's access records;
R3.2–R3.4: who saw what, why and with whom present must not be rewritable unseen).

An attacker holds the data folder and its database — SQL, `audit.head`, the hash functions —
but not the witness outside it. Each test makes one kind of change and shows that
`kustosz audit verify` given the witness fails on it. Where the change passed the old verify
(the main chain and `audit.head` alone) the test says so first with `chain_alone_passes`:
that is the finding reproduced. Every case runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kustosz.keys import KEY_FILE
from kustosz.vault import Vault
from tests.audit_helpers import (
    History,
    chain_alone_passes,
    checkpoint_seqs,
    last_seq,
    make_history,
    rechain,
    rechain_access,
    sql,
    verify,
    with_witness,
    witness_lines,
)


@pytest.fixture
def history(vault: Vault, tmp_path: Path) -> Iterator[History]:
    witness = tmp_path / "elsewhere" / "witness.jsonl"
    witness.parent.mkdir()
    v = with_witness(vault, witness)
    h = make_history(v, witness)
    report = verify(v, witness)
    assert report.ok, report.problems
    assert report.witnessed == 3 and len(witness_lines(witness)) == 3
    yield h
    v.close()


def detected(h: History, *expected: str) -> str:
    report = verify(h.vault, h.witness)
    found = "\n".join(str(p) for p in report.problems)
    assert not report.ok, "the change was not detected"
    for text in expected:
        assert text in found, found
    return found


# 1
def test_edited_entry_is_detected(history: History) -> None:
    sql(history.vault, "UPDATE audit_log SET subject = 'hold 99' WHERE seq = 3")
    detected(history, "entry 3: its content was changed")


# 2
def test_deleted_entry_is_detected(history: History) -> None:
    sql(history.vault, "DELETE FROM audit_log WHERE seq = 4")
    detected(history, "entry 4: missing")


# 3
def test_inserted_entry_is_detected(history: History) -> None:
    # Make room after entry 5 and put a plausible entry there, chained to entry 5.
    v = history.vault
    sql(v, "UPDATE audit_log SET seq = seq + 1000000 WHERE seq > 5",
        "UPDATE audit_log SET seq = seq - 999999 WHERE seq > 1000000")
    from sqlalchemy import select

    from kustosz.audit.log import entry_hash
    from kustosz.db.models import AuditEntry

    with v.transaction() as s:
        e5 = s.get(AuditEntry, 5)
        at = e5.at
        h = entry_hash(6, at, "test", "user.add", "intruz", "{}", e5.hash)
        s.add(AuditEntry(seq=6, at=at, actor="test", action="user.add", subject="intruz",
                         details="{}", prev_hash=e5.hash, hash=h))
        assert s.execute(select(AuditEntry).where(AuditEntry.seq == 7)).scalar() is not None
    detected(history, "entry 7: does not follow the entry before it")


# 4
def test_reordered_entries_are_detected(history: History) -> None:
    sql(history.vault, "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4", "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    detected(history, "entry 3:")


# 5
def test_deleted_access_records_are_detected(history: History) -> None:
    sql(history.vault, "DELETE FROM access_log")
    assert chain_alone_passes(history.vault)  # the finding: access records were not chained
    detected(history, "checkpoint 1 sealed access record 3, which is gone",
             f"viewing session {history.viewing_id}: its counters")


# 6
def test_edited_access_record_is_detected(history: History) -> None:
    sql(history.vault, "UPDATE access_log SET what = 'playlist cam-hol' WHERE seq = 2")
    assert chain_alone_passes(history.vault)
    detected(history, "access record 2: its content was changed")


# 7
def test_edited_viewing_session_is_detected(history: History) -> None:
    # The header of the access record: who watched, why, with whom present.
    sql(history.vault, "UPDATE access_viewing_sessions SET witness = 'Nikt', "
                       "purpose = 'przegląd rutynowy'")
    assert chain_alone_passes(history.vault)
    detected(history, f"viewing session {history.viewing_id}: differs from its entry")


# 8
def test_cut_tail_is_detected(history: History) -> None:
    first_checkpoint = checkpoint_seqs(history.vault)[0]
    sql(history.vault, f"DELETE FROM audit_log WHERE seq > {first_checkpoint}")
    detected(history, "missing: the log ends at")


# 9
def test_cut_tail_with_head_is_detected(history: History) -> None:
    v = history.vault
    first_checkpoint = checkpoint_seqs(v)[0]
    sql(v, f"DELETE FROM audit_log WHERE seq > {first_checkpoint}")
    rechain(v)  # audit.head now names the new end
    assert chain_alone_passes(v)  # the finding
    detected(history, f"checkpoint 2 sealed it, but the log ends at {first_checkpoint}")


# 10
def test_empty_log_is_detected(history: History) -> None:
    v = history.vault
    sql(v, "DELETE FROM audit_log")
    v.head_file.unlink()
    assert chain_alone_passes(v)  # the finding: an empty log passed
    found = detected(history, "entry 1: missing: the log is empty")
    assert "checkpoint 1 sealed it" in found
    # Even without the witness an empty log no longer passes.
    assert not verify(v, None).ok


# 11
def test_recomputed_chain_and_head_are_detected(history: History) -> None:
    v = history.vault
    rechain(v, edit={3: "user nobody"})
    assert chain_alone_passes(v)  # the finding: a recomputed chain passed
    # checked without its witness, the vault says it has one (the config line was removed)
    assert not verify(v, None).ok
    # ...unless the attacker also erases that memory: then only the witness sees it
    sql(v, "DELETE FROM vault_settings WHERE key = 'audit_witness'")
    assert verify(v, None).ok  # documented: without the witness it cannot be seen
    detected(history, "differs from witnessed checkpoint 1 (the log was rewritten")


# 12
def test_recomputed_access_chain_is_detected(history: History) -> None:
    v = history.vault
    sql(v, "DELETE FROM access_log WHERE seq = 2")
    rechain_access(v)  # rows renumbered, hashes and viewing counters made consistent
    assert chain_alone_passes(v)
    detected(history, "checkpoint 1 sealed access record 3, which is no longer the same")


# 13
def test_witness_last_line_replaced_by_an_earlier_one_is_detected(history: History) -> None:
    # The attacker cut the log back to checkpoint 1 and makes the witness agree with it.
    v = history.vault
    lines = history.witness.read_text("utf-8").splitlines()
    history.witness.write_text(f"{lines[0]}\n{lines[0]}\n", "utf-8")
    sql(v, f"DELETE FROM audit_log WHERE seq > {checkpoint_seqs(v)[0]}")
    rechain(v)
    assert chain_alone_passes(v)
    detected(history, "witness line 2: is checkpoint 1 where 2 was due")


# 14
def test_witness_last_line_forged_is_detected(history: History) -> None:
    v = history.vault
    first = checkpoint_seqs(v)[0]
    lines = witness_lines(history.witness)
    sql(v, f"DELETE FROM audit_log WHERE seq > {first}")
    rechain(v)
    forged = {**lines[1], "seq": first, "hash": lines[0]["hash"]}  # the old signature stays
    history.witness.write_text(json.dumps(lines[0]) + "\n" + json.dumps(forged) + "\n")
    assert chain_alone_passes(v)
    detected(history, "witness line 2: its signature is not the office's")


# 15
def test_swapped_office_key_is_detected(history: History) -> None:
    # The attacker rewrites history and puts their own key in keys/, so that new checkpoints
    # would be "signed"; the first entry names the office's key, and the witness's genuine
    # lines do not verify with the new one.
    v = history.vault
    rechain(v, edit={3: "user nobody"})
    key = Ed25519PrivateKey.generate()
    (v.root / "keys" / KEY_FILE).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    assert chain_alone_passes(v)
    found = detected(history, "entry 1: names the office key", "(the key was replaced)")
    assert "witness line 1: its signature is not the office's" in found


# Beyond the fifteen: a removed last line of the witness is noticed through the log.
def test_witness_last_line_removed_is_detected(history: History) -> None:
    lines = history.witness.read_text("utf-8").splitlines()
    history.witness.write_text(lines[0] + "\n", "utf-8")
    detected(history, "checkpoint 2 is not in the witness")


def test_deleted_viewing_session_with_its_records_is_detected(history: History) -> None:
    """Removing the whole access record — header and rows — still leaves its opening in the
    main chain and the sealed access head."""
    v = history.vault
    sql(v, "DELETE FROM access_log", "DELETE FROM access_viewing_sessions")
    assert chain_alone_passes(v)
    detected(history, f"viewing session {history.viewing_id}: removed",
             "checkpoint 1 sealed access record 3, which is gone")


def test_entries_after_the_last_checkpoint_are_what_remains_open(history: History) -> None:
    """Documented limit: what was written after the latest witnessed checkpoint can be cut
    (with audit.head) unseen; the next checkpoint — at most `checkpoint_minutes` later, and
    after every custody action — closes that window."""
    v = history.vault
    sql(v, f"DELETE FROM audit_log WHERE seq > {checkpoint_seqs(v)[-1]}")
    rechain(v)
    assert last_seq(v) == checkpoint_seqs(v)[-1]
    assert verify(v, history.witness).ok
