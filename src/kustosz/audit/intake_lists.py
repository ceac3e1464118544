"""The intake's batch entries, checked against the index by `audit verify` (issue 68 item 5).

A batch of files taken in is one audit entry (`recording.ingest`, `call.ingest`) that lists
each file's recording id and SHA-256, with ``count`` and ``digest`` (the SHA-256 of the
list as canonical JSON). The entry's hash covers the list, and the chain covers the entry,
so the chain proves every file's digest as it was taken in. The store check compares a file
with its row; what it cannot see is a file replaced together with its row's hash. Verify
compares each listed recording's row with its listed digest, so that change fails too.

A listed recording whose row is gone (swept at its expiry, recorded by the sweep's own
entries) is not checked here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit.log import AuditProblem, canonical
from kustosz.db.models import AuditEntry, Recording

INGEST_ACTIONS = frozenset({"recording.ingest", "call.ingest"})
# Listed ids looked up at once: a bound on memory whatever the log's length.
LOOKUP = 2000


def listing_digest(listing: dict[str, dict[str, Any]]) -> str:
    """The SHA-256 of a batch entry's list (recording id -> what was taken in)."""
    return hashlib.sha256(canonical(listing).encode("utf-8")).hexdigest()


def batch_details(key: str, listing: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A batch entry's details: ``listing`` under ``key``, its count and its digest."""
    return {"count": len(listing), key: listing, "digest": listing_digest(listing)}


def listing_of(action: str, subject: str, details: dict[str, Any]
               ) -> dict[str, dict[str, Any]] | None:
    """The files an ingest entry lists, by recording id; None for any other entry."""
    if action not in INGEST_ACTIONS:
        return None
    for key in ("recordings", "calls"):
        if isinstance(details.get(key), dict):
            return dict(details[key])
    rid = subject.removeprefix("recording ")
    if rid.isdigit() and "sha256" in details:  # a single file's entry
        return {rid: details}
    return None


class IntakeLists:
    """Visits the chain's entries (`walk`'s ``visit``) and gathers the problems."""

    def __init__(self, lookup: Callable[[], AbstractContextManager[Session]]) -> None:
        self._lookup = lookup  # a session of its own: the walk streams on the other one
        self._listed: dict[int, tuple[int, str]] = {}  # recording id -> (entry seq, sha256)
        self.problems: list[AuditProblem] = []

    def visit(self, e: AuditEntry) -> None:
        if e.action not in INGEST_ACTIONS:
            return
        details = json.loads(e.details)
        listing = listing_of(e.action, e.subject, details)
        if listing is None:
            return
        count = details.get("count")
        if isinstance(count, int) and count != len(listing):
            self.problems.append(AuditProblem(
                e.seq, f"counts {count} files but lists {len(listing)}"))
        digest = details.get("digest")
        if digest is not None and digest != listing_digest(listing):
            self.problems.append(AuditProblem(
                e.seq, "its list of files does not match the list's digest it records "
                       "(the list was changed)"))
        for rid, item in listing.items():
            if rid.isdigit() and isinstance(item, dict) and isinstance(item.get("sha256"), str):
                self._listed[int(rid)] = (e.seq, item["sha256"])
        if len(self._listed) >= LOOKUP:
            self.flush()

    def flush(self) -> None:
        """Compare the listed digests gathered so far with the index."""
        if not self._listed:
            return
        listed, self._listed = self._listed, {}
        found: dict[int, str | None] = {}
        with self._lookup() as s:
            for part in chunks(sorted(listed), 900):  # SQLite's bound on parameters
                found.update(s.execute(select(Recording.id, Recording.sha256)
                                       .where(Recording.id.in_(part))).all())
        for rid in sorted(listed):
            if rid not in found:
                continue
            seq, sha = listed[rid]
            if found[rid] != sha:
                self.problems.append(AuditProblem(
                    seq, f"lists recording {rid} with SHA-256 {sha}, but the index holds "
                         f"{found[rid] or 'none'} (the file or its row was changed after "
                         "intake)"))


def chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]
