"""The object store's lock follows the index (issue 16 item 1; DESIGN invariants 1 and 5).

The index decides what must be kept (a recording's legal end, the holds that cover it, by the
one coverage rule of custody/coverage.py); on a store that enforces a lock itself
(`storage.base.Lockable`: S3 Object Lock in GOVERNANCE mode) the same decision is written onto
each object, so that someone holding only the application's credentials cannot delete
material before its time or while a hold covers it:

* an intake writes each object with retain-until = its legal end and, if an active hold
  already covers it, the legal hold on (`lock_until`, `held_ids`; ingest/files.py);
* placing a hold sets the legal hold on every object it covers (`hold_placed`), before the
  hold commits: a hold that fails to commit leaves a legal hold too many, which the sweep
  clears when the material's time comes (retention/sweep.py), never one too few;
* releasing one clears it where no other active hold covers the object (`hold_released`),
  after the release commits, for the same reason;
* re-dating lengthens the retention where the new end is later (`lengthen`).

On a store without a lock (the local folder) all of this is a no-op and the sweep alone keeps
the rules. The store is found through the session (`Vault` puts it in ``session.info``), so
the many callers of place_hold and release_hold need not pass it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kustosz.custody.coverage import covered_by_hold, held_map
from kustosz.db.models import Recording
from kustosz.storage.base import Lockable, Refused, Storage, Unavailable

log = logging.getLogger(__name__)


def lock_until(expires_at: datetime | None, now: datetime | None = None) -> datetime | None:
    """The retain-until date an object is written with: its legal end, if still ahead. Material
    already past its end (taken in late) is the next sweep's, and a store refuses a past date."""
    now = now or datetime.now(UTC)
    return expires_at if expires_at is not None and expires_at > now else None


def lockable_store(session: Session) -> Lockable | None:
    """The vault's store as ``session`` knows it, if it keeps a lock of its own."""
    get = session.info.get("storage")
    store = get() if callable(get) else None
    return store if isinstance(store, Lockable) else None


def held_ids(session: Session, ids: list[int]) -> set[int]:
    """The recordings among ``ids`` that an active hold covers now (the one rule)."""
    return set(held_map(session, ids))


def _objects(session: Session, condition: Any) -> list[Any]:
    return list(session.execute(select(Recording.id, Recording.storage_key,
                                       Recording.version_id).where(condition)).all())


def set_holds(store: Lockable | Storage, rows: Iterable[Any], on: bool) -> int:
    """The legal hold of each (id, storage_key, version_id) row's object; how many were set.
    An object not written yet (an intake under way) is skipped: the intake looks at coverage
    again once its object is stored (ingest/files.py `_hold_late`)."""
    n = 0
    for _rid, key, version in rows:
        try:
            store.legal_hold(key, on, version)  # type: ignore[union-attr]
        except FileNotFoundError:
            continue
        n += 1
    return n


def hold_placed(session: Session, hold_id: int) -> int:
    """Put every object the (flushed, active) hold covers under legal hold."""
    store = lockable_store(session)
    if store is None:
        return 0
    return set_holds(store, _objects(session, covered_by_hold(hold_id)), True)


def covered_by(session: Session, hold_id: int) -> list[Any]:
    """The objects a hold covers, read while it is still active (before its release)."""
    if lockable_store(session) is None:
        return []
    return _objects(session, covered_by_hold(hold_id))


def hold_released(session: Session, rows: list[Any]) -> None:
    """After the release is flushed: the legal hold of each object the released hold covered
    (``rows``, from `covered_by`) is cleared once the release commits, unless another active
    hold still covers it. A failure here only leaves a legal hold too many (logged), which the
    sweep clears when the material's time comes."""
    store = lockable_store(session)
    if store is None or not rows:
        return
    still = held_ids(session, [r.id for r in rows])
    free = [r for r in rows if r.id not in still]

    def clear(_session: Session) -> None:
        try:
            set_holds(store, free, False)
        except (Refused, Unavailable) as exc:
            log.error("legal holds not cleared after a release (the sweep clears them when "
                      "the material's time comes): %s", exc)

    if free:
        event.listen(session, "after_commit", clear, once=True)


def lengthen(session: Session, changed: Iterable[tuple[int, datetime | None]]) -> int:
    """After a re-dating: each object's retention to its recording's new end where that is
    later than the lock it has. Lengthening is the app's credentials' right; shortening is
    not (GOVERNANCE needs the bypass, which only the sweep's credentials hold) and is not
    needed: the sweep deletes by the index's date with the bypass."""
    store = lockable_store(session)
    if store is None:
        return 0
    ends = {rid: end for rid, end in changed if lock_until(end) is not None}
    n = 0
    ids = sorted(ends)
    for start in range(0, len(ids), 500):
        for row in _objects(session, Recording.id.in_(ids[start:start + 500])):
            until = ends[row.id]
            assert until is not None
            try:
                current = store.lock_of(row.storage_key, row.version_id).retain_until
                if current is None or until > current:
                    store.retain(row.storage_key, until, row.version_id)
                    n += 1
            except FileNotFoundError:  # an intake under way: written with the new date
                continue
    return n
