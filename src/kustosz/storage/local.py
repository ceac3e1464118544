"""Local-folder storage: atomic writes, hashed on the way in.

A file is written unnamed (O_TMPFILE in `tmp/`), flushed, and then linked under its key, and
the folder flushed; where the file system cannot make unnamed files, a named temporary file
in `tmp/` is renamed instead. A crash at any point leaves either no file under the final key
or the whole file; a half written file is either unnamed (the kernel frees it) or only
under `tmp/`, removed on the next start. A batch (``durable=False``) skips the per-file
flushes and is made durable by one `sync()` before anything records it.

Implements `kustosz.storage.base.Storage`. `path`/`fs_path`/`media` are this backend's own
and are for this package and tests only: no module outside `kustosz.storage` may use them
(tests/test_storage_interface.py greps for it), so that another backend can take its place.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from kustosz import fsutil as _durable
from kustosz.storage.base import CHUNK, KeyTaken, Stat, StoredFile, check_key, check_keys
from kustosz.storage.proof import WRITE_BITS, read_only

__all__ = ["CHUNK", "LocalStorage", "StoredFile"]


def _unlink_in(folder: str, names: list[str]) -> None:
    """Remove ``names`` from ``folder``; a missing one, or a missing folder, is fine. One
    that cannot be removed is raised after the folder's others went."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    failed: OSError | None = None
    try:
        for name in names:
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed = failed or exc
    finally:
        os.close(fd)
    if failed is not None:
        raise failed


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
    # `local_path` yields the stored file itself: a stamp names it (kustosz.storage.proof)
    keeps_files = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.media = root / "media"
        self._media = str(self.media)
        self.tmp = root / "tmp"
        self.scratch = self.tmp
        self._linkable: bool | None = None  # O_TMPFILE + link here (probed on first put)

    def prepare(self) -> None:
        self.media.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return Path(self.fs_path(key))

    def fs_path(self, key: str) -> str:
        """The file's path as text. Checked with string operations: the sweep calls this for
        every victim, and pathlib parsing cost more than the unlink."""
        return f"{self._media}/{check_key(key)}"

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_file(self, source: Path, key: str, durable: bool = True) -> StoredFile:
        """Copy ``source`` under ``key``; the content is hashed while it is copied.

        ``durable=False`` skips the per-file fsyncs: the caller then calls `sync()` once for a
        whole batch before anything records the files as stored.
        """
        final = self.fs_path(key)
        if self._unnamed():
            fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
            try:
                return self._put_unnamed(key, final, durable, lambda buf: os.readv(fd, [buf]))
            finally:
                os.close(fd)
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
            raise KeyTaken(key)
        st = source.stat()
        size = st.st_size
        if sha256 is None:
            sha256 = _hash(source)
        # stored files are never written again (kustosz.storage.proof)
        os.chmod(source, stat.S_IMODE(st.st_mode) & ~WRITE_BITS)
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
        return io.BufferedReader(_Window(f, length), CHUNK)

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
        if self._unnamed():
            def fill(buf: bytearray) -> int:
                chunk = stream.read(len(buf))
                buf[:len(chunk)] = chunk
                return len(chunk)
            return self._put_unnamed(key, self.fs_path(key), durable, fill)
        final = self.path(key)
        if final.exists():
            raise KeyTaken(key)
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
                read_only(out.fileno())
                if durable:
                    _durable.fsync_file(out)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
            if durable:
                _durable.fsync_dir(final.parent)
        finally:
            temp.unlink(missing_ok=True)
        return StoredFile(key, size, digest.hexdigest())

    def _unnamed(self) -> bool:
        """Whether this file system makes an unnamed file in `tmp/` that can then be linked
        under its key (Linux O_TMPFILE; the link through /proc/self/fd needs no capability).
        Probed once; elsewhere the named temporary file and rename."""
        if self._linkable is None:
            self._linkable = _probe_unnamed(self.tmp)
        return self._linkable

    def _put_unnamed(self, key: str, final: str, durable: bool,
                     fill: Callable[[bytearray], int]) -> StoredFile:
        """Write an unnamed file, hashing it, and give it its key with one link.

        Per file that is one inode and one directory entry, against a named temporary file's
        create in `tmp/`, its rename into the media folder and the unlink that finds nothing
        (three changes to two folders, which were most of a small file's intake). A crash
        before the link leaves nothing to clean up (the kernel frees an unnamed inode); the
        link refuses an existing key by itself (no check before, no overwrite). Without
        ``durable`` nothing is flushed here: the caller's `sync()` makes the batch durable
        before anything records it, as with the rename; a large file's writeback is only
        started, so that the batch's syncfs finds less to write.
        """
        buf = _buffer()
        view = memoryview(buf)
        digest = hashlib.sha256()
        size = 0
        fd = os.open(self.tmp, _UNNAMED, 0o666)  # the umask makes it private, as open() would
        try:
            while n := fill(buf):
                digest.update(view[:n])
                done = 0
                while done < n:
                    done += os.write(fd, view[done:n])
                size += n
            read_only(fd)
            if durable:
                os.fsync(fd)
            elif size >= WRITEBACK_FROM:
                _start_writeback(fd)
            try:
                _link(fd, final)
            except FileNotFoundError:  # a folder not made yet (a new day): make it, again
                os.makedirs(os.path.dirname(final), exist_ok=True)
                _link(fd, final)
        except FileExistsError:
            raise KeyTaken(key) from None
        finally:
            os.close(fd)
        if durable:
            _durable.fsync_dir(Path(final).parent)
        return StoredFile(key, size, digest.hexdigest())

    def delete(self, key: str) -> bool:
        """Remove the file; True if it was there. Missing files are not an error (idempotent)."""
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        """Remove many files; missing ones are fine. The keys are grouped by folder and each
        thread takes whole folders: unlink(2) locks the folder, so threads in one folder wait
        for each other, and a name relative to the folder's open descriptor spares the kernel
        the walk of the whole path (docs/design.md, "Retention as partitions")."""
        check_keys(keys)
        folders: dict[str, list[str]] = {}
        for key in keys:
            folder, _, name = key.rpartition("/")
            folders.setdefault(folder, []).append(name)
        queue = [(f"{self._media}/{folder}" if folder else self._media, names)
                 for folder, names in folders.items()]
        failed: list[OSError] = []  # the first raised once every folder was tried

        def run() -> None:
            while True:
                try:
                    folder, names = queue.pop()  # atomic: each folder to one thread
                except IndexError:
                    return
                try:
                    _unlink_in(folder, names)
                except OSError as exc:
                    failed.append(exc)

        if len(keys) < 256 or workers <= 1 or len(queue) == 1:
            run()
        else:
            threads = [threading.Thread(target=run) for _ in range(min(workers, len(queue)))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        if failed:
            raise failed[0]

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


# Bytes a copy moves at once: large enough that a recording of a few minutes is a handful of
# system calls, small enough that each of the copy threads keeps its own buffer.
COPY_CHUNK = 256 << 10
# A file this large has its writeback started as soon as it is written (sync_file_range):
# the disk then works while the next files are copied, instead of all at the batch's syncfs.
# Smaller files are left to the syncfs, which writes them together.
WRITEBACK_FROM = 256 << 10
_UNNAMED = os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC if hasattr(os, "O_TMPFILE") else 0
_SYNC_FILE_RANGE_WRITE = 2
_local = threading.local()


def _buffer() -> bytearray:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(COPY_CHUNK)
    return buf


def _libc_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _libc_sync_file_range()


def _start_writeback(fd: int) -> None:
    """Ask the kernel to start writing the file out, without waiting (only a hint: the
    batch's syncfs is what makes it durable)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


def _link(fd: int, target: str) -> None:
    """Give the unnamed file ``fd`` the name ``target``: linkat(2) with AT_SYMLINK_FOLLOW on
    its /proc/self/fd entry. os.link passes that flag only when given a folder fd, and ignores
    one for an absolute path, so the file's own fd stands in (plain link(2) would link the
    /proc symlink itself and fail with EXDEV)."""
    os.link(f"/proc/self/fd/{fd}", target, src_dir_fd=fd, follow_symlinks=True)


def _probe_unnamed(folder: Path) -> bool:
    if not _UNNAMED or not os.path.isdir("/proc/self/fd"):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f"{uuid.uuid4().hex}.probe.part"
    try:
        fd = os.open(folder, _UNNAMED, 0o600)
    except OSError:  # EOPNOTSUPP, EISDIR (an old kernel), EINVAL
        return False
    try:
        _link(fd, str(probe))
    except OSError:
        return False
    finally:
        os.close(fd)
    probe.unlink(missing_ok=True)
    return True


def _hash_and_size(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return f.tell(), digest.hexdigest()


def _hash(path: Path) -> str:
    return _hash_and_size(path)[1]
