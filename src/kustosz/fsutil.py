"""Durability on a local file system, in one place: fsync a file, fsync a folder (so a rename
or a new name in it survives a power cut), write a small file atomically, rename durably.

Every writer that must find its file whole after a crash (storage, the audit head, the camera
and chunk spools, mail intake, backups and restores, copy bundles and their ZIPs, rendered
documents, keys) uses these instead of its own copy of the fsync/rename dance: one place to get
it right, and one place to change for a file system that needs more (e.g. F_FULLFSYNC on
macOS). Outside `kustosz.storage`, a hand-written os.replace/os.fsync is refused by
tests/test_storage_interface.py unless its allow-list says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO


def fsync_file(target: Path | IO[bytes] | IO[str] | int) -> None:
    """Flush a file's data to the disk: a path, an open file object (flushed first) or a fd."""
    if isinstance(target, int):
        os.fsync(target)
        return
    if isinstance(target, Path | str):
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    target.flush()
    os.fsync(target.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries: a file created, renamed into or removed from it then stays so
    after a power cut (POSIX does not promise it from the file's own fsync)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(source: Path, target: Path, *, sync_source: bool = True) -> None:
    """Rename ``source`` over ``target`` durably: the content first (unless the caller already
    flushed it), then the rename, then the target's folder (and the source's, if another)."""
    if sync_source:
        fsync_file(source)
    os.replace(source, target)
    fsync_dir(target.parent)
    if Path(source).parent != target.parent:
        fsync_dir(Path(source).parent)


def sync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` and every folder's entries, deepest first: a folder
    built in scratch (a copy bundle) then holds whole files once it is renamed into place."""
    for dirpath, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            fsync_file(Path(dirpath, name))
        fsync_dir(Path(dirpath))


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write a small file so that a crash leaves the old content or the new one, never a mix:
    a temporary file beside it (same file system), fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    raw = data.encode() if isinstance(data, str) else data
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(tmp, flags, 0o600 if mode is None else mode)
    try:
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic_at(folder: int, name: str, data: bytes,
                    prepare: Callable[[int], None] = lambda fd: None) -> None:
    """``write_atomic`` inside a folder already opened (``folder``, a descriptor), every step
    relative to it and none following a link: for a folder another account may write in,
    where a path could be swapped for a link between two steps. ``prepare`` gets the new
    file's descriptor before its bytes (its owner and mode set there)."""
    tmp = f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=folder)
    try:
        try:
            prepare(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder)
        raise
    os.fsync(folder)


def syncfs(path: Path) -> None:
    """Flush the whole file system holding ``path`` (Linux syncfs); os.sync elsewhere. One
    call for a batch of files instead of two fsyncs per file."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs failed")
        finally:
            os.close(fd)
    except (AttributeError, OSError):
        os.sync()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a whole file, as hex: the one definition (hashlib.file_digest reads it
    into one reused buffer, with the GIL released)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
