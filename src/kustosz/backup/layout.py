"""What a backup folder holds, and the small file operations both directions share."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kustosz.errors import InputError
from kustosz.fsutil import fsync_file

FORMAT = "kustosz-backup/1"
MANIFEST = "kustosz-backup.json"
MAC = "kustosz-backup.mac"
KEYS = "keys.enc"
CONFIG = "kustosz.toml"
SQLITE_DB = "database.sqlite"
PG_DUMP = "database.pgdump"
JOURNAL = "deletions.jsonl"
JOURNAL_HEAD = "deletions.head"  # the journal's signed length and chain hash
MEDIA = "media"
FILES = "files"
# Besides media: what custody and copies wrote (PDFs, bundles) and the office's templates.
EXTRA_DIRS = ("documents", "copies", "templates")
CHUNK = 1 << 20


def media_name(key: str) -> str:
    """The backup's file of the stored item ``key``, relative to the backup folder. Backup
    code names media files only so: never a folder joined with MEDIA, which is what building
    a path into a vault's media folder looks like (tests/test_storage_interface.py)."""
    return f"{MEDIA}/{key}"


class Progress(Protocol):
    """A step of ``total`` files (of ``total_bytes`` when their sizes are known), then
    ``n`` more files done and ``nbytes`` more bytes copied (kustosz.backup.progress)."""

    def start(self, what: str, total: int, total_bytes: int = 0) -> None: ...

    def advance(self, n: int = 1, nbytes: int = 0) -> None: ...


class NoProgress:
    def start(self, what: str, total: int, total_bytes: int = 0) -> None:
        pass

    def advance(self, n: int = 1, nbytes: int = 0) -> None:
        pass


def private_dir(path: Path) -> None:
    """``path`` and any parents it needs, each 0700 whatever the umask (mkdir's parents=True
    would give the parents the umask's mode)."""
    if path.is_dir():
        return
    private_dir(path.parent)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    os.chmod(path, 0o700)


def write_private(path: Path, data: bytes) -> None:
    """A new 0600 file, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        fsync_file(f)


def copy_private(src: Path, dst: Path, on_block: Callable[[bytes], None] | None = None) -> int:
    """Copy into a new 0600 file; ``on_block`` sees the content (to hash it on the way)."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    size = 0
    with src.open("rb") as inp, os.fdopen(fd, "wb") as out:
        while block := inp.read(CHUNK):
            if on_block is not None:
                on_block(block)
            out.write(block)
            size += len(block)
        out.flush()
    return size


def link_or_copy(src: Path, dst: Path) -> bool:
    """Hard-link ``src`` (the previous backup's file) as ``dst``; True if linked, False if it
    had to be copied (another file system)."""
    try:
        os.link(src, dst)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    copy_private(src, dst)
    return False


def remove_tree(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def check_empty_writable(folder: Path, what_en: str, what_pl: str) -> None:
    """``folder`` is absent (its parent writable) or an empty folder we can write to."""
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{what_en} {folder} is not a folder",
                             pl=f"{what_pl} {folder} nie jest katalogiem.")
        try:
            entries = any(folder.iterdir())
        except PermissionError:
            entries = False
        if entries:
            raise InputError(f"{what_en} {folder} is not empty; give a new or empty folder "
                             "(nothing was written)",
                             pl=f"{what_pl} {folder} nie jest pusty; podaj nowy albo pusty "
                                "katalog (niczego nie zapisano).")
        where = folder
    else:
        where = folder.parent
        if not where.is_dir():
            raise InputError(f"{what_en} {folder}: the folder {where} does not exist",
                             pl=f"{what_pl} {folder}: katalog {where} nie istnieje.")
    if not _can_write(where):
        raise InputError(f"{what_en} {folder} is not writable by this account "
                         "(nothing was written)",
                         pl=f"{what_pl} {folder}: to konto nie może w nim zapisywać "
                            "(niczego nie zapisano).")


def _can_write(folder: Path) -> bool:
    # Tried for real: os.access says yes to root, and knows nothing of read-only mounts or
    # immutable folders.
    probe = folder / f".kustosz-write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    probe.unlink()
    return True
