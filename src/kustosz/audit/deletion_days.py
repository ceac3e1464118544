"""The day deletion records, checked by `audit verify` (issue 68 item 3).

A sweep that deleted whole local days (PostgreSQL, `retention.day_sweep`) records one
`deletion_days` row per source and day with the list of what went (gzip) and its SHA-256, and
its audit entry's `deletions_sha256` covers its per-item deletions and every day record's
digest. So a changed list fails twice over: against its own digest, and the digest against
the chained entry. Sweeps with per-item deletions only are not re-read here (their rows are
the list, sealed the same way; checking them all is a pass over every deletion ever made).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit.log import AuditProblem
from kustosz.db.models import AuditEntry, Deletion, DeletionDay


def record_problem(row: DeletionDay) -> str | None:
    """What is wrong with a day record (its list against its count and digest), or None."""
    body = gzip.decompress(row.listing)
    if hashlib.sha256(body).hexdigest() != row.list_sha256:
        return f"deletion record {row.id}: its list does not match its digest (it was changed)"
    listed = body.count(b"\n")
    if listed != row.count:
        return f"deletion record {row.id}: {listed} items listed, {row.count} counted"
    return None


class SweepDigest(NamedTuple):
    digest: str  # the sweep's `deletions_sha256`
    items: int  # the items its per-item and day records count
    days: bool  # whether it has day records


def sweep_digest(s: Session, sweep_id: int) -> SweepDigest:
    """The sweep's `deletions_sha256` as its rows give it now: what the sweep's entry seals
    (`retention.sweep._finish`) and `audit verify` checks. A day record's list is not read
    (tens of MB for a day of 100 cameras): its digest stands for it."""
    digest = hashlib.sha256()
    count = 0
    for rid, sha in s.execute(select(Deletion.recording_id, Deletion.sha256)
                              .where(Deletion.sweep_id == sweep_id)
                              .order_by(Deletion.recording_id)):
        digest.update(f"{rid}:{sha}\n".encode())
        count += 1
    days = False
    for source_id, day, n, list_sha256 in s.execute(
            select(DeletionDay.source_id, DeletionDay.day, DeletionDay.count,
                   DeletionDay.list_sha256).where(DeletionDay.sweep_id == sweep_id)
            .order_by(DeletionDay.source_id, DeletionDay.day)):
        digest.update(f"{source_id}:{day}:{n}:{list_sha256}\n".encode())
        count += n
        days = True
    return SweepDigest(digest.hexdigest(), count, days)


# Day records read at once by `audit verify`: one camera's day of 4 s segments lists 21 600 of
# them (megabytes); a year of 100 cameras is too much to hold at once.
RECORDS_PAGE = 32


class DayRecords:
    """Visits the chain's entries (`walk`'s ``visit``); `finish` checks the day records."""

    def __init__(self, lookup: Callable[[], AbstractContextManager[Session]]) -> None:
        self._lookup = lookup
        self._sealed: dict[int, tuple[int, str]] = {}  # sweep id -> (entry seq, digest)
        self.problems: list[AuditProblem] = []

    def visit(self, e: AuditEntry) -> None:
        if not e.action.startswith("sweep.") or not e.subject.startswith("sweep "):
            return
        digest = json.loads(e.details).get("deletions_sha256")
        sweep = e.subject.removeprefix("sweep ")
        if isinstance(digest, str) and sweep.isdigit():
            self._sealed[int(sweep)] = (e.seq, digest)

    def finish(self) -> None:
        with self._lookup() as s:
            day_sweeps = set(s.execute(select(DeletionDay.sweep_id).distinct()).scalars())
            after = 0
            while page := s.execute(select(DeletionDay).where(DeletionDay.id > after)
                                    .order_by(DeletionDay.id).limit(RECORDS_PAGE)
                                    ).scalars().all():
                for row in page:
                    problem = record_problem(row)
                    if problem:
                        self.problems.append(AuditProblem(0, problem, "deletions"))
                after = page[-1].id
                s.expunge_all()  # a page's lists at a time, not a year's
            for sweep_id in sorted(day_sweeps):
                sealed = self._sealed.get(sweep_id)
                if sealed is None:
                    continue  # its sweep is not finished yet (recovery finishes it)
                if sweep_digest(s, sweep_id).digest != sealed[1]:
                    self.problems.append(AuditProblem(
                        sealed[0], f"sweep {sweep_id}: its deletion records do not match the "
                                   "digest its entry sealed (a record was changed or removed)"))
