"""Taking files into the vault as material recorded at given times.

Three steps so that a crash never leaves a half file indexed as whole: (1) index rows in
state `pending` name the storage keys; (2) the bytes are written atomically and hashed;
(3) the rows become `stored` with size, hash and expiry. Recovery removes `pending` rows
and their files; the originals are untouched, so the intake can simply be repeated.

`ingest_batch` runs the steps for many files at once (one transaction for (1), one for (3),
the copies of (2) in parallel so that their fsyncs share the file system's journal commits);
`ingest_file` is its one-file case. Per-file cost is what limits a PBX spool's intake.

A camera source keeps image only (R1.3; 002 zał.5 §3.3, 003 §4.2): a file taken into one
that carries a sound track is stored as its video streams alone, remuxed without re-encoding
(`video_only`), checked beside step (1) and before its upload (`sound_first`); a file with sound
and no picture is refused."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from kustosz import clock
from kustosz.audit import append as audit
from kustosz.audit.intake_lists import batch_details
from kustosz.db.bulk import inserted_ids, update_many
from kustosz.db.models import Recording, Source, session_of
from kustosz.db.tables import table_of
from kustosz.errors import KustoszError
from kustosz.holds.object_lock import held_ids, lock_until
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import get_source
from kustosz.ingest import intake_errors as refuse
from kustosz.ingest.copies import AWAY, AWAY_PL, Copies, buffer_of
from kustosz.ingest.keys import storage_key as storage_key  # index_batch takes it here
from kustosz.ingest.keys import storage_keys
from kustosz.ingest.marking import _hold_late, _mark_stored
from kustosz.ingest.sound_first import SoundFirst, drop_rows
from kustosz.ingest.undo import mark_orphans as _mark_orphans
from kustosz.ingest.undo import remove_object as _remove
from kustosz.ingest.undo import undo as _undo
from kustosz.ingest.upload_queue import QUEUED
from kustosz.ingest.upload_queue import queue_of as of
from kustosz.kinds import kind_of
from kustosz.retention.orphans import ORPHAN
from kustosz.states import RecordingState
from kustosz.storage import StoredFile
from kustosz.storage.base import Lockable, Unavailable, put_retained
from kustosz.vault import Vault

if TYPE_CHECKING:
    from kustosz.ingest.upload_queue import UploadQueue

log = logging.getLogger(__name__)

def queue_of(vault: Vault) -> UploadQueue:
    return of(vault)


@dataclass(frozen=True, slots=True)
class Item:
    """One file to take in; ``end`` defaults to ``start``."""

    path: Path
    start: datetime
    end: datetime | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """An item whose copy is whole; ``index`` is its position in the batch."""

    index: int
    id: int
    key: str
    size: int
    sha256: str
    start: datetime
    end: datetime
    version_id: str | None = None  # the object store's (StoredFile.version_id)


OnStored = Callable[[Session, list[Stored]], None]


# recordings.meta of a camera file: the SHA-256 of the content the intake checked and found
# without sound (R1.3), so playback need not probe it again (web/media.py `sound_checked`).
# Written only by the intake, after the check; never taken from a caller's meta.
SOUND_CHECKED = "sound_checked"


def check_item(item: Item) -> Item:
    if item.start.tzinfo is None or (item.end is not None and item.end.tzinfo is None):
        raise refuse.unzoned_times()
    end = item.end or item.start
    if end < item.start:
        raise refuse.end_before_start(end, item.start)
    meta = item.meta
    if meta and SOUND_CHECKED in meta:
        meta = {k: v for k, v in meta.items() if k != SOUND_CHECKED}
    return Item(item.path, item.start, end, meta)


def ingest_file(vault: Vault, source_name: str, path: Path, start: datetime,
                end: datetime | None = None, actor: str = "system",
                meta: dict[str, Any] | None = None, audit_it: bool = True,
                on_stored: Callable[[Session, Recording], None] | None = None) -> Recording:
    """Take ``path`` in; ``on_stored`` runs inside step (3)'s transaction, so rows a kind keeps
    beside the recording commit together with it or not at all."""
    item = check_item(Item(path, start, end, meta))
    if not path.is_file():
        raise refuse.no_such_file(path)
    hook: OnStored | None = None
    if on_stored is not None:
        one = on_stored  # a name mypy knows is not None inside the hook
        def hook(s: Session, done: list[Stored]) -> None:
            one(s, s.get_one(Recording, done[0].id))
    (result,) = ingest_batch(vault, source_name, [item], actor=actor, audit_it=audit_it,
                             on_stored=hook)
    if isinstance(result, BaseException):
        raise result
    with vault.reading() as s:
        return s.get_one(Recording, result.id)


def ingest_batch(vault: Vault, source_name: str, items: Sequence[Item], *,
                 actor: str = "system", audit_it: bool = True,
                 on_stored: OnStored | None = None,
                 allow_disabled: bool = False,
                 copy_workers: int | None = None) -> list[Stored | OSError | KustoszError]:
    """Take ``items`` in with two transactions in all; per item, `Stored` or the OSError
    (unreadable or vanished file, storage error) that kept it out (on an object store, the
    KustoszError of an upload the local spool could not keep either). A disabled source takes
    nothing in, unless ``allow_disabled``: for what it received while it was enabled (the
    open chunk a listener closes because its source was disabled).

    ``on_stored`` runs inside step (3)'s transaction with the whole copies, so rows a kind
    keeps beside its recordings commit together with them or not at all; if it (or the commit)
    fails, every copy of the batch is removed again and the error raised. Any other error
    while copying stops the copies not yet begun; the whole ones are committed, the rest
    undone, and the error raised.

    ``copy_workers``: at most this many copies at once (default `COPY_WORKERS`).
    """
    items = [check_item(item) for item in items]
    if not items:
        return []
    with vault.reading() as s:
        kind = get_source(s, source_name).kind
    if not kind_of(kind).image_only:
        return _ingest_batch(vault, source_name, items, None, actor=actor, audit_it=audit_it,
                             on_stored=on_stored, allow_disabled=allow_disabled,
                             copy_workers=copy_workers)
    with SoundFirst(vault, items) as checks:  # begun now, beside step (1) (sound_first)
        return _ingest_batch(vault, source_name, items, checks, actor=actor,
                             audit_it=audit_it, on_stored=on_stored,
                             allow_disabled=allow_disabled, copy_workers=copy_workers)


def _ingest_batch(vault: Vault, source_name: str, given: list[Item],
                  checks: SoundFirst[Item] | None, *, actor: str, audit_it: bool,
                  on_stored: OnStored | None, allow_disabled: bool,
                  copy_workers: int | None = None) -> list[Stored | OSError | KustoszError]:
    """``given``: the files as the caller named them (storage key suffix, audit); ``checks``:
    of a camera source, what is stored for each (a file without its sound), each checked,
    its row then marked with the SHA-256 stored."""
    return finish_batch(_begin(vault, source_name, given, checks, actor=actor,
                               audit_it=audit_it, allow_disabled=allow_disabled,
                               copy_workers=copy_workers), on_stored)


@dataclass
class Begun:
    """A batch whose rows are `pending` and whose copies run (`begin_batch`); it ends with
    `finish_batch`, or `abandon` undoes it."""

    vault: Vault
    given: list[Item]
    items: list[Item]
    actor: str
    audit_it: bool
    sound_checked: bool
    ids: list[int]
    keys: list[str]
    source_id: int
    name: str
    held: set[int] | None  # on a store with a lock: the items a hold already covers
    copies: Copies


def begin_batch(vault: Vault, source_name: str, items: Sequence[Item], *,
                actor: str = "system", audit_it: bool = True) -> Begun:
    """Steps (1) and (2) of `ingest_batch` begun, for a kind that keeps sound: the copies run
    in the pool while the caller prepares its next batch (a pass's batches overlap, so
    the copies' waits in the kernel and the caller's Python fill each other's gaps)."""
    checked = [check_item(item) for item in items]
    return _begin(vault, source_name, checked, None, actor=actor, audit_it=audit_it,
                  allow_disabled=False)


def _begin(vault: Vault, source_name: str, given: list[Item], checks: SoundFirst[Item] | None, *,
           actor: str, audit_it: bool, allow_disabled: bool, copy_workers: int | None = None
           ) -> Begun:
    now = datetime.now(UTC)
    # The server's clock was behind the true time when it stamped an item (set back, or
    # jumped since; kustosz.clock): the item counts from the later reading.
    behind = [timedelta(seconds=clock.lag_for(vault, it.start)) for it in given]
    with vault.transaction() as s:
        source = get_source(s, source_name)
        if not source.enabled and not allow_disabled:
            raise refuse.source_disabled(source_name)
        keys = storage_keys(source, [(it.start, it.path.suffix) for it in given])
        expiries = [expiry_of(source, it.start + lag, vault.policy)
                    for it, lag in zip(given, behind, strict=True)]
        # Every column with a default named (session's too): SQLite's driver takes them.
        rows: list[dict[str, Any]] = [
            {"source_id": source.id, "kind": source.kind, "start_at": it.start,
             "end_at": it.end, "storage_key": key, "meta": it.meta or {},
             "state": RecordingState.PENDING, "size": 0,
             "retain_from": it.start + lag if lag else None, "expires_at": expires,
             "ingested_at": now, "session": session_of(it.meta)}
            for it, key, lag, expires in zip(given, keys, behind, expiries, strict=True)]
        # Not the ORM's bulk insert: its per-row bookkeeping was a tenth of a PBX intake.
        ids = inserted_ids(s, table_of(Recording), rows, "storage_key")
        source_id, name = source.id, source.name
        # On a store with a lock each object carries its legal end and, if a hold already
        # covers it, the legal hold (holds/object_lock.py).
        held = held_ids(s, ids) if isinstance(vault.storage, Lockable) else None
    locks = [(lock_until(expires, now), held is not None and rid in held)
             for expires, rid in zip(expiries, ids, strict=True)]
    try:  # the check ran beside the transaction; refused: no copy begun, no object made
        items, hashes = (given, None) if checks is None else checks.result(keys)
    except BaseException:
        drop_rows(vault, ids)
        raise
    try:
        copies = Copies(vault, [it.path for it in items], keys, locks, copy_workers, hashes)
    except BaseException:
        _undo(vault, ids, keys)
        raise
    return Begun(vault, given, items, actor, audit_it, checks is not None, ids, keys,
                 source_id, name, held, copies)


def abandon(begun: Begun) -> None:
    """Undo a begun batch (its caller failed before finishing it): its copies are let end,
    then removed with its rows; its originals are where they were."""
    try:
        begun.copies.wait(sync=False)
    finally:
        _undo(begun.vault, begun.ids, begun.keys)


def finish_batch(begun: Begun, on_stored: OnStored | None
                 ) -> list[Stored | OSError | KustoszError]:
    """Step (2) waited for and made durable, and step (3): see `ingest_batch`."""
    vault, ids, keys, items = begun.vault, begun.ids, begun.keys, begun.items
    try:
        copies, failure = begun.copies.wait()
    except BaseException:
        _undo(vault, ids, keys)
        raise
    done = [Stored(i, ids[i], keys[i], c.size, c.sha256, items[i].start,
                   items[i].end or items[i].start, c.version_id)
            for i, c in enumerate(copies) if isinstance(c, StoredFile)]
    queue = buffer_of(vault)
    queued, placed = _queue_failed(queue, copies, ids, keys, items) if queue else ([], [])
    lost = [i for i, c in enumerate(copies) if not isinstance(c, StoredFile)
            and i not in {q.index for q in queued}]
    both = sorted(done + queued, key=lambda d: d.index)
    try:
        with vault.transaction() as s:
            if done:
                _mark_many(s, begun.source_id, done, [items[d.index].meta or {} for d in done]
                           if begun.sound_checked else None)
                if begun.held is not None:
                    _hold_late(vault, s, [(d.id, d.key, d.version_id) for d in done],
                               begun.held)
            if queued:
                assert queue is not None
                _mark_queued(s, queued, queue.id, items if begun.sound_checked else None)
            if both:
                if begun.audit_it:
                    _audit(s, begun.actor, begun.name, both, begun.given, items)
                if on_stored is not None:
                    on_stored(s, both)
    except BaseException:
        # E.g. on_stored found an item already taken by a concurrent intake: undo ours.
        _undo(vault, ids, keys)
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    if lost:  # a copy that failed after its rename (dir fsync), or an upload not verified
        _undo(vault, [ids[i] for i in lost], [keys[i] for i in lost])
    if failure is not None:
        raise failure
    by_index = {d.index: d for d in both}
    out: list[Stored | OSError | KustoszError] = []
    for i, c in enumerate(copies):  # a copy not begun (None) only follows a failure, raised
        out.append(by_index[i] if i in by_index else _failed(c))
    return out


def _failed(copy: StoredFile | OSError | KustoszError | None) -> OSError | KustoszError:
    assert isinstance(copy, (OSError, KustoszError)), copy  # whole copies are all stored
    return copy


def _queue_failed(queue: UploadQueue,
                  copies: list[StoredFile | OSError | KustoszError | None],
                  ids: list[int], keys: list[str], items: list[Item]
                  ) -> tuple[list[Stored], list[Path]]:
    """The items whose upload failed (the store, not the file: a KustoszError), copied into
    the local spool for the uploader; reported to the caller as taken in (its rows stay
    `pending` until the upload, which `_mark_queued` flags in step (3))."""
    queued: list[Stored] = []
    placed: list[Path] = []
    for i, c in enumerate(copies):
        if not isinstance(c, KustoszError) or not items[i].path.is_file():
            continue
        try:
            size, sha = queue.copy_in(ids[i], keys[i], items[i].path)
        except OSError:
            log.exception("could not keep %s in the local spool", items[i].path)
            continue
        placed.append(queue.path_for(ids[i], keys[i]))
        end = items[i].end or items[i].start
        queued.append(Stored(i, ids[i], keys[i], size, sha, items[i].start, end, None))
    return queued, placed


def _mark_queued(session: Session, queued: list[Stored], queue_id: str,
                 checked: list[Item] | None = None) -> None:
    """``checked``: the stored items of a batch checked for sound (their meta, as step (3)'s
    `_mark_many`: ``audio_removed`` is known after step (1), `sound_first`)."""
    for q in queued:
        rec = session.get_one(Recording, q.id)
        rec.size, rec.sha256 = q.size, q.sha256
        rec.meta = {**(rec.meta or {}), QUEUED: queue_id, **({} if checked is None else {
            **(checked[q.index].meta or {}), SOUND_CHECKED: q.sha256})}


def _mark_many(session: Session, source_id: int, done: list[Stored],
               checked_meta: list[dict[str, Any]] | None = None) -> None:
    """Step (3); ``checked_meta``: the rows' meta as step (1) wrote it, for files checked for
    sound (`SOUND_CHECKED` is added, naming the SHA-256 that was stored)."""
    table = table_of(Recording)
    if checked_meta is None:  # one statement per few hundred rows (db/bulk.py says why)
        update_many(session, table, "id", ("size", "sha256", "version_id"),
                    [(d.id, d.size, d.sha256, d.version_id) for d in done],
                    {"state": str(RecordingState.STORED)})
    else:
        session.execute(update(table).where(table.c.id == bindparam("rid")).values(
            size=bindparam("rsize"), sha256=bindparam("rsha"), state=RecordingState.STORED,
            version_id=bindparam("rver"), meta=bindparam("rmeta")),
            [{"rid": d.id, "rsize": d.size, "rsha": d.sha256, "rver": d.version_id,
              "rmeta": {**meta, SOUND_CHECKED: d.sha256}}
             for d, meta in zip(done, checked_meta, strict=True)])
    longest = max((d.end - d.start).total_seconds() for d in done)
    session.execute(update(Source).where(Source.id == source_id,
                                         Source.max_duration_s < longest)
                    .values(max_duration_s=longest))


def _audit(session: Session, actor: str, source: str, done: list[Stored],
           given: list[Item], items: list[Item]) -> None:
    def entry(d: Stored) -> dict[str, Any]:
        out = {"start": d.start.isoformat(), "end": d.end.isoformat(), "sha256": d.sha256,
               "size": d.size, "file": given[d.index].path.name}
        if (items[d.index].meta or {}).get("audio_removed"):
            out["audio_removed"] = True  # R1.3: stored as its video only
        return out

    if len(done) == 1:
        audit(session, actor, "recording.ingest", f"recording {done[0].id}",
              {"source": source, **entry(done[0])})
    else:
        # One entry per batch: the chain covers every id and hash (audit/intake_lists.py).
        audit(session, actor, "recording.ingest", f"recordings {done[0].id}..{done[-1].id}",
              {"source": source, **batch_details("recordings",
                                                 {str(d.id): entry(d) for d in done})})


def recover_pending(vault: Vault, older_than: datetime | None = None) -> int:
    """Undo intakes a crash interrupted (their originals are still where they came from).

    An adopted file (see `adopt_file`) has no original left once it was renamed into storage:
    if the file there has the hash noted in step (1), the intake is finished instead.
    """
    with vault.transaction() as s:
        query = select(Recording).where(Recording.state == RecordingState.PENDING)
        if older_than is not None:
            query = query.where(Recording.ingested_at < older_than)
        rows = [rec for rec in s.execute(query).scalars() if not (rec.meta or {}).get(ORPHAN)]
        queue = queue_of(vault)
        waiting = [rec for rec in rows if queue.mine(rec.meta) is False or (
            queue.mine(rec.meta) and queue.path_for(rec.id, rec.storage_key).is_file())]
        # Queued for the object store (upload_queue): its uploader's, or another node's.
        rows = [rec for rec in rows if rec not in waiting]
        for rec in rows:
            try:
                if _finish_adopted(vault, s, rec):
                    continue
            except Unavailable:
                continue  # whether the store has it is unknown: the next recovery looks
            if _remove(vault, rec.storage_key):
                s.delete(rec)
            else:  # the app's credentials cannot: the sweep's will (`remove_orphans`)
                _mark_orphans(s, {rec.id})
    return len(rows)


# -- files already inside the data folder ---------------------------------------------------

ADOPTED = "adopted"  # meta flag: step (2) was a rename, the original is gone afterwards


def _hash_file(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return f.tell(), digest.hexdigest()


def adopt_file(vault: Vault, source_id: int, path: Path, start: datetime, end: datetime,
               meta: dict[str, Any] | None = None,
               retain_from: datetime | None = None) -> Recording:
    """Take in a finished file that already lies under the data folder (a camera segment in the
    spool) by renaming it into storage: no second copy of every segment on the disk.

    Same three steps as `ingest_file`; step (1) also notes the size and hash so that recovery
    can finish an intake whose rename happened but whose step (3) did not. Not audited per
    item: a camera makes 8,640 segments a day; sessions and gaps are audited instead.
    ``retain_from``: a later reading of the start than ``start`` (the clock jumped,
    kustosz.clock); retention counts from it.
    """
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise refuse.adopt_times("adopt_file")
    size, sha = _hash_file(path)
    with vault.transaction() as s:
        source = s.get(Source, source_id)
        if source is None:
            raise refuse.no_source(source_id)
        rec = Recording(source_id=source.id, kind=source.kind, start_at=start, end_at=end,
                        storage_key=storage_key(source, start, path.suffix),
                        meta={**(meta or {}), ADOPTED: True}, state=RecordingState.PENDING,
                        size=size,
                        sha256=sha, retain_from=retain_from,
                        expires_at=expiry_of(source, max(start, retain_from or start),
                                             vault.policy),
                        ingested_at=datetime.now(UTC))
        s.add(rec)
        s.flush()
        rec_id, key, until = rec.id, rec.storage_key, lock_until(rec.expires_at)
        lockable = isinstance(vault.storage, Lockable)
        held = held_ids(s, [rec_id]) if lockable else set()
    queue = buffer_of(vault)
    try:
        if queue is not None and queue.away:
            raise Unavailable(AWAY, pl=AWAY_PL)
        stored = put_retained(vault.storage, key, path, retain_until=until,  # a rename on disk
                              legal_hold=bool(held), move=True, sha256=sha)
    except (OSError, KustoszError) as exc:
        if queue is None or not path.is_file():
            raise
        # The object store is away: the segment waits in the local spool (flagged first,
        # then moved: a kill between the two leaves it in its session folder, taken in again).
        queue.flag(rec_id)
        queue.move_in(rec_id, key, path)
        if not queue.away:
            log.warning("upload of %s failed (%s); kept in the local spool", key, exc)
        queue.away = True
        with vault.reading() as s:
            return s.get_one(Recording, rec_id)
    with vault.transaction() as s:
        rec = s.get_one(Recording, rec_id)
        rec.version_id = stored.version_id
        _mark_stored(s, rec)
        if lockable:
            _hold_late(vault, s, [(rec_id, key, stored.version_id)], held)
    return rec


def _finish_adopted(vault: Vault, session: Session, rec: Recording) -> bool:
    if not (rec.meta or {}).get(ADOPTED) or not vault.storage.exists(rec.storage_key):
        return False
    found = vault.storage.checksum(rec.storage_key)
    if found.sha256 != rec.sha256:
        return False
    rec.version_id = found.version_id
    _mark_stored(session, rec)
    return True
