"""The local spool as the buffer while the object store is away (issue 16 item 1).

With [storage] kind = "s3" an intake whose upload fails (the store unreachable, stopped
answering mid-upload, or refusing for a while) does not lose the file: it is kept in
``<data>/spool/uploads/`` (a node's own ``spool/nodes/<node>/uploads/``) under the name
``<recording id><suffix>``, and its index row stays ``pending`` with ``meta.queued`` = this
queue's id. Nothing is indexed as stored until it is (invariant 5). `Uploader.run`, a thread of
`kustosz serve`, drains the queue oldest first with backoff: each file is hashed against the
row, uploaded with the retention and legal hold a normal intake gets, verified by the store
(size, SHA-256), and only then marked stored with its version id; the file goes after that.

Crash safety (recovery, `ingest.files.recover_pending` and `clean`):
- a camera segment (renamed in, its session folder holds it until then) is flagged *before*
  it is moved: a flagged row without its file is undone, and the segment is taken in again
  from its session folder;
- a file copied in for `ingest_batch` (whose original stays where it came from) is placed
  *before* the row is flagged, in the transaction that also commits what the caller keeps
  beside it: an unflagged row is undone as any interrupted intake, its copy removed;
- a file uploaded but not yet marked (a kill between the two) is found in the store under its
  key with the row's SHA-256 and marked, not uploaded twice;
- a file whose row is no longer pending and flagged (marked stored, then the kill) is removed.

The queue id tells the spools of several machines apart: a row another node queued is left
to that node (its file is on that node's disk).

Alerts: ``storage_unreachable`` while uploads fail, cleared by a pass that uploaded what it
found; ``spool_over_limit`` while the queue holds more than [storage] spool_limit. Past the
limit recording goes on (R1.2): queued material is never deleted to make room; when the local
disk itself runs short, the full-disk handling applies (retention/pressure.py, ``disk_full``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.db.models import Recording
from kustosz.db.outage import is_database_away
from kustosz.errors import KustoszError
from kustosz.fsutil import fsync_file, replace, write_atomic
from kustosz.holds.object_lock import held_ids, lock_until
from kustosz.ingest.marking import _hold_late, _mark_stored
from kustosz.sizes import size_said
from kustosz.states import AlertRow, RecordingState
from kustosz.storage.base import CHUNK, KeyTaken, StoredFile, put_retained, retain
from kustosz.vault import Vault
from kustosz.watchdog import Loop, progress_of
from kustosz.words import count_pl, plural

log = logging.getLogger(__name__)

QUEUED = "queued"  # recordings.meta: the id of the queue that holds the file
ID_NAME = "queue.id"
BACKOFF_MIN_S, BACKOFF_MAX_S = 2.0, 60.0
AWAY_S = 120.0  # see UploadQueue.away
IDLE_S = 30.0  # a pass without a wake-up: the limit and the alert are looked at again
# The longest the uploader may honestly go without a beat of serve's watchdog
# (kustosz.watchdog): one file's upload (a mail or event chunk of a busy day is gigabytes; each
# call to the store ends by its deadline, [storage] deadline_seconds plus the size at
# deadline_min_rate: storage.s3_deadline) and its row (connect 10 s, an answer 60 s:
# db.deadline). It beats between files and while it waits.
ALLOWANCE_S = 1800.0


def is_buffered(vault: Vault) -> bool:
    """The store is remote: an upload that fails leaves the file in the local spool."""
    return vault.store_is_remote


def queue_of(vault: Vault) -> UploadQueue:
    """The vault's upload queue (kustosz.vault_services): the data folder's own spool unless
    `use_folder` named a node's."""
    return vault.services.of(UploadQueue,
                             lambda: UploadQueue(vault, vault.root / "spool" / "uploads"))


def use_folder(vault: Vault, folder: Path) -> UploadQueue:
    """A node's own queue (serve --node): set before anything records."""
    return vault.services.put(UploadQueue, UploadQueue(vault, folder))


def _hash(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return f.tell(), digest.hexdigest()


@dataclass
class Drained:
    uploaded: int = 0
    left: int = 0  # files still queued after the pass
    error: BaseException | None = None
    damaged: int = 0  # files whose content no longer has the row's hash (kept, not uploaded)


class SpoolDamaged(KustoszError):
    """A spooled file differs from the hash noted when it was taken in: never uploaded as
    that recording; it stays for a person to look at."""


class UploadQueue:
    def __init__(self, vault: Vault, folder: Path) -> None:
        self.vault, self.folder = vault, folder
        self.wake = threading.Event()
        self._id: str | None = None
        self._drain = threading.Lock()  # one pass at a time in this process
        self._away_until = 0.0

    # The store failed lately: intakes queue at once instead of each waiting for its own
    # upload to fail. Until the uploader empties the queue, or for AWAY_S (a process without
    # an uploader, e.g. a lone `kustosz material add`, tries the store again after that).
    @property
    def away(self) -> bool:
        return time.monotonic() < self._away_until

    @away.setter
    def away(self, value: bool) -> None:
        self._away_until = time.monotonic() + AWAY_S if value else 0.0

    # -- identity and names -----------------------------------------------------------
    def known_id(self) -> str | None:
        if self._id is None:
            with contextlib.suppress(OSError):
                self._id = (self.folder / ID_NAME).read_text().strip() or None
        return self._id

    @property
    def id(self) -> str:
        if self.known_id() is None:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.folder / ID_NAME, uuid.uuid4().hex)
            self._id = None
        found = self.known_id()
        assert found is not None
        return found

    def path_for(self, rec_id: int, key: str) -> Path:
        return self.folder / f"{rec_id}{PurePosixPath(key).suffix.lower()}"

    def mine(self, meta: dict[str, Any] | None) -> bool | None:
        """True: queued here; False: queued by another spool; None: not queued."""
        flag = (meta or {}).get(QUEUED)
        if not flag:
            return None
        return flag == self.known_id()

    # -- putting in -------------------------------------------------------------------
    def flag(self, rec_id: int) -> None:
        with self.vault.transaction() as s:
            rec = s.get(Recording, rec_id)
            rec.meta = {**(rec.meta or {}), QUEUED: self.id}

    def move_in(self, rec_id: int, key: str, path: Path) -> Path:
        """A finished file on the data folder's disk, renamed in (a camera segment)."""
        dest = self.path_for(rec_id, key)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            # the segment is whole and hashed already; its old folder is ffmpeg's
            replace(path, dest, sync_source=False)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # another file system after all: copy
                raise
            self.copy_in(rec_id, key, path)
            path.unlink(missing_ok=True)
        self.wake.set()
        return dest

    def copy_in(self, rec_id: int, key: str, path: Path) -> tuple[int, str]:
        """A copy of a file that stays where it is (an original of `ingest_batch`), durable
        before it returns; its size and SHA-256."""
        dest = self.path_for(rec_id, key)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        part = dest.with_name(dest.name + ".part")
        digest, size = hashlib.sha256(), 0
        try:
            with path.open("rb") as src, part.open("wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                fsync_file(out)
            replace(part, dest, sync_source=False)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        self.wake.set()
        return size, digest.hexdigest()

    # -- what it holds ----------------------------------------------------------------
    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.iterdir()
                if p.is_file() and p.name != ID_NAME and not p.name.endswith(".part")]

    def backlog(self) -> tuple[int, int]:
        """Files waiting for the store, and their bytes."""
        files = size = 0
        for path in self.files():
            with contextlib.suppress(OSError):
                size += path.stat().st_size
                files += 1
        return files, size

    def _rows(self) -> list[Recording]:
        with self.vault.reading() as s:
            rows = s.execute(select(Recording).where(
                Recording.state == RecordingState.PENDING)
                .order_by(Recording.start_at, Recording.id)).scalars().all()
        return [r for r in rows if self.mine(r.meta)]

    def clean(self) -> int:
        """Start-up: remove files no pending row of this queue names (marked stored before a
        kill removed the file, or placed for an intake that was then undone)."""
        keep = {self.path_for(r.id, r.storage_key).name for r in self._rows()} \
            if self.known_id() else set()
        n = 0
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.is_file() and path.name != ID_NAME and path.name not in keep:
                    path.unlink(missing_ok=True)
                    n += 1
        return n

    # -- draining ---------------------------------------------------------------------
    def drain(self, stop: threading.Event | None = None,
              beat: Callable[[], None] | None = None) -> Drained:
        """Upload what waits, oldest first, a few files at once (the store's
        `uploads_in_flight`, [storage]); each is marked stored as soon as its own upload was
        verified. The first failure begins no more uploads (the store is away: the rest
        would fail too); those already under way end, each by its own deadline, and are
        marked if they went up. ``beat``: called before each file and as each ends (a
        watchdog's)."""
        result = Drained()
        if self.known_id() is None:
            return result
        with self._drain:
            rows = self._rows()
            # Several at once is safe after a kill: what a killed pass left under a key is
            # found among all the key's versions (`_up_already`), not only its latest.
            width = max(1, min(int(getattr(self.vault.storage, "uploads", 1)), len(rows)))
            with ThreadPoolExecutor(width, thread_name_prefix="kustosz-drain") as pool:
                stopped = self._pass(rows, pool, width, result, stop, beat)
            if result.error is not None:
                self.away = True
            elif not stopped:
                self.away = False
        return result

    def _pass(self, rows: list[Recording], pool: ThreadPoolExecutor, width: int,
              result: Drained, stop: threading.Event | None,
              beat: Callable[[], None] | None) -> bool:
        """`drain`'s uploads, at most ``width`` at once; True if ``stop`` ended it early."""
        todo = iter(rows)
        running: dict[Future[StoredFile], tuple[Recording, Path]] = {}
        skipped, stopped, unexpected = 0, False, None
        while True:
            while result.error is None and unexpected is None and not stopped \
                    and len(running) < width and (rec := next(todo, None)) is not None:
                if beat is not None:
                    beat()
                if stop is not None and stop.is_set():
                    stopped = True
                    break
                path = self.path_for(rec.id, rec.storage_key)
                if not path.is_file():  # being moved in right now, or recovery's to undo
                    skipped += 1
                    continue
                running[pool.submit(self._upload, rec, path)] = (rec, path)
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                rec, path = running.pop(future)
                if beat is not None:
                    beat()
                try:
                    stored = future.result()
                except SpoolDamaged as exc:  # this file only: the others still go up
                    log.error("%s", exc)
                    result.damaged += 1
                    continue
                except (OSError, KustoszError) as exc:
                    result.error = result.error or exc
                    continue
                except BaseException as exc:  # raised once the uploads under way ended
                    unexpected = unexpected or exc
                    continue
                if self._mark(rec, stored, path):
                    result.uploaded += 1
        if unexpected is not None:
            raise unexpected
        if result.error is not None or stopped:
            result.left = len(rows) - result.uploaded - result.damaged - skipped
        return stopped

    def _mark(self, rec: Recording, stored: StoredFile, path: Path) -> bool:
        """A verified upload's row marked stored with its version id, then its file removed;
        False if the row is no longer pending (its file is `clean`'s)."""
        with self.vault.transaction() as s:
            row = s.get(Recording, rec.id)
            if row is None or row.state != RecordingState.PENDING:
                return False
            meta = {k: v for k, v in (row.meta or {}).items() if k != QUEUED}
            row.meta, row.storage_key = meta, stored.key
            row.version_id, row.size, row.sha256 = (stored.version_id, stored.size,
                                                    stored.sha256)
            _mark_stored(s, row)
            _hold_late(self.vault, s, [(row.id, stored.key, stored.version_id)], set())
        path.unlink(missing_ok=True)
        return True

    def _upload(self, rec: Recording, path: Path) -> StoredFile:
        store = self.vault.storage
        size, sha = _hash(path)
        if rec.sha256 and sha != rec.sha256:
            raise SpoolDamaged(
                f"the spooled copy of recording {rec.id} ({path}) does not match the hash "
                "noted when it was taken in; it is kept, not uploaded",
                pl=f"Kopia nagrania {rec.id} w buforze lokalnym ({path}) nie zgadza się ze "
                   "skrótem zapisanym przy przyjęciu; zostaje w buforze, nie jest wysyłana.")
        now = datetime.now(UTC)
        until = lock_until(rec.expires_at, now)
        with self.vault.reading() as s:
            held = rec.id in held_ids(s, [rec.id])
        key = rec.storage_key
        found, others = _up_already(store, key, size, sha)
        if found is None and not others:
            try:
                return put_retained(store, key, path, retain_until=until, legal_hold=held,
                                    sha256=sha)
            except KeyTaken:
                # A killed pass's upload the store finished only now, after the look above.
                found, others = _up_already(store, key, size, sha)
        if found is not None:
            # Uploaded before a kill or a cut connection: marked, not uploaded twice.
            if until is not None:
                with contextlib.suppress(FileNotFoundError):
                    retain(store, key, until, found.version_id)
            return found
        if others:
            # Something else under the key, locked (nothing deletes it before its time): named
            # in the log and left to the store check's alert; the material goes up under a
            # key of its own.
            log.error("recording %d: its key %s holds version(s) %s that are not its spooled "
                      "file; uploaded under a key of its own", rec.id, key, ", ".join(others))
            stem = PurePosixPath(key)
            key = str(stem.with_name(f"{stem.stem}-{uuid.uuid4().hex[:8]}{stem.suffix}"))
        return put_retained(store, key, path, retain_until=until, legal_hold=held,
                            sha256=sha)


def _up_already(store: Any, key: str, size: int, sha: str) -> tuple[StoredFile | None,
                                                                   list[str]]:
    """A version under ``key`` that is this file (read back whole and hashed), else the
    versions that are not. Every version, not only the latest: a pass killed with uploads
    under way may leave one the store finished after the client was gone (a kill after the
    last byte was sent), and the latest may then be a later try's."""
    listed = getattr(store, "versions", None)
    # a store without versions: its one object, if any
    found = listed(key) if listed is not None else \
        [(None, False)] if store.exists(key) else []
    others = []
    for version, marker in found:
        if marker:
            continue
        try:
            got = store.checksum(key, version=version)
        except FileNotFoundError:  # listed, not readable yet (being finished): the PUT's turn
            continue
        if got.size == size and got.sha256 == sha:
            return got, []
        others.append(version or "(the only one)")
    return None, others


# -- the background thread --------------------------------------------------------------
def _unreachable(vault: Vault, error: BaseException, files: int, size: int) -> str:
    """The alert names the store and why it did not take the upload (unreachable, refusing,
    or too slow: a call past its deadline, kustosz.storage.s3_deadline)."""
    s3 = vault.config.s3
    store = "?" if s3 is None else f"{s3.endpoint}/{s3.bucket}" + \
        (f"/{s3.prefix}" if s3.prefix else "")  # the office's part of a shared bucket
    why_pl = getattr(error, "pl", None) or str(error) or type(error).__name__
    why = str(error) or type(error).__name__
    waiting = plural(files, ("czeka", "zostanie wysłany"), ("czekają", "zostaną wysłane"),
                     ("czeka", "zostanie wysłanych"))
    return (f"Magazyn obiektów {store} nie przyjmuje nagrań: {why_pl.rstrip('.')}. "
            f"{count_pl(files, 'plik', 'pliki', 'plików')} ({size_said(size)}) {waiting[0]} "
            f"w buforze lokalnym i {waiting[1]} po jego powrocie. / The object store "
            f"{store} does not take uploads: {why}; {files} files wait in the local spool.")


def note_alerts(vault: Vault, queue: UploadQueue, drained: Drained,
                now: datetime | None = None) -> None:
    """Raise or clear ``storage_unreachable`` and ``spool_over_limit``. Never raises: the
    uploads matter more than their alert."""
    now = now or datetime.now(UTC)
    limit = vault.config.s3.spool_limit if vault.config.s3 is not None else None
    files, size = queue.backlog()
    try:
        with vault.transaction() as s:
            if drained.error is not None:
                raise_row(s, AlertRow.STORAGE_UNREACHABLE,
                          _unreachable(vault, drained.error, files, size), now)
            elif files == 0 or drained.uploaded:
                clear_rows(s, AlertRow.STORAGE_UNREACHABLE, now)
            if limit is not None and size > limit:
                raise_row(s, AlertRow.SPOOL_OVER_LIMIT,
                          f"Bufor lokalny zawiera {size_said(size)} nagrań czekających na "
                          f"magazyn obiektów ({count_pl(files, 'plik', 'pliki', 'plików')}), "
                          f"ponad limit {size_said(limit)} "
                          "([storage] spool_limit); nagrywanie trwa, dopóki jest miejsce na "
                          f"dysku. / The local spool holds {size} bytes waiting for the "
                          f"object store, over spool_limit ({limit} bytes).", now)
            else:
                clear_rows(s, AlertRow.SPOOL_OVER_LIMIT, now)
    except Exception:
        log.exception("could not record the upload queue's alerts")


class Uploader:
    """Drains a queue with backoff while the store is away; woken when a file is queued."""

    def __init__(self, vault: Vault, queue: UploadQueue | None = None,
                 backoff: tuple[float, float] | None = None) -> None:
        self.vault, self.queue = vault, queue or queue_of(vault)
        self.backoff = backoff or (BACKOFF_MIN_S, BACKOFF_MAX_S)
        self._progress: Loop | None = None  # serve's watchdog, while `run` runs

    def run(self, stop: threading.Event) -> None:
        delay = self.backoff[0]
        self._progress = progress_of(self.vault).loop("uploads", ALLOWANCE_S)
        while not stop.is_set():
            self._progress.beat()
            database_away = False
            try:
                drained = self.queue.drain(stop, self._progress.beat)
            except Exception as exc:  # the database away: the files wait on disk
                database_away = is_database_away(exc)
                if not database_away:
                    log.exception("upload pass failed")
                drained = Drained(error=exc)
            if drained.uploaded:
                log.info("uploaded %d spooled files to the object store; %d left",
                         drained.uploaded, drained.left)
            if database_away:
                # Not the store's fault: no storage_unreachable alert (it could not be
                # written anyway); the files wait on disk and the pass is tried again.
                log.warning("uploads from the local spool wait: the database is away (%s); "
                            "next try in %.0f s", type(drained.error).__name__, delay)
            else:
                if drained.error is not None:
                    log.warning("uploads from the local spool fail (%s); next try in %.0f s",
                                drained.error, delay)
                note_alerts(self.vault, self.queue, drained)
            failed = drained.error is not None
            wait = delay if failed else IDLE_S
            delay = min(delay * 2, self.backoff[1]) if failed else self.backoff[0]
            # While backing off, files queued meanwhile do not cut the wait short.
            self._progress.beat()
            self._sleep(stop, wait, wakeable=not failed)
        self._progress.forget()  # stopped on purpose: no hang

    def _sleep(self, stop: threading.Event, seconds: float, wakeable: bool) -> None:
        end = time.monotonic() + seconds
        while not stop.is_set():
            if self._progress is not None:
                self._progress.beat()  # backing off from an outage is progress
            left = end - time.monotonic()
            if left <= 0:
                break
            if wakeable and self.queue.wake.wait(min(left, 0.5)):
                break
            if not wakeable:
                stop.wait(min(left, 0.5))
        if wakeable:
            self.queue.wake.clear()
