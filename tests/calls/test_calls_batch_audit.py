"""One audit entry per intake batch, listing every file's digest, and `audit verify` holding
the index to it (issue 68 item 5). An insider who replaces one file of a batch and rewrites its
row's hash to match (so the file and the index agree, and the store check passes) is found by
verify, which compares the row with the digest the batch's chained entry lists; a list edited
and the chain recomputed is found by the list's own digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from calls_pbx import OFFICE_DID, Pbx, PhoneCall, add_line, stored_calls
from sqlalchemy import select, update
from tests.audit_helpers import rechain
from tests.conftest import make_vault

from kustosz.audit.intake_lists import listing_digest
from kustosz.audit.polish import problem_pl
from kustosz.audit.verifier import vault_report
from kustosz.db.models import AuditEntry, Recording
from kustosz.ingest.phone import intake
from kustosz.ingest.phone.intake import scan
from kustosz.vault import Vault

N = 12


@pytest.fixture
def taken(tmp_path: Path, backend_url: str,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Vault]:
    """N real recordings taken in by one scan, in batches of 4 then 8."""
    monkeypatch.setattr(intake, "FIRST_BATCH_FILES", 4)
    monkeypatch.setattr(intake, "BATCH_DEADLINE_S", 3600.0)  # sizes by count alone, here
    vault = make_vault(tmp_path / "vault", "boleslawiec", backend_url)
    pbx = Pbx(tmp_path / "pbx")
    base = datetime(2026, 11, 20, 8, 0, 0)
    for i in range(N):
        call = PhoneCall("in", OFFICE_DID, f"600{i:06d}", base + timedelta(minutes=i),
                         f"1763622000.{i}", seconds=0.3)
        pbx.record(call, pitch=300.0 + 10 * i)
        pbx.log(call, src=f"600{i:06d}", dst="201", clid=f"Zażółć gęślą 📞 {i}")
    add_line(vault, pbx)
    assert scan(vault, "centrala", sleep=lambda _: None).stored == N
    yield vault
    vault.close()


def batch_entries(vault: Vault) -> list[AuditEntry]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == "call.ingest")
                              .order_by(AuditEntry.seq)).scalars())


def problems(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return [str(p) for p in vault_report(s, vault.head_file).problems]


def test_a_batch_is_one_entry_listing_every_files_digest(taken: Vault) -> None:
    entries = batch_entries(taken)
    assert [json.loads(e.details)["count"] for e in entries] == [4, 8]
    listed: dict[str, str] = {}
    for e in entries:
        d = json.loads(e.details)
        assert d["digest"] == listing_digest(d["calls"])
        listed.update((rid, item["sha256"]) for rid, item in d["calls"].items())
    kept = stored_calls(taken)
    assert len(listed) == N == len(kept)
    for _, rec in kept.values():
        on_disk = hashlib.sha256(taken.storage.path(rec.storage_key).read_bytes()).hexdigest()
        assert listed[str(rec.id)] == rec.sha256 == on_disk
    assert problems(taken) == []


def test_one_file_of_a_batch_replaced_with_its_row_fails_verify(taken: Vault) -> None:
    """The attack: the 6th file (the second batch's second) replaced by other real audio,
    its row's size and hash rewritten to match; file and row agree, the entry does not."""
    _, rec = sorted(stored_calls(taken).values(), key=lambda cr: cr[1].id)[5]
    path = taken.storage.path(rec.storage_key)
    other = sorted(stored_calls(taken).values(), key=lambda cr: cr[1].id)[0][1]
    forged = taken.storage.path(other.storage_key).read_bytes()
    path.chmod(0o600)
    path.write_bytes(forged)
    sha = hashlib.sha256(forged).hexdigest()
    with taken.transaction() as s:
        s.execute(update(Recording).where(Recording.id == rec.id)
                  .values(sha256=sha, size=len(forged)))
    found = problems(taken)
    assert len(found) == 1, found
    assert f"lists recording {rec.id} with SHA-256 {rec.sha256}, but the index holds " \
           f"{sha}" in found[0]
    said = problem_pl(found[0])
    assert f"nagrania nr {rec.id}" in said and "zmieniono po przyjęciu" in said, said


def test_a_batch_list_edited_and_rechained_fails_verify(taken: Vault) -> None:
    """An entry's list changed (one file's digest) and the chain recomputed over it, as an
    attacker without the witness can: the list no longer matches the digest it records."""
    entry = batch_entries(taken)[1]
    d = json.loads(entry.details)
    rid = sorted(d["calls"])[3]
    d["calls"][rid]["sha256"] = "0" * 64
    with taken.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == entry.seq)
                  .values(details=json.dumps(d, sort_keys=True, ensure_ascii=False,
                                             separators=(",", ":"))))
    rechain(taken)
    found = problems(taken)
    assert any(f"entry {entry.seq}: its list of files does not match" in p for p in found), found
    assert any(f"lists recording {rid} with SHA-256 {'0' * 64}" in p for p in found), found
    assert "listę zmieniono" in problem_pl(found[0])
