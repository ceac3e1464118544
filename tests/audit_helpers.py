"""A vault with a witness and some history (entries, a viewing with access records, custody
actions and so signed checkpoints), and the tools an attacker who holds the data folder and
its database would use: SQL, and recomputing the chains the way Kustosz computes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from kustosz.access.authorisations import issue
from kustosz.access.records import open_viewing, served
from kustosz.access.users import add_user
from kustosz.audit import access_chain
from kustosz.audit.log import GENESIS, entry_hash
from kustosz.audit.verifier import Report, check
from kustosz.audit.witness import public_key_of
from kustosz.custody.holds import place_hold, release_hold
from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.custody import User
from kustosz.db.models import AuditEntry, Source
from kustosz.index.sources import add_source
from kustosz.vault import Vault
from tests.custody.custody_helpers import people


def with_witness(vault: Vault, witness: Path, extra: str = "") -> Vault:
    """The same data folder reopened with `[audit] witness` (and ``extra`` lines) set."""
    config = vault.root / "kustosz.toml"
    body = config.read_text("utf-8").replace(
        "[audit]\n", f'[audit]\nwitness = "{witness}"\n{extra}', 1)
    config.write_text(body, "utf-8")
    return Vault.open(vault.root)


@dataclass
class History:
    vault: Vault
    witness: Path
    viewing_id: int


def make_history(vault: Vault, witness: Path) -> History:
    """Entries, a viewing with three access records (its opening: checkpoint 1), two custody
    actions (checkpoints 2 and 3), then one more served record and entry after the last
    checkpoint."""
    people(vault)
    now = datetime.now(UTC)
    with vault.transaction() as s:
        add_source(s, vault.policy, "cam-hol", "camera", "test")
        add_user(s, "ogladajacy", "Ewa Oglądająca", ["viewer"], "test")
    with vault.transaction() as s:
        issue(s, holder="ogladajacy", actions=["playback"], sources=["cam-hol"],
              source_kinds=[], valid_from=now - timedelta(days=1),
              valid_to=now + timedelta(days=30), by="burmistrz", actor="test")
    with vault.transaction() as s:
        user = s.execute(select(User).where(User.name == "ogladajacy")).scalar_one()
        source = s.execute(select(Source).where(Source.name == "cam-hol")).scalar_one()
        token = open_viewing(s, user=user, action="playback", client="127.0.0.1",
                             purpose="wyjaśnienie zdarzenia", case_ref="OR.0001.1.2026",
                             witness="burmistrz", source=source)
        assert token is not None
        vs = s.execute(select(ViewingSession)).scalar_one()
        for i in range(3):
            served(s, vs, f"segment {i + 1}", "127.0.0.1", 1000 + i)
        vid = vs.id
    with vault.transaction() as s:  # a custody action: checkpoint 2
        source = s.execute(select(Source).where(Source.name == "cam-hol")).scalar_one()
        hold = place_hold(s, sources=[source], start=now - timedelta(hours=2),
                          end=now, basis="sprawa OR.0001.1.2026", actor="test")
        hold_id = hold.id
    with vault.transaction() as s:
        vs = s.get(ViewingSession, vid)
        served(s, vs, "segment 4", "127.0.0.1", 2000)
    with vault.transaction() as s:  # checkpoint 3
        release_hold(s, hold_id, "sprawa zakończona", "test")
    with vault.transaction() as s:  # after the last checkpoint
        add_source(s, vault.policy, "cam-wejscie", "camera", "test")
    return History(vault, witness, vid)


def verify(vault: Vault, witness: Path | None) -> Report:
    with vault.reading() as s:
        return check(s, vault.head_file, witness, public_key_of(vault.root))


def chain_alone_passes(vault: Vault) -> bool:
    """What `audit verify` could see before the witness: the main chain and audit.head."""
    from kustosz.audit.log import walk

    with vault.reading() as s:
        return walk(s, vault.head_file)[1] is None


def sql(vault: Vault, *statements: str) -> None:
    with vault.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def last_seq(vault: Vault) -> int:
    with vault.reading() as s:
        return s.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())).scalar() or 0


def checkpoint_seqs(vault: Vault) -> list[int]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry.seq).where(
            AuditEntry.action == "audit.checkpoint").order_by(AuditEntry.seq)).scalars())


def rechain(vault: Vault, edit: dict[int, str] | None = None) -> None:
    """Recompute every entry's hash from the start (after setting subjects in ``edit``) and
    move audit.head to the new end: a rewrite that leaves a self-consistent chain."""
    with vault.transaction() as s:
        prev = GENESIS
        for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
            if edit and e.seq in edit:
                e.subject = edit[e.seq]
            e.prev_hash = prev
            e.hash = entry_hash(e.seq, e.at, e.actor, e.action, e.subject, e.details, prev)
            prev = e.hash
            last = (e.seq, e.hash)
    vault.head_file.write_text(f"{last[0]} {last[1]}\n")


def rechain_access(vault: Vault) -> None:
    """Recompute the access chain and the viewing sessions' counters from the rows left."""
    with vault.transaction() as s:
        prev = GENESIS
        totals: dict[int, tuple[int, int]] = {}
        rows = s.execute(select(AccessEntry).order_by(AccessEntry.seq)).scalars()
        for seq, row in enumerate(rows, 1):
            row.seq, row.prev_hash = seq, prev
            row.hash = access_chain.access_hash(seq, row.viewing_id, row.at, row.what,
                                                row.recording_id, row.client, row.bytes, prev)
            prev = row.hash
            n, b = totals.get(row.viewing_id, (0, 0))
            totals[row.viewing_id] = (n + 1, b + row.bytes)
        for vs in s.execute(select(ViewingSession)).scalars():
            vs.served, vs.bytes_served = totals.get(vs.id, (0, 0))


def witness_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
