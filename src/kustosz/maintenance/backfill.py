"""The version ids of material stored before migration 0019 (issue 16 leftovers).

Rows indexed before the index kept version ids have ``recordings.version_id`` NULL, and reads
of them fall back to the key's newest version — which whoever holds the application's
credentials can replace by PUTting a newer one (storage/base.py). This finds, for each such
row, the version whose content hashes to the index's SHA-256 and records its id:

- the key's versions are listed (delete markers aside); those of another size than the index
  are passed over without reading them; each remaining one is read and hashed, oldest first
  (the original intake is the oldest; a later identical copy would do as well);
- the first whose SHA-256 is the index's is recorded (only where the row still has none);
- none matching — no version at all, or only content the index never hashed — is never
  guessed: the row keeps NULL, one audit entry ``storage.version_unmatched`` names it, and the
  caller prints a line (`kustosz storage backfill-versions`). Such material was replaced or
  lost in the store; reads of it are refused as tampered already.

Rows are taken a batch at a time by id (keyset) and each batch commits on its own, so a run
that stops (Ctrl-C, a store that went away) loses nothing and the next run goes on with the
rows still NULL. On a store without versions (the local folder) there is nothing to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from kustosz.audit import append as audit
from kustosz.db.deadline import patient
from kustosz.db.models import Recording
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)
BATCH = 200
ACTION_DONE = "storage.versions_backfilled"
ACTION_UNMATCHED = "storage.version_unmatched"


@dataclass
class Unmatched:
    id: int
    key: str
    sha256: str
    versions: int  # versions of the key found (0: the object is missing)

    def line(self) -> str:
        what = ("no version of the object is in the store (missing)" if not self.versions
                else f"none of its {self.versions} version(s) has the indexed content "
                     "(replaced or damaged)")
        return f"recording {self.id} ({self.key}): {what}; its version id is left unset"

    def line_pl(self) -> str:
        what = ("w magazynie nie ma żadnej wersji obiektu (brak)" if not self.versions
                else f"żadna z jego wersji ({self.versions}) nie ma treści z rejestru "
                     "(podmieniona albo uszkodzona)")
        return f"nagranie {self.id} ({self.key}): {what}; wersja pozostaje nieustalona"


@dataclass
class BackfillReport:
    applicable: bool = True  # False: the store keeps no versions
    total: int = 0  # rows without a version id when the run began
    filled: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    batches: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"applicable": self.applicable, "total": self.total, "filled": self.filled,
                "batches": self.batches,
                "unmatched": [{"id": u.id, "key": u.key, "sha256": u.sha256,
                               "versions": u.versions} for u in self.unmatched]}


def _missing() -> ColumnElement[bool]:
    return (Recording.version_id.is_(None)) & (Recording.state == RecordingState.STORED) & \
        (Recording.sha256.is_not(None))


def match_version(store: Any, key: str, sha256: str, size: int | None
                  ) -> tuple[str | None, int]:
    """The id of the version of ``key`` whose content hashes to ``sha256`` (None if none),
    and how many versions the key has."""
    found = [v for v, marker in store.versions(key) if not marker]
    for version in reversed(found):  # oldest first
        try:
            if size is not None and store.stat(key, version=version).size != size:
                continue
            if store.hash_of(key, version=version) == sha256:
                return version, len(found)
        except FileNotFoundError:  # deleted meanwhile
            continue
    return None, len(found)


@patient
def backfill_versions(vault: Vault, actor: str = "system", batch: int = BATCH,
                      progress: Callable[[int, int], None] | None = None) -> BackfillReport:
    """Record the version id of every stored row that has none (see above); ``progress``
    gets (rows done, rows in all) after each batch."""
    store = vault.storage
    report = BackfillReport()
    if not callable(getattr(store, "versions", None)):
        report.applicable = False
        return report
    with vault.reading() as s:
        report.total = s.execute(select(func.count()).select_from(Recording)
                                 .where(_missing())).scalar_one()
    after, done = 0, 0
    while True:
        with vault.reading() as s:
            rows = s.execute(select(Recording.id, Recording.storage_key, Recording.sha256,
                                    Recording.size)
                             .where(_missing(), Recording.id > after)
                             .order_by(Recording.id).limit(batch)).all()
        if not rows:
            break
        found: dict[int, str] = {}
        unmatched: list[Unmatched] = []
        for row in rows:
            version, count = match_version(store, row.storage_key, row.sha256, row.size)
            if version is None:
                unmatched.append(Unmatched(row.id, row.storage_key, row.sha256, count))
            else:
                found[row.id] = version
        with vault.transaction() as s:
            for rid, version in found.items():
                s.execute(update(Recording).where(Recording.id == rid,
                                                  Recording.version_id.is_(None))
                          .values(version_id=version))
            for u in unmatched:
                log.error("version backfill: %s", u.line())
                audit(s, actor, ACTION_UNMATCHED, f"recording {u.id}",
                      {"key": u.key, "sha256_index": u.sha256, "versions": u.versions})
        report.filled += len(found)
        report.unmatched += unmatched
        report.batches += 1
        done += len(rows)
        after = rows[-1].id
        if progress is not None:
            progress(done, max(report.total, done))
    if report.filled or report.unmatched:
        with vault.transaction() as s:
            audit(s, actor, ACTION_DONE, "recordings",
                  {"filled": report.filled, "unmatched": len(report.unmatched),
                   "rows": report.total})
    return report
