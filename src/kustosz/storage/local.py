"""Local-folder storage: atomic writes (temp file, fsync, rename, fsync dir), hashed on the way in.

A crash at any point leaves either no file under the final key or the whole file; a half
written file only ever exists under `tmp/` and is removed on the next start.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kustosz.errors import InputError

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


def _syncfs(path: Path) -> None:
    """Flush the whole file system holding ``path`` (Linux syncfs); os.sync elsewhere."""
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.media = root / "media"
        self._media = str(self.media)
        self.tmp = root / "tmp"

    def prepare(self) -> None:
        self.media.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return Path(self.fs_path(key))

    def fs_path(self, key: str) -> str:
        """The file's path as text. Checked with string operations: the sweep calls this for
        every victim, and pathlib parsing cost more than the unlink."""
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or \
                any(p in ("", ".", "..") for p in parts):
            raise InputError(f"storage key {key!r} is not a relative path inside the store")
        return os.path.join(self._media, key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_file(self, source: Path, key: str, durable: bool = True) -> StoredFile:
        """Copy ``source`` under ``key``; the content is hashed while it is copied.

        ``durable=False`` skips the per-file fsyncs: the caller then calls `sync()` once for a
        whole batch before anything records the files as stored.
        """
        with source.open("rb") as src:
            return self.put_stream(src, key, durable)

    def sync(self) -> None:
        """Make every write so far durable (one syncfs instead of two fsyncs per file)."""
        _syncfs(self.media)

    def put_stream(self, stream, key: str,  # type: ignore[no-untyped-def]
                   durable: bool = True) -> StoredFile:
        final = self.path(key)
        if final.exists():
            raise InputError(f"storage key {key!r} already holds a file")
        self.tmp.mkdir(parents=True, exist_ok=True)
        temp = self.tmp / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with temp.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
            if durable:
                _fsync_dir(final.parent)
        finally:
            temp.unlink(missing_ok=True)
        return StoredFile(key, size, digest.hexdigest())

    def delete(self, key: str) -> bool:
        """Remove the file; True if it was there. Missing files are not an error (idempotent)."""
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        """Remove many files; missing ones are fine. A few threads, each with a slice of the
        list (one future per file would cost more than the unlink itself)."""
        paths = [self.fs_path(k) for k in keys]

        def run(part: list[str]) -> None:
            for path in part:
                try:  # noqa: SIM105 - cheaper than contextlib.suppress in a hot loop
                    os.unlink(path)
                except FileNotFoundError:
                    pass

        if len(paths) < 256 or workers <= 1:
            run(paths)
            return
        threads = [threading.Thread(target=run, args=(paths[i::workers],))
                   for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def hash_of(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.path(key).open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def clean_tmp(self) -> int:
        """Remove leftovers of writes a crash interrupted."""
        n = 0
        if self.tmp.exists():
            for part in self.tmp.glob("*.part"):
                part.unlink(missing_ok=True)
                n += 1
        return n

    def keys(self) -> Iterator[str]:
        for dirpath, _dirs, files in os.walk(self.media):
            for name in files:
                yield PurePosixPath(Path(dirpath, name).relative_to(self.media)).as_posix()

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def total_bytes(self) -> int:
        return shutil.disk_usage(self.root).total
