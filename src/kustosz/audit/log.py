"""Hash-chained audit entries (GDPR art. 5(2): the controller must be able to show compliance).

Each entry's hash covers its sequence number, time, actor, action, subject, details and the
previous entry's hash, so changing, removing or reordering any entry breaks the chain from
that point. Entries are appended in the same transaction as the change they describe.
The last (seq, hash) is also written to `audit.head` in the data folder after each commit,
so cutting entries off the end of the table is noticed too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kustosz.db import office_keys
from kustosz.db.models import AuditEntry
from kustosz.fsutil import write_atomic

log = logging.getLogger(__name__)
GENESIS = "0" * 64
# Audit actions of custody (holds, requests, copies): each is followed by a signed checkpoint.
CUSTODY = frozenset({"hold", "request", "copy"})
# Opening a viewing or listening is checkpointed at once too: until the next checkpoint,
# someone with the database could erase that the viewing ever happened (issue 11 re-test).
CHECKPOINTED = frozenset({"access.open"})


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def entry_hash(seq: int, at: datetime, actor: str, action: str, subject: str, details: str,
               prev_hash: str) -> str:
    payload = "\x1f".join([str(seq), at.astimezone(UTC).isoformat(timespec="microseconds"),
                           actor, action, subject, details, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


CHAIN_LOCK = office_keys.AUDIT_CHAIN  # keyed on the vault's schema (kustosz.db.office_keys)
# A holder of the chain's lock idle in its transaction this long has no client any more: every
# appender commits within its statements (issue 48 item 15: a transaction cut on the client's
# side, by a proxy or a NAT that forgot it, kept the lock on the server for the 15 minutes of
# idle_in_transaction_session_timeout, and starts waited 260 s instead of 25). Only holders of
# this schema's key, in this database, logged in as this vault's role: another office's
# schema in the same database (issue 67) holds a key of its own that never blocks this one,
# and its sessions are not this office's to end — its role may not, and a superuser's URL
# must not.
STALE_HOLDER_S = 30.0
TURN_S = 2.0
_STALE_HOLDERS = text(
    "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    f"WHERE {office_keys.held_sql(CHAIN_LOCK)} AND l.granted "
    "AND a.usename = session_user "
    "AND a.state = 'idle in transaction' AND a.pid <> pg_backend_pid() "
    "AND a.state_change < clock_timestamp() - make_interval(secs => :stale)")


def lock_chain(session: Session) -> None:
    # Several processes may append; the chain needs one writer at a time. SQLite already holds
    # the write lock (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock.
    if session.get_bind().dialect.name != "postgresql":
        return
    if office_keys.try_xact_lock(session, CHAIN_LOCK):
        return
    # Waited for in the server's queue a few seconds at a time (a savepoint each): between
    # turns a holder whose client is gone is found and ended; past the stale age plus the
    # lock_timeout the session had, the wait fails as it always did.
    before = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    session.execute(text("SELECT set_config('lock_timeout', :t, true)"),
                    {"t": f"{int(TURN_S * 1000)}ms"})
    end = time.monotonic() + STALE_HOLDER_S + TURN_S
    try:
        while True:
            try:
                with session.begin_nested():
                    office_keys.xact_lock(session, CHAIN_LOCK)
                return
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03" or time.monotonic() > end:
                    raise
            _end_stale_holders(session)
    finally:
        with contextlib.suppress(Exception):  # a broken connection: its own error goes up
            session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": before})


def _end_stale_holders(session: Session) -> None:
    # A transaction keeps what it first read of pg_stat_activity until it ends (pg_locks is
    # read anew): without a fresh look, a waiter's later turns saw a session that had been idle
    # at its first look, and had since taken the lock and was working, as a stale holder.
    session.execute(text("SELECT pg_stat_clear_snapshot()"))
    for pid in session.execute(_STALE_HOLDERS, {"stale": STALE_HOLDER_S}).scalars():
        # The vault's own role may end its own sessions: this one's client is gone, and its
        # transaction rolls back as it would have had the client's connection broken.
        if session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar():
            log.warning("audit chain: ended session %s, idle in its transaction for over %.0f "
                        "s while holding the chain's lock (its client is gone)", pid,
                        STALE_HOLDER_S)


def append(session: Session, actor: str, action: str, subject: str,
           details: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEntry:
    lock_chain(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    when = (at or datetime.now(UTC)).astimezone(UTC)
    body = canonical(details or {})
    entry = AuditEntry(seq=seq, at=when, actor=actor, action=action, subject=subject,
                       details=body, prev_hash=prev,
                       hash=entry_hash(seq, when, actor, action, subject, body, prev))
    session.add(entry)
    session.flush()
    session.info.setdefault("audit_head", None)
    session.info["audit_head"] = (seq, entry.hash)
    if action.split(".", 1)[0] in CUSTODY or action in CHECKPOINTED:
        # The vault checkpoints the log once this transaction commits (kustosz.audit.witness).
        session.info["custody_action"] = True
    return entry


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    problem: str
    where: str = ""  # e.g. "access record 7", "witness line 3"; empty: "entry {seq}"

    def __str__(self) -> str:
        return f"{self.where or f'entry {self.seq}'}: {self.problem}"


def walk(session: Session, head_file: Path | None = None,
         visit: Callable[[AuditEntry], None] | None = None
         ) -> tuple[int, AuditProblem | None]:
    """Walk the main chain; return how many entries were checked and the first problem.
    ``visit`` sees each entry whose place in the chain was found sound."""
    expected_seq, prev = 1, GENESIS
    count = 0
    # The head anchor is read before the entries: it is written after each commit, so read
    # first it never names an entry the walk cannot see — read after, it could name one
    # committed meanwhile (by another thread, or another serve node) and look like a cut log.
    head_text = None
    if head_file is not None and head_file.exists():
        try:
            head_text = head_file.read_text()
        except FileNotFoundError:
            head_text = None
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)
                           .execution_options(yield_per=5000)).scalars()
    for e in rows:
        count += 1
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                return count, AuditProblem(expected_seq, f"missing (the log jumps from "
                                           f"{expected_seq - 1} to {e.seq})")
            return count, AuditProblem(e.seq, "out of order")
        if e.prev_hash != prev:
            return count, AuditProblem(e.seq, "does not follow the entry before it "
                                       "(removed or reordered entries)")
        if entry_hash(e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash) != e.hash:
            return count, AuditProblem(e.seq, "its content was changed")
        if visit is not None:
            visit(e)
        prev, expected_seq = e.hash, expected_seq + 1
    if head_file is not None and head_text is not None:
        try:
            head_seq, head_hash = head_text.split()
        except ValueError:
            return count, AuditProblem(expected_seq, f"{head_file.name} is unreadable")
        if int(head_seq) >= expected_seq:
            return count, AuditProblem(expected_seq, f"missing: the log ends at "
                                       f"{expected_seq - 1} but {head_seq} entries were written")
        matching = session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq == int(head_seq))).scalar()
        if matching != head_hash:
            return count, AuditProblem(int(head_seq), "differs from the recorded head")
    return count, None


def write_head(head_file: Path, seq: int, digest: str) -> None:
    """Move the head anchor forward (never back: a late writer must not hide newer entries)."""
    try:
        current = int(head_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        current = 0
    if seq > current:
        # Durably (fsync, rename, fsync the folder): after a power cut the head must not be
        # older than entries the database has committed, or be missing.
        write_atomic(head_file, f"{seq} {digest}\n")
