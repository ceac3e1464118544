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
(`video_only`), before anything is written; a file with sound and no picture is refused.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from kustosz import clock
from kustosz.audit import append as audit
from kustosz.db.bulk import inserted_ids
from kustosz.db.models import Recording, Source
from kustosz.db.tables import table_of
from kustosz.errors import InputError, KustoszError
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.holds.object_lock import held_ids, lock_until
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import get_source
from kustosz.ingest.marking import _hold_late, _mark_stored
from kustosz.ingest.upload_queue import QUEUED, is_buffered
from kustosz.ingest.upload_queue import queue_of as of
from kustosz.kinds import kind_of
from kustosz.retention.orphans import ORPHAN
from kustosz.states import RecordingState
from kustosz.storage import StoredFile
from kustosz.storage.base import (
    Lockable,
    Refused,
    Unavailable,
    put_retained,
)
from kustosz.vault import Vault

if TYPE_CHECKING:
    from kustosz.ingest.upload_queue import UploadQueue

log = logging.getLogger(__name__)

# Copies running at once: each ends in an fsync, and concurrent fsyncs are committed together
# by the journal (ext4/xfs), which is what makes many small files cheap. More threads than
# this stop paying on a single disk.
COPY_WORKERS = 16
_pool: ThreadPoolExecutor | None = None  # kept between batches: starting threads is not free


AWAY = "the object store is away (uploads wait in the local spool)"
AWAY_PL = "Magazyn obiektów nie odpowiada (pliki czekają w buforze lokalnym)."


def _buffer(vault: Vault) -> UploadQueue | None:
    """The queue a failed upload leaves its file in, on an object store (upload_queue)."""
    return of(vault) if is_buffered(vault) else None


def queue_of(vault: Vault) -> UploadQueue:
    return of(vault)


def storage_key(source: Source, start: datetime, suffix: str) -> str:
    day = start.astimezone(UTC)
    return f"{source.name}/{day:%Y/%m/%d}/{day:%H%M%S}-{uuid.uuid4().hex[:12]}{suffix.lower()}"


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
        raise InputError("times must carry a zone (e.g. 2026-11-21T10:00:00+01:00)")
    end = item.end or item.start
    if end < item.start:
        raise InputError(f"end {end.isoformat()} is before start {item.start.isoformat()}")
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
        raise InputError(f"no such file: {path}")
    hook: OnStored | None = None
    if on_stored is not None:
        one = on_stored

        def hook(s: Session, done: list[Stored]) -> None:
            one(s, s.get_one(Recording, done[0].id))
    (result,) = ingest_batch(vault, source_name, [item], actor=actor, audit_it=audit_it,
                             on_stored=hook)
    if isinstance(result, BaseException):
        raise result
    with vault.reading() as s:
        return s.get_one(Recording, result.id)


# Muxers for the usual camera-file suffixes; anything else is written back in the container
# ffmpeg read it from (its demuxer's first name), so the stored file keeps its format.
_MUXERS = {".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts", ".mp4": "mp4", ".m4v": "mp4",
           ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi", ".flv": "flv"}


def _streams(path: Path) -> tuple[int, int, str] | None:
    """(video streams, audio streams, demuxer) as ffmpeg sees the file; None if it is no media
    file ffmpeg can read (then it holds no sound any player could play either). An error of
    the system rather than of the file (no such file, too many open files, an I/O error, no
    memory) is raised, never read as "no sound": what says so is kept (the intake's
    `sound_checked` mark, playback's verdict), and a file with sound would then be served
    with it (R1.3)."""
    import av  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    try:
        with av.open(str(path)) as c:
            return len(c.streams.video), len(c.streams.audio), c.format.name
    except (OSError, MemoryError):
        raise
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        return None


def video_only(path: Path, scratch: Path, muxer: str | None = None) -> Path | None:
    """R1.3 at intake: None if ``path`` carries no sound (it is stored as it is); else a copy in
    ``scratch`` holding its video streams only (`-map 0:v -c copy`: no re-encoding), checked
    to have no audio, in ``muxer`` or the file's own container. A file with sound and no
    picture is refused."""

    found = _streams(path)
    if found is None or found[1] == 0:
        return None
    videos, _audio, demuxer = found
    if videos == 0:
        raise InputError(f"{path.name} holds sound and no picture: a camera source keeps "
                         "image only (R1.3)",
                         pl=f"Plik {path.name} zawiera dźwięk, a nie zawiera obrazu: źródło "
                            "wizyjne przechowuje wyłącznie obraz (bez dźwięku).")
    muxer = muxer or _MUXERS.get(path.suffix.lower(), demuxer.split(",")[0])
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"{uuid.uuid4().hex}.video.part"  # *.part: removed by clean_tmp after a crash
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
         "-map", "0:v", "-an", "-sn", "-dn", "-c", "copy", "-f", muxer, str(out)],
        capture_output=True, text=True, timeout=3600)
    try:
        checked = _streams(out) if done.returncode == 0 else None
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if checked is None or checked[0] == 0 or checked[1] != 0:
        out.unlink(missing_ok=True)
        raise InputError(f"cannot take the sound track out of {path.name} ({muxer}): "
                         f"{done.stderr.strip()[-300:] or 'the result still holds sound'}; "
                         "convert it to MP4 or MPEG-TS first",
                         pl=f"Nie udało się usunąć ścieżki dźwiękowej z pliku {path.name}; "
                            "przekształć go najpierw do formatu MP4 lub MPEG-TS.")
    return out


def _without_sound(vault: Vault, items: list[Item]) -> tuple[list[Item], list[Path]]:
    """The items of a camera source as they are to be stored (video only), and the scratch
    copies made for them (the caller removes them)."""
    made: list[Path] = []
    out = []
    try:
        for it in items:
            copy = video_only(it.path, vault.storage.scratch)
            if copy is None:
                out.append(it)
                continue
            made.append(copy)
            out.append(Item(copy, it.start, it.end, {**(it.meta or {}), "audio_removed": True}))
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise
    return out, made


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
        return _ingest_batch(vault, source_name, items, items, actor=actor, audit_it=audit_it,
                             on_stored=on_stored, allow_disabled=allow_disabled,
                             copy_workers=copy_workers)
    stored, scratch = _without_sound(vault, items)
    try:
        return _ingest_batch(vault, source_name, items, stored, actor=actor,
                             audit_it=audit_it, on_stored=on_stored,
                             allow_disabled=allow_disabled, copy_workers=copy_workers,
                             sound_checked=True)
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _ingest_batch(vault: Vault, source_name: str, given: list[Item], items: list[Item], *,
                  actor: str, audit_it: bool, on_stored: OnStored | None,
                  allow_disabled: bool, copy_workers: int | None = None,
                  sound_checked: bool = False) -> list[Stored | OSError | KustoszError]:
    """``given``: the files as the caller named them (storage key suffix, audit); ``items``:
    what is stored for each (a camera file without its sound; ``sound_checked``: each was
    checked, and its row is marked with the SHA-256 stored)."""
    now = datetime.now(UTC)
    # The server's clock was behind the true time when it stamped an item (set back, or
    # jumped since; kustosz.clock): the item counts from the later reading.
    behind = [timedelta(seconds=clock.lag_for(vault, it.start)) for it in items]
    with vault.transaction() as s:
        source = get_source(s, source_name)
        if not source.enabled and not allow_disabled:
            raise InputError(f"source {source_name!r} is disabled")
        keys = [storage_key(source, it.start, orig.path.suffix)
                for it, orig in zip(items, given, strict=True)]
        expiries = [expiry_of(source, it.start + lag, vault.policy)
                    for it, lag in zip(items, behind, strict=True)]
        rows: list[dict[str, Any]] = [  # Core's parameters, as inserted_ids takes them
            {"source_id": source.id, "kind": source.kind, "start_at": it.start,
             "end_at": it.end, "storage_key": key, "meta": it.meta or {},
             "state": RecordingState.PENDING, "size": 0,
             "retain_from": it.start + lag if lag else None, "expires_at": expires,
             "ingested_at": now}
            for it, key, lag, expires in zip(items, keys, behind, expiries, strict=True)]
        # Core, not the ORM's bulk insert: the same executemany with RETURNING, without the
        # ORM's per-row bookkeeping (a tenth of a tiny-file PBX intake's time).
        ids = inserted_ids(s, table_of(Recording), rows, "storage_key")
        source_id, name = source.id, source.name
        # On a store with a lock each object carries its legal end and, if a hold already
        # covers it, the legal hold (holds/object_lock.py).
        lockable = isinstance(vault.storage, Lockable)
        held = held_ids(s, ids) if lockable else set()
    locks = [(lock_until(expires, now), rid in held)
             for expires, rid in zip(expiries, ids, strict=True)]
    try:
        copies, failure = _copy_all(vault, items, keys, locks, copy_workers)
    except BaseException:
        _undo(vault, ids, keys)
        raise
    done = [Stored(i, ids[i], keys[i], c.size, c.sha256, items[i].start,
                   items[i].end or items[i].start, c.version_id)
            for i, c in enumerate(copies) if isinstance(c, StoredFile)]
    queue = _buffer(vault)
    queued, placed = _queue_failed(queue, copies, ids, keys, items) if queue else ([], [])
    lost = [i for i, c in enumerate(copies) if not isinstance(c, StoredFile)
            and i not in {q.index for q in queued}]
    both = sorted(done + queued, key=lambda d: d.index)
    try:
        with vault.transaction() as s:
            if done:
                _mark_many(s, source_id, done,
                           [items[d.index].meta or {} for d in done] if sound_checked else None)
                if lockable:
                    _hold_late(vault, s, [(d.id, d.key, d.version_id) for d in done], held)
            if queued:
                assert queue is not None
                _mark_queued(s, queued, queue.id, sound_checked)
            if both:
                if audit_it:
                    _audit(s, actor, name, both, given, items)
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
    for i, c in enumerate(copies):
        if i in by_index:
            out.append(by_index[i])
        else:
            # Whole copies are all in `both`; a copy not begun (None) only follows a failure,
            # raised above.
            assert isinstance(c, (OSError, KustoszError)), c
            out.append(c)
    return out


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
    if queued:
        if not queue.away:
            log.warning("uploads failed (%s); %d files kept in the local spool",
                        next(c for c in copies if isinstance(c, KustoszError)), len(queued))
        queue.away = True
    return queued, placed


def _mark_queued(session: Session, queued: list[Stored], queue_id: str,
                 sound_checked: bool = False) -> None:

    for q in queued:
        rec = session.get_one(Recording, q.id)
        rec.size, rec.sha256 = q.size, q.sha256
        rec.meta = {**(rec.meta or {}), QUEUED: queue_id,
                    **({SOUND_CHECKED: q.sha256} if sound_checked else {})}


def _copy_all(vault: Vault, items: list[Item], keys: list[str],
              locks: list[tuple[datetime | None, bool]],
              copy_workers: int | None = None
              ) -> tuple[list[StoredFile | OSError | KustoszError | None], BaseException | None]:
    """Step (2) for every item; None for a copy not begun because another failed."""
    results: list[StoredFile | OSError | KustoszError | None] = [None] * len(items)
    buffer = _buffer(vault)
    stop = threading.Event()
    failure: list[BaseException] = []

    def copy(i: int) -> None:
        if stop.is_set():
            return
        try:
            if buffer is not None and buffer.away:  # queued at once (upload_queue)
                raise Unavailable(AWAY, pl=AWAY_PL)
            results[i] = put_retained(vault.storage, keys[i], items[i].path,
                                      retain_until=locks[i][0], legal_hold=locks[i][1],
                                      durable=not batched)
        except OSError as exc:
            results[i] = exc
        except BaseException as exc:
            if buffer is not None and isinstance(exc, KustoszError):
                results[i] = exc  # kept in the local spool
                return
            stop.set()
            failure.append(exc)

    # A single file is fsynced on its own; a batch is flushed with one syncfs at the end,
    # which is far cheaper than two fsyncs per file and just as durable before step (3).
    batched = len(items) > 1
    workers = COPY_WORKERS if copy_workers is None else min(copy_workers, COPY_WORKERS)
    if not batched or workers <= 1:
        for i in range(len(items)):
            copy(i)
    else:
        global _pool
        if _pool is None or _pool._max_workers != COPY_WORKERS:
            _pool = ThreadPoolExecutor(COPY_WORKERS, thread_name_prefix="kustosz-copy")
        # Each worker takes the next item until none is left: one task per worker, not a
        # future per file (for a PBX spool's small recordings the future cost more than the
        # copy). next() of a shared range iterator is atomic under the GIL.
        todo = iter(range(len(items)))

        def drain(_: int) -> None:
            for i in todo:
                copy(i)
        list(_pool.map(drain, range(min(workers, len(items)))))
    # Also after a failure: the copies that did finish are marked stored by the caller before
    # it raises the failure, so they must be on the disk first (review s24, S4).
    if batched and any(isinstance(r, StoredFile) for r in results):
        vault.storage.sync()
    return results, (failure[0] if failure else None)


def _undo(vault: Vault, ids: list[int], keys: list[str]) -> None:
    kept = {rid for rid, key in zip(ids, keys, strict=True) if not _remove(vault, key)}
    with vault.transaction() as s:
        s.execute(delete(Recording).where(Recording.id.in_([i for i in ids if i not in kept])))
        _mark_orphans(s, kept)


def _remove(vault: Vault, key: str) -> bool:
    """Delete an undone intake's object with the app's credentials; False if it may be left
    in the store (then its row is kept as an orphan)."""
    try:
        vault.storage.delete(key)
    except (Refused, Unavailable):
        return False
    return True


def _mark_orphans(session: Session, ids: set[int]) -> None:
    for rec in session.execute(select(Recording).where(Recording.id.in_(ids))).scalars():
        rec.meta = {**(rec.meta or {}), ORPHAN: True}


def _mark_many(session: Session, source_id: int, done: list[Stored],
               checked_meta: list[dict[str, Any]] | None = None) -> None:
    """Step (3); ``checked_meta``: the rows' meta as step (1) wrote it, for files checked for
    sound (`SOUND_CHECKED` is added, naming the SHA-256 that was stored)."""
    table = table_of(Recording)
    values: dict[str, object] = {"size": bindparam("rsize"), "sha256": bindparam("rsha"),
                              "state": RecordingState.STORED, "version_id": bindparam("rver")}
    rows: list[dict[str, object]] = [
        {"rid": d.id, "rsize": d.size, "rsha": d.sha256, "rver": d.version_id} for d in done]
    if checked_meta is not None:
        values["meta"] = bindparam("rmeta")
        for row, d, meta in zip(rows, done, checked_meta, strict=True):
            row["rmeta"] = {**meta, SOUND_CHECKED: d.sha256}
    session.execute(update(table).where(table.c.id == bindparam("rid")).values(**values), rows)
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
        # One entry per batch: the chain still covers every id and hash.
        audit(session, actor, "recording.ingest",
              f"recordings {done[0].id}..{done[-1].id}",
              {"source": source, "count": len(done),
               "recordings": {str(d.id): entry(d) for d in done}})


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
        raise InputError("adopt_file needs zoned times with start <= end")
    size, sha = _hash_file(path)
    with vault.transaction() as s:
        source = s.get(Source, source_id)
        if source is None:
            raise InputError(f"no source with id {source_id}")
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
    queue = _buffer(vault)
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
