"""Step (2) of a batch's intake: each item's bytes copied into the store and hashed, in the
shared copy pool's threads, or, for a large batch of small files on the local store, in the
copier process (`storage/local_copier.py`); on an object store a failed upload waits in the
local spool (`upload_queue`)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kustosz.errors import KustoszError
from kustosz.ingest.upload_queue import is_buffered
from kustosz.ingest.upload_queue import queue_of as of
from kustosz.storage import StoredFile
from kustosz.storage.base import Unavailable, put_retained
from kustosz.storage.local_copier import BatchCopy, batch_copy
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


def buffer_of(vault: Vault) -> UploadQueue | None:
    """The queue a failed upload leaves its file in, on an object store (upload_queue)."""
    return of(vault) if is_buffered(vault) else None


class Copies:
    """Step (2) for every item, begun at once in the shared pool (one file or one worker: here
    and now); `wait` gives each item's copy, its error, or None (not begun: another failed)."""

    def __init__(self, vault: Vault, paths: list[Path], keys: list[str],
                 locks: list[tuple[datetime | None, bool]], copy_workers: int | None,
                 hashes: list[str | None] | None = None) -> None:
        self.vault, self.paths, self.keys, self.locks = vault, paths, keys, locks
        self.hashes = hashes  # taken beside step (1) (sound_first): the upload signs with it
        self.results: list[StoredFile | OSError | KustoszError | None] = [None] * len(paths)
        self.buffer = buffer_of(vault)
        self.stop = threading.Event()
        self.failure: list[BaseException] = []
        self.running: list[Future[None]] = []
        # A single file is fsynced on its own; a batch is flushed with one syncfs at the end,
        # which is far cheaper than two fsyncs per file and just as durable before step (3).
        self.batched = len(paths) > 1
        self.batch: BatchCopy | None = None
        workers = COPY_WORKERS if copy_workers is None else min(copy_workers, COPY_WORKERS)
        if not self.batched or workers <= 1:
            for i in range(len(paths)):
                self.copy(i)
            return
        if hashes is None:  # (a camera's files, checked for sound, are few and large)
            self.batch = batch_copy(vault.storage, list(zip(keys, paths, strict=True)),
                                    [until for until, _ in locks])
            if self.batch is not None:
                return
        global _pool
        if _pool is None or _pool._max_workers != COPY_WORKERS:
            _pool = ThreadPoolExecutor(COPY_WORKERS, thread_name_prefix="kustosz-copy")
        # Each worker takes the next item until none is left: one task per worker, not a
        # future per file (for a PBX spool's small recordings the future cost more than the
        # copy). next() of a shared range iterator is atomic under the GIL.
        todo = iter(range(len(paths)))
        left = [min(workers, len(paths))]
        lock = threading.Lock()

        def drain() -> None:
            try:
                for i in todo:
                    self.copy(i)
            finally:
                with lock:
                    left[0] -= 1
                    last = not left[0]
            if last:  # the batch's syncfs, off the caller's thread (it prepares the next)
                self.sync()
        self.running = [_pool.submit(drain) for _ in range(left[0])]

    def copy(self, i: int) -> None:
        if self.stop.is_set():
            return
        try:
            if self.buffer is not None and self.buffer.away:  # queued at once (upload_queue)
                raise Unavailable(AWAY, pl=AWAY_PL)
            self.results[i] = put_retained(self.vault.storage, self.keys[i], self.paths[i],
                                           retain_until=self.locks[i][0],
                                           legal_hold=self.locks[i][1],
                                           durable=not self.batched,
                                           sha256=self.hashes[i] if self.hashes else None)
        except OSError as exc:
            self.results[i] = exc
        except BaseException as exc:
            if self.buffer is not None and isinstance(exc, KustoszError):
                self.results[i] = exc  # kept in the local spool; the store is away, so the
                if not self.buffer.away:  # copies not yet begun go there at once, not each
                    log.warning("uploads fail (%s); files kept in the local spool", exc)
                self.buffer.away = True  # after its own deadline (several run at once)
                return
            self.stop.set()
            self.failure.append(exc)

    def sync(self) -> None:
        # Also after a failure: the copies that did finish are marked stored by the caller
        # before it raises the failure, so they must be on the disk first (review s24, S4).
        if self.batched and any(isinstance(r, StoredFile) for r in self.results):
            self.vault.storage.sync()

    def wait(self, sync: bool = True
             ) -> tuple[list[StoredFile | OSError | KustoszError | None], BaseException | None]:
        if self.batch is not None:  # the copier process flushed after the last file
            return self.batch.results()
        for running in self.running:
            running.result()  # the last copier's sync raises here
        if sync and not self.running:
            self.sync()
        return self.results, (self.failure[0] if self.failure else None)
