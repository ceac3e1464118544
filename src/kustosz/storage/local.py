"""Local-folder storage: atomic writes (temp file, fsync, rename, fsync dir), hashed on the way in.

A crash at any point leaves either no file under the final key or the whole file; a half
written file only ever exists under `tmp/` and is removed on the next start.

Implements `kustosz.storage.base.Storage`. `path`/`fs_path`/`media` are this backend's own
and are for this package and tests only: no module outside `kustosz.storage` may use them
(tests/test_storage_interface.py greps for it), so that another backend can take its place.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from kustosz.errors import InputError
from kustosz.storage import durable as _durable
from kustosz.storage.base import CHUNK, Stat, StoredFile, check_key

__all__ = ["CHUNK", "LocalStorage", "StoredFile"]


class _Window(io.RawIOBase):
    """``length`` bytes of an open file from where it stands (a ranged read)."""

    def __init__(self, f: BinaryIO, length: int) -> None:
        self._f, self._left = f, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[:self._left]
        n = self._f.readinto(view)  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.media = root / "media"
        self._media = str(self.media)
        self.tmp = root / "tmp"
        self.scratch = self.tmp

    def prepare(self) -> None:
        self.media.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return Path(self.fs_path(key))

    def fs_path(self, key: str) -> str:
        """The file's path as text. Checked with string operations: the sweep calls this for
        every victim, and pathlib parsing cost more than the unlink."""
        return os.path.join(self._media, check_key(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_file(self, source: Path, key: str, durable: bool = True) -> StoredFile:
        """Copy ``source`` under ``key``; the content is hashed while it is copied.

        ``durable=False`` skips the per-file fsyncs: the caller then calls `sync()` once for a
        whole batch before anything records the files as stored.
        """
        with source.open("rb") as src:
            return self.put_stream(src, key, durable)

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None) -> StoredFile:
        if not isinstance(source, Path):
            return self.put_stream(source, key, durable)
        if not move:
            return self.put_file(source, key, durable)
        return self._adopt(source, key, durable, sha256)

    def _adopt(self, source: Path, key: str, sync: bool, sha256: str | None) -> StoredFile:
        """Rename a finished file on this disk into the store (no second copy)."""
        final = self.path(key)
        if final.exists():
            raise InputError(f"storage key {key!r} already holds a file")
        size = source.stat().st_size
        if sha256 is None:
            sha256 = _hash(source)
        final.parent.mkdir(parents=True, exist_ok=True)
        if sync:
            _durable.replace(source, final)
        else:
            os.replace(source, final)
        return StoredFile(key, size, sha256)

    def sync(self) -> None:
        """Make every write so far durable (one syncfs instead of two fsyncs per file)."""
        _durable.syncfs(self.media)

    # ``version``: a folder keeps one content per key (base.Storage: accepted, not used).
    def open(self, key: str, offset: int = 0, length: int | None = None, *,
             version: str | None = None) -> BinaryIO:
        f = open(self.fs_path(key), "rb")  # noqa: SIM115 - the caller closes it
        if offset:
            f.seek(offset)
        if length is None:
            return f
        return io.BufferedReader(_Window(f, length), CHUNK)  # type: ignore[return-value]

    def stat(self, key: str, *, version: str | None = None) -> Stat:
        st = os.stat(self.fs_path(key))
        return Stat(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    @contextlib.contextmanager
    def local_path(self, key: str, *, version: str | None = None) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(path)
        yield path  # the stored file itself: no copy on the local backend

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
                if durable:
                    _durable.fsync_file(out)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
            if durable:
                _durable.fsync_dir(final.parent)
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

    def checksum(self, key: str, *, version: str | None = None) -> StoredFile:
        size, sha = _hash_and_size(self.path(key))
        return StoredFile(key, size, sha)

    def hash_of(self, key: str, *, version: str | None = None) -> str:
        return _hash(self.path(key))

    def clean_tmp(self) -> int:
        """Remove leftovers of writes a crash interrupted."""
        n = 0
        if self.tmp.exists():
            for part in self.tmp.glob("*.part"):
                part.unlink(missing_ok=True)
                n += 1
        return n

    def iterate(self, prefix: str = "") -> Iterator[str]:
        top = self.media
        if "/" in prefix:  # walk only the folder the prefix names
            top = self.media / check_key(prefix.rsplit("/", 1)[0])
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                key = PurePosixPath(Path(dirpath, name).relative_to(self.media)).as_posix()
                if key.startswith(prefix):
                    yield key

    def keys(self) -> Iterator[str]:
        return self.iterate()

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def total_bytes(self) -> int:
        return shutil.disk_usage(self.root).total


def _hash_and_size(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _hash(path: Path) -> str:
    return _hash_and_size(path)[1]
