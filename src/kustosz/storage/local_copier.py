"""A large batch of small files copied into the local store by a process of its own.

Why a process: a PBX spool's pass copies thousands of 3 kB recordings a second, and each copy
is eight system calls, each letting go of the interpreter's lock and taking it back. In
threads of the intake's own process every one of them waited for the lock behind the intake's
Python (its rows, pairing, Master.csv), and the intake's statements waited behind the copies:
16 copy threads spent 6.7-8.5 s of system time on 30 000 files, mostly handing the lock over,
where the same copies in one thread alone take 1.1 s (bench/README.md, calls). In a child
process (`kustosz.side_process`) the copies keep their own interpreter and the other core.

What stays as it was: the copy itself (`LocalStorage.put_file`: unnamed file, hashed while
written, one link), no fsync per file and one syncfs a batch, made after the batch's last
file (the child runs the batch's chunks in order); results come back in the items' order.

A child must never link a file after its parent died: `kustosz recover` (or the next start)
removes the dead pass's `pending` rows and their files, and a file linked after that would be
a copy no row names. So the child checks before each file and after each link that its parent
is the process that started it, and unlinks what it linked if not; it then stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from kustosz import side_process
from kustosz.errors import KustoszError
from kustosz.side_process import Orphaned, SideGone
from kustosz.storage.base import KeyTaken, Storage, StoredFile, check_retain_until
from kustosz.storage.local import LocalStorage

log = logging.getLogger(__name__)

# A batch goes to the process from this many files: below it the thread pool's copies cost
# less than the process's start (once per process) and the trips there and back. A batch is
# at most 256 MB (ingest/batching.py), so one this long holds files of 1 MB or less on
# average: the per-file cost is what its copies are made of, not the bytes.
FROM_FILES = 256
CHUNK_FILES = 128  # files a task: results come back as each chunk ends

# A file's outcome as the child sends it: (size, sha256); ("taken", key); or
# ("oserror", errno, strerror, filename) -- tuples, not exceptions, so that nothing depends
# on how an exception class pickles.
Outcome = tuple[int, str] | tuple[str, str] | tuple[str, int, str, str | None]


_stores: dict[str, LocalStorage] = {}  # the child's, one per data folder


def copy_chunk(root: str, parent: int, pairs: list[tuple[str, str]], sync: bool
               ) -> list[Outcome]:
    """In the child: copy each (key, source path) of ``pairs`` into the store at ``root``;
    ``sync``: the batch's last chunk, which flushes the file system after its last file,
    whatever happened (the files before it are marked stored by the caller)."""
    store = _stores.get(root)
    if store is None:
        store = _stores[root] = LocalStorage(Path(root))
    out: list[Outcome] = []
    try:
        for key, source in pairs:
            if os.getppid() != parent:
                raise Orphaned(f"parent {parent} is gone")
            try:
                copied = store.put_file(Path(source), key, durable=False)
            except KeyTaken:
                out.append(("taken", key))
                continue
            except OSError as exc:
                out.append(("oserror", exc.errno or 0, exc.strerror or str(exc),
                            None if exc.filename is None else str(exc.filename)))
                continue
            if os.getppid() != parent:  # died while this file was written: undo its link
                os.unlink(store.fs_path(key))
                raise Orphaned(f"parent {parent} is gone")
            out.append((copied.size, copied.sha256))
    finally:
        if sync:
            store.sync()
    return out


def worker_pids() -> list[int]:
    """The copier's process, if it runs (for tests)."""
    return side_process.pids("copy")


def batch_copy(store: Storage, pairs: list[tuple[str, Path]],
               retain_until: list[datetime | None]) -> BatchCopy | None:
    """The copies of ``pairs`` (key, source) begun in the copier process, or None where the
    caller's threads make them: a short batch, another store, or a file system without
    unnamed files (the named temporary file's path stays in one process). ``retain_until``
    is checked as `put_retained` checks it for a store without a lock."""
    if len(pairs) < FROM_FILES or not isinstance(store, LocalStorage) or not store._unnamed():
        return None
    now = datetime.now(UTC)
    for until in retain_until:
        check_retain_until(until, now)
    try:
        side_process.start("copy")
    except OSError as exc:  # no process to be had (memory, a task limit): the threads copy
        log.warning("the copier process could not start (%s); a batch of %d files is copied "
                    "by threads", exc, len(pairs))
        return None
    return BatchCopy(store, pairs)


class BatchCopy:
    """A batch's copies, submitted at once in chunks; `results` waits for them all."""

    def __init__(self, store: LocalStorage, pairs: list[tuple[str, Path]]) -> None:
        self.keys = [key for key, _ in pairs]
        texts = [(key, str(path)) for key, path in pairs]
        root = str(store.root)
        self.chunks: list[Future[list[Outcome]]] = []
        try:
            for first in range(0, len(texts), CHUNK_FILES):
                last = first + CHUNK_FILES >= len(texts)
                self.chunks.append(side_process.submit(
                    "copy", root, os.getpid(), texts[first:first + CHUNK_FILES], last))
        except SideGone:
            self.wait_out()
            raise

    def wait_out(self) -> None:
        """Let every submitted chunk end (before the caller undoes the batch's files)."""
        for chunk in self.chunks:
            with contextlib.suppress(BaseException):  # the batch is being undone anyway
                chunk.result()

    def results(self) -> tuple[list[StoredFile | OSError | KustoszError | None],
                               BaseException | None]:
        """Each item's copy or its error, in order, and the batch's failure: a key already
        taken, as the threads' copies report it; `SideGone` is raised if the process died,
        after which the next batch starts a new one."""
        out: list[StoredFile | OSError | KustoszError | None] = []
        try:
            for chunk in self.chunks:
                first = len(out)
                out.extend([self._outcome(first + i, o) for i, o in enumerate(chunk.result())])
        except BaseException:
            self.wait_out()
            raise
        taken = [r for r in out if isinstance(r, KeyTaken)]
        return out, (taken[0] if taken else None)

    def _outcome(self, i: int, o: Outcome) -> StoredFile | OSError | KustoszError:
        if o[0] == "taken":
            return KeyTaken(self.keys[i])
        if len(o) == 4:  # ("oserror", errno, strerror, filename)
            return OSError(o[1], o[2], o[3])  # the errno's own subclass
        size, sha256 = o
        assert isinstance(size, int) and isinstance(sha256, str)
        return StoredFile(self.keys[i], size, sha256)
