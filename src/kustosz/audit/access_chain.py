"""The chain of served media requests (table access_log, DESIGN invariant 2 and 3).

A row is written for every video segment served, so it must stay cheap: the rows have their
own chain (seq, prev_hash, hash) instead of one audit entry each, and every checkpoint of the
audit log seals this chain's head into the main chain (kustosz.audit.witness). Cutting,
editing or recomputing access rows then contradicts a sealed head. The viewing sessions (the
access record's header) are checked against the `access.open` entry the main chain keeps for
each, and their counters against the rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db import office_keys
from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.custody import Copy
from kustosz.db.models import Source

GENESIS = "0" * 64
ACCESS_LOCK = office_keys.ACCESS_CHAIN  # keyed on the vault's schema (kustosz.db.office_keys)


def access_hash(seq: int, viewing_id: int, at: datetime, what: str, recording_id: int | None,
                client: str, nbytes: int, prev_hash: str) -> str:
    payload = "\x1f".join([str(seq), str(viewing_id),
                           at.astimezone(UTC).isoformat(timespec="microseconds"), what,
                           "" if recording_id is None else str(recording_id), client,
                           str(nbytes), prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def head(session: Session) -> tuple[int, str]:
    last = session.execute(select(AccessEntry.seq, AccessEntry.hash)
                           .order_by(AccessEntry.seq.desc()).limit(1)).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def link(session: Session, entry: AccessEntry) -> None:
    """Give a new access row its place at the end of the chain (before it is flushed)."""
    # One writer at a time: SQLite's writer already holds the database lock (BEGIN
    # IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock for this chain only.
    if session.get_bind().dialect.name == "postgresql":
        office_keys.xact_lock(session, ACCESS_LOCK)
    seq, prev = head(session)
    entry.seq = seq + 1
    entry.prev_hash = prev
    entry.hash = access_hash(entry.seq, entry.viewing_id, entry.at, entry.what,
                             entry.recording_id, entry.client, entry.bytes, prev)


@dataclass
class Served:
    count: int = 0
    nbytes: int = 0
    last: datetime | None = None


@dataclass
class AccessCheck:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    found: dict[int, str] = field(default_factory=dict)  # sealed seq -> hash in the table now
    last_seq: int = 0


def check_chain(session: Session, wanted: set[int]) -> tuple[AccessCheck, dict[int, Served]]:
    """Walk the access chain; note the hash at each seq in ``wanted`` (the sealed heads)."""
    result = AccessCheck()
    per_viewing: dict[int, Served] = {}
    expected, prev = 1, GENESIS
    broken = False
    rows = session.execute(select(AccessEntry).order_by(AccessEntry.seq)
                           .execution_options(yield_per=5000)).scalars()
    for row in rows:
        result.records += 1
        result.last_seq = row.seq
        if row.seq in wanted:
            result.found[row.seq] = row.hash
        served = per_viewing.setdefault(row.viewing_id, Served())
        served.count += 1
        served.nbytes += row.bytes
        served.last = row.at if served.last is None else max(served.last, row.at)
        if broken:
            continue
        problem = None
        if row.seq != expected:
            problem = (f"missing (the access records jump from {expected - 1} to {row.seq})"
                       if row.seq > expected else "out of order")
        elif row.prev_hash != prev:
            problem = "does not follow the record before it (removed or reordered records)"
        elif access_hash(row.seq, row.viewing_id, row.at, row.what, row.recording_id,
                         row.client, row.bytes, row.prev_hash) != row.hash:
            problem = "its content was changed"
        if problem:
            result.problems.append(f"access record {min(row.seq, expected)}: {problem}")
            broken = True  # after the first break every later record would repeat it
        prev, expected = row.hash, expected + 1
    return result, per_viewing


def _same_time(stated: object, kept: datetime | None) -> bool:
    if stated is None or kept is None:
        return stated is None and kept is None
    try:
        return datetime.fromisoformat(str(stated)) == kept
    except ValueError:
        return False


def check_viewings(session: Session, opened: dict[int, tuple[str, str, dict[str, Any]]],
                   served: dict[int, Served]) -> list[str]:
    """Each viewing session against its `access.open` entry (actor, subject, details) and its
    counters against the access rows; a session without an entry, or an entry without its
    session, is a record inserted or removed."""
    problems: list[str] = []
    sources: dict[int, str] = {i: n for i, n in session.execute(select(Source.id, Source.name))}
    copies: dict[int, str] = {i: n for i, n in session.execute(select(Copy.id, Copy.number))}
    seen: set[int] = set()
    for vs in session.execute(select(ViewingSession).order_by(ViewingSession.id)).scalars():
        seen.add(vs.id)
        where = f"viewing session {vs.id}"
        if vs.id not in opened:
            problems.append(f"{where}: not in the audit log (inserted, or its entry removed)")
            continue
        actor, subject, d = opened[vs.id]
        if vs.copy_id is not None:
            what = f"copy {copies.get(vs.copy_id)}"
        elif vs.recording_id is not None:
            what = f"recording {vs.recording_id}"
        else:
            what = f"source {sources.get(vs.source_id)}"
        header_ok = (actor == vs.user_name and subject == what
                     and d.get("action") == vs.action
                     and d.get("authorisation") == vs.authorisation_id
                     and d.get("purpose") == vs.purpose and d.get("case_ref") == vs.case_ref
                     and d.get("request") == vs.request_id and d.get("witness") == vs.witness
                     and str(d.get("client"))[:100] == vs.client  # the row keeps 100
                     and _same_time(d.get("from"), vs.window_start)
                     and _same_time(d.get("to"), vs.window_end))
        if not header_ok:
            problems.append(f"{where}: differs from its entry in the audit log (who, what, "
                            "purpose, case, witness or client was changed)")
            continue
        s = served.get(vs.id, Served())
        last = max(vs.started_at, s.last) if s.last else vs.started_at
        if (vs.served, vs.bytes_served) != (s.count, s.nbytes) or vs.last_at != last:
            problems.append(f"{where}: its counters ({vs.served} requests, {vs.bytes_served} "
                            f"bytes) differ from its access records ({s.count}, {s.nbytes})")
    for vid in sorted(set(opened) - seen):
        problems.append(f"viewing session {vid}: removed (the audit log records its opening)")
    return problems
