"""The object store's lock follows the index (issue 16 item 1; DESIGN invariants 1 and 5).

The index decides what must be kept (a recording's legal end, the holds that cover it, by the
one coverage rule of holds/coverage.py); on a store that enforces a lock itself
(`storage.base.Lockable`: S3 Object Lock in GOVERNANCE mode) the same decision is written onto
each object, so that someone holding only the application's credentials cannot delete
material before its time or while a hold covers it:

* an intake writes each object with retain-until = its legal end and, if an active hold
  already covers it, the legal hold on (`lock_until`, `held_ids`; ingest/files.py);
* placing a hold commits the hold in the database first (the sweep respects it from then on);
  the legal hold on every object it covers is set by a job (`kustosz.jobs` kind
  "hold.legal_holds", queued once the hold commits, with its progress on the job page), so
  months of material do not hold up the request. Only what a sweep may have chosen *before*
  the hold committed — rows already `deleting`, or ending within `SWEEP_REACH` — gets its
  legal hold at once, in the placing transaction (`hold_placed`): the store then refuses that
  sweep's delete and the sweep gives the material back. A hold that fails to commit leaves a
  legal hold too many, which the sweep clears when the material's time comes
  (retention/sweep.py), never one too few;
* releasing one queues the same job once the release commits; it clears the legal hold where
  no other active hold covers the object (`hold_released`), then asks again and sets back
  what a hold placed meanwhile covers (its own job may have run in between);
* re-dating lengthens the retention where the new end is later (`lengthen`).

Legal holds are the sweep's identity's to set and to clear (issue 28 item 5): the web app's
credentials may not touch them at all — an object store cannot tell a legal hold switched on
from one switched off, and the app's keys must not free held evidence. So the work above
runs with `legal_hold_store`, the sweep's view, where this process has it (serve sweeping
itself, the memory store of the tests); with [storage] sweep = "separate" serve leaves it,
and `kustosz sweeper` does it before every sweep (`mirror_legal_holds`): every hold the
audit log has placed gets its legal holds (and the material taken in under it since, by the
recording id recorded last time), and a legal hold is cleared only for a hold whose release
the audit log records. Each pass is recorded (`hold.legal_holds`, with the last recording
id done). Meanwhile the sweep, the only deleter, keeps what an active hold or an open hold
of the audit log covers, asked again right before it deletes (retention/sweep.py).

On a store without a lock (the local folder) all of this is a no-op and the sweep alone keeps
the rules. The store is found through the session (`Vault` puts itself in ``session.info``), so
the many callers of place_hold and release_hold need not pass it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, event, func, select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Hold, Recording
from kustosz.errors import ConfigError
from kustosz.holds.coverage import covered_by_hold, covered_ever_by, held_map
from kustosz.holds.record import RecordVault, held_in_record, record_of
from kustosz.states import RecordingState
from kustosz.storage.base import Lockable, Storage
from kustosz.vault_handle import VaultHandle


class LockVault(VaultHandle, RecordVault, Protocol):
    """What the legal-hold work needs of an open vault (kustosz.vault.Vault, a layer up, is
    one)."""

    @property
    def storage(self) -> Storage: ...

    @property
    def may_delete(self) -> bool: ...

    def deleting_storage(self) -> Storage: ...


class Worker(Protocol):
    """What the legal-hold work needs of whoever runs it: the vault and somewhere to say how
    far it got (kustosz.jobs.JobContext is one; `_Inline` below another)."""

    @property
    def vault(self) -> LockVault: ...

    def progress(self, fraction: float, note: str | None = None) -> None: ...


# Who queues the legal-hold job once a hold commits: kustosz.jobs.catalogue sets it when the
# jobs package is imported. The jobs package runs domain work (this module's included), so
# it is handed in rather than imported from here. Unset (a process that never loaded the
# jobs package), the legal holds are set right after the commit in the committing process.
queue_job: Callable[[Any, int, bool, str], int] | None = None

log = logging.getLogger(__name__)

LEGAL_HOLDS = "hold.legal_holds"  # the job kind (registered in kustosz.jobs.catalogue)
# Material ending within this may be among a running sweep's victims already (chosen before
# the hold committed); its legal hold is set in the placing transaction, not by the job.
# A day is far more than a sweep takes and than the clock skew nodes are allowed.
SWEEP_REACH = timedelta(days=1)
PAGE = 500  # rows the job reads at once


def lock_until(expires_at: datetime | None, now: datetime | None = None) -> datetime | None:
    """The retain-until date an object is written with: its legal end, if still ahead. Material
    already past its end (taken in late) is the next sweep's, and a store refuses a past date."""
    now = now or datetime.now(UTC)
    return expires_at if expires_at is not None and expires_at > now else None


# An object whose new end has passed already: the store refuses a past date, so it is kept
# this much longer and the sweep deletes it then.
SHORTEN_GRACE = timedelta(minutes=1)


def shorten_object(store: Any, key: str, version: str | None, end: datetime,
                   now: datetime, grace: timedelta = SHORTEN_GRACE) -> int:
    """Re-date one object's retain-until earlier, to ``end`` (with the governance bypass: the
    caller holds the re-dating identity's store), for an approved shortening
    (kustosz.retention.shorten) or clock undo (kustosz.clock.undo); 1 if it was changed."""
    until = lock_until(end, now + grace) or now + grace
    try:
        current = store.lock_of(key, version).retain_until
    except FileNotFoundError:  # an intake under way is written with the new date
        return 0
    if current is None or current <= until:
        return 0
    store.retain(key, until, version, bypass=True)
    return 1


def lockable_store(session: Session) -> Lockable | None:
    """The vault's store as ``session`` knows it, if it keeps a lock of its own (read when
    used: a test may swap the store)."""
    vault = _vault_of(session)
    store = getattr(vault, "storage", None)
    return store if isinstance(store, Lockable) else None


def legal_hold_store(vault: LockVault) -> Lockable | None:
    """The store as the identity that may set and clear legal holds sees it (the sweep's),
    if this process has it; None where legal holds are the sweeper's (sweep = "separate")
    or the store keeps no lock."""
    if vault.config.s3 is not None and not vault.may_delete:
        return None
    try:
        store = vault.deleting_storage()
    except ConfigError:  # no sweep credentials here: the sweep, when it has them, sets them
        log.warning("no sweep credentials in this process: legal holds wait for the sweep")
        return None
    return store if isinstance(store, Lockable) else None


def _vault_of(session: Session) -> LockVault | None:
    """The open vault whose session this is (Vault puts itself in its sessions' info)."""
    return session.info.get("vault")


def held_ids(session: Session, ids: list[int]) -> set[int]:
    """The recordings among ``ids`` that an active hold covers now (the one rule)."""
    return set(held_map(session, ids))


def _objects(session: Session, condition: ColumnElement[bool], limit: int | None = None
             ) -> list[Any]:
    query = select(Recording.id, Recording.storage_key, Recording.version_id).where(condition)
    if limit is not None:
        query = query.order_by(Recording.id).limit(limit)
    return list(session.execute(query).all())


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


def _sweep_may_have_chosen(hold_id: int, now: datetime) -> ColumnElement[bool]:
    return covered_by_hold(hold_id) & (
        (Recording.state == RecordingState.DELETING)
        | (Recording.expires_at <= now + SWEEP_REACH))


def hold_placed(session: Session, hold_id: int, actor: str = "system") -> int:
    """After the (flushed, active) hold: what a sweep may already have chosen goes under
    legal hold now, before the hold commits; the rest by the job queued once it commits.
    How many objects were set now."""
    if lockable_store(session) is None:
        return 0
    vault = _vault_of(session)
    store = legal_hold_store(vault) if vault is not None else None
    n = 0
    if store is not None:  # else the sweeper asks the holds again before it deletes
        n = set_holds(store, _objects(
            session, _sweep_may_have_chosen(hold_id, datetime.now(UTC))), True)
    _queue_after_commit(session, hold_id, True, actor)
    return n


def hold_released(session: Session, hold_id: int, actor: str = "system") -> None:
    """After the release is flushed: once it commits, a job clears the legal hold of each
    object the released hold covered that no other active hold covers. A failure there only
    leaves a legal hold too many (the job fails visibly), which the sweep clears when the
    material's time comes."""
    if lockable_store(session) is not None:
        _queue_after_commit(session, hold_id, False, actor)


def jobs_queued(session: Session) -> list[int]:
    """The legal-hold jobs the committed transaction of ``session`` queued (a page that
    placed a hold shows the job's progress)."""
    return list(session.info.get("legal_hold_jobs", []))


def _queue_after_commit(session: Session, hold_id: int, on: bool, actor: str) -> None:
    def queue(committed: Session) -> None:
        vault = _vault_of(committed)
        if vault is None:
            log.error("hold %d: no vault to queue its legal holds on (the sweep still "
                      "respects the hold)", hold_id)
            return
        if queue_job is None:
            try:
                apply_legal_holds(_Inline(vault), hold_id, on)
            except Exception:  # the hold is committed and the sweep respects it
                log.exception("hold %d: its legal holds could not be set; the sweep still "
                              "respects the hold", hold_id)
            return
        try:
            job_id = queue_job(vault, hold_id, on, actor)
        except Exception:  # the hold is committed and the sweep respects it; say so loudly
            log.exception("hold %d: the job setting its legal holds could not be queued; "
                          "the sweep still respects the hold", hold_id)
            return
        committed.info.setdefault("legal_hold_jobs", []).append(job_id)

    event.listen(session, "after_commit", queue, once=True)


class _Inline:
    def __init__(self, vault: LockVault) -> None:
        self.vault = vault

    def progress(self, fraction: float, note: str | None = None) -> None:
        pass


def apply_legal_holds(ctx: Worker, hold_id: int, on: bool) -> dict[str, Any]:
    """The job: set (``on``) the legal hold on every object hold ``hold_id`` covers, or clear
    it on each object the released hold covered that no active hold covers now; a page of
    rows at a time (keyset on the id), its progress on the job page."""
    vault = ctx.vault
    if not isinstance(vault.storage, Lockable):
        return {"hold": hold_id, "on": on, "objects": 0}
    store = legal_hold_store(vault)
    if store is None:
        log.info("hold %d: its legal holds are kustosz sweeper's to %s", hold_id,
                 "set" if on else "clear")
        return {"hold": hold_id, "on": on, "objects": 0, "left_to": "kustosz sweeper"}
    return _apply(ctx, vault, store, hold_id, on)


def _apply(ctx: Worker, vault: LockVault, store: Lockable, hold_id: int, on: bool, after: int = 0,
           actor: str = "system") -> dict[str, Any]:

    if not on:
        with vault.reading() as s:
            if hold_id not in record_of(vault, s).released:
                # a release only the database tells of: its legal holds stay
                log.error("hold %d: released in the database but not in the audit log; its "
                          "legal holds are kept", hold_id)
                return {"hold": hold_id, "on": on, "objects": 0, "refused": True}
    condition = covered_by_hold(hold_id) if on else covered_ever_by(hold_id)
    first = after
    with vault.reading() as s:
        total = s.execute(select(func.count()).select_from(Recording).where(
            condition & (Recording.id > after))).scalar_one()
    seen, changed = 0, 0
    verb = "Ustawianie" if on else "Zdejmowanie"
    ctx.progress(0.0, f"{verb} blokady prawnej w magazynie obiektów: 0 z {total} nagrań")
    while True:
        with vault.reading() as s:
            rows = _objects(s, condition & (Recording.id > after), limit=PAGE)
        if not rows:
            break
        if on:
            changed += set_holds(store, rows, True)
        else:
            changed += _clear_uncovered(vault, store, rows)
        seen += len(rows)
        after = rows[-1].id
        ctx.progress(min(1.0, seen / max(total, 1)),
                     f"{verb} blokady prawnej w magazynie obiektów: {seen} z {total} nagrań")
        if len(rows) < PAGE:
            break
    log.info("hold %d: legal hold %s on %d objects", hold_id, "set" if on else "cleared",
             changed)
    if on:  # an intake still under way keeps its place: done by a later pass
        with vault.reading() as s:
            waiting = s.execute(select(func.min(Recording.id)).where(
                condition & (Recording.id > first) & (Recording.id <= after)
                & (Recording.state == RecordingState.PENDING))).scalar()
        if waiting is not None:
            after = waiting - 1
    if after > first or not on or first == 0:
        with vault.transaction() as s:
            audit(s, actor, "hold.legal_holds", f"hold {hold_id}",
                  {"on": on, "through": after, "objects": changed})
    return {"hold": hold_id, "on": on, "objects": changed, "covered": seen}


def mirror_legal_holds(vault: LockVault, actor: str = "system") -> int:
    """The sweeper's pass (before each sweep): the legal holds of every hold the audit log
    has placed, for material not yet done; cleared for each hold whose release the audit log
    records and no pass has cleared yet. How many objects changed."""

    if not isinstance(vault.storage, Lockable):
        return 0
    store = legal_hold_store(vault)
    if store is None:
        return 0
    with vault.reading() as s:
        record = record_of(vault, s)
        in_db = set(s.execute(select(Hold.id)).scalars())
        todo = [(hid, record.mirrored_on.get(hid, 0))
                for hid in sorted({h.id for h in record.open_holds()})
                if hid not in record.released and hid in in_db]
        clear = [hid for hid in sorted(record.released)
                 if hid not in record.mirrored_off and hid in in_db]
    n = 0
    for hid, done in todo:
        with vault.reading() as s:
            newer = s.execute(select(func.max(Recording.id)).where(
                covered_by_hold(hid) & (Recording.id > done))).scalar()
        if newer is not None or hid not in record.mirrored_on:
            n += int(_apply(_Inline(vault), vault, store, hid, True, done, actor)["objects"])
    for hid in clear:
        n += int(_apply(_Inline(vault), vault, store, hid, False, 0, actor)["objects"])
    return n


def _clear_uncovered(vault: LockVault, store: Lockable, rows: list[Any]) -> int:
    """Clear the legal hold of ``rows`` no active hold covers (in the database, nor open in
    the audit log); then ask again and set back what a hold placed meanwhile covers (its job
    may have set it just before this cleared it). A legal hold too many is harmless; one too
    few is not."""

    with vault.reading() as s:
        ids = [r.id for r in rows]
        still = held_ids(s, ids) | held_in_record(vault, s, ids)
    free = [r for r in rows if r.id not in still]
    n = set_holds(store, free, False)
    if free:
        with vault.reading() as s:
            again = held_ids(s, [r.id for r in free])
        if again:
            set_holds(store, [r for r in free if r.id in again], True)
            n -= len(again)
    return n


def lengthen(session: Session, changed: Iterable[tuple[int, datetime | None]]) -> int:
    """After a re-dating: each object's retention to its recording's new end where that is
    later than the lock it has. Lengthening is the app's credentials' right; shortening is
    not (GOVERNANCE needs the bypass): only the approved, two-person shortening of a period
    does it (kustosz.retention.shorten), and until then the store keeps the longer date and
    the sweep, which has no bypass, cannot delete before it."""
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
