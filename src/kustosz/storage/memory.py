"""An in-memory store: the second implementation of `Storage`, for tests. That the whole
custody flow runs on it (tests/custody/test_custody_memory_storage.py) shows the interface is
enough, and that no module reaches around it to the data folder. Not durable, not for use.

It enforces the object lock as the S3 store does (GOVERNANCE mode, `base.Lockable`, issue 28
item 5): a content is not deleted before its retain-until nor under a legal hold, by anyone;
the deleting role (``deleting=True``, the default: the sweep's view) deletes after it and
sets and clears legal holds; a view made with ``deleting=False`` (the web app's credentials)
deletes nothing and touches no legal hold (one asked with a write is left out, as on S3);
retention is shortened only with ``bypass`` by the re-dating view (``redating=True``, the
approved shortening's credentials). Property tests run the lock rules here fast and against
the real stores in tests/storage."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from kustosz.storage.base import (
    CHUNK,
    KeyTaken,
    Lock,
    Refused,
    Stat,
    StoredFile,
    check_key,
    check_retain_until,
)


class MemoryStorage:
    def __init__(self, scratch: Path | None = None, total: int = 1 << 40, *,
                 deleting: bool = True,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="kustosz-mem-"))
        self._objects: dict[str, tuple[bytes, datetime]] = {}
        self._locks: dict[str, Lock] = {}
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()
        self._total = total
        self.deleting = deleting
        self.redating = False
        # the time a deletion is judged by against retain-until: a test that sweeps as of a
        # later time than now moves it with the sweep
        self.clock = clock

    def prepare(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)

    def as_role(self, deleting: bool, redating: bool = False) -> MemoryStorage:
        """The same content seen with other credentials: the app's (``deleting=False``), the
        sweep's, or (``redating``) the approved shortening's, as S3 clients see one bucket."""
        view = copy.copy(self)  # shares the objects, the locks and the mutex
        view.deleting, view.redating = deleting, redating
        return view

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None,
            retain_until: datetime | None = None, legal_hold: bool = False) -> StoredFile:
        check_key(key)
        check_retain_until(retain_until, datetime.now(UTC))
        if isinstance(source, Path):
            data = source.read_bytes()
        else:
            parts = []
            while chunk := source.read(CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
        with self._lock:
            if key in self._objects:
                raise KeyTaken(key)
            self._objects[key] = (data, datetime.now(UTC))
            # the app's identity may not set legal holds: left to the sweeper, as on S3
            self._locks[key] = Lock(retain_until, legal_hold and self.deleting)
            self._versions[key] = version = uuid.uuid4().hex
        if move and isinstance(source, Path):
            source.unlink()
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest(), version)

    def put_file(self, source: Path, key: str, durable: bool = True) -> StoredFile:
        return self.put(key, source, durable=durable)

    def sync(self) -> None:
        pass

    def _get(self, key: str, version: str | None = None) -> bytes:
        """The content; with ``version``, only if it is that version (one kept per key)."""
        try:
            data = self._objects[check_key(key)][0]
        except KeyError:
            raise FileNotFoundError(key) from None
        if version is not None and self._versions.get(key) != version:
            raise FileNotFoundError(f"{key} (version {version})")
        return data

    def open(self, key: str, offset: int = 0, length: int | None = None, *,
             version: str | None = None) -> BinaryIO:
        data = self._get(key, version)
        end = len(data) if length is None else offset + length
        return io.BytesIO(data[offset:end])

    def stat(self, key: str, *, version: str | None = None) -> Stat:
        data = self._get(key, version)
        return Stat(key, len(data), self._objects[key][1])

    def exists(self, key: str) -> bool:
        return check_key(key) in self._objects

    def delete(self, key: str) -> bool:
        with self._lock:
            if check_key(key) not in self._objects:
                return False
            self._may_delete(key)
            self._locks.pop(key, None)
            self._versions.pop(key, None)
            return self._objects.pop(key, None) is not None

    def _may_delete(self, key: str) -> None:
        lock = self._locks.get(key, Lock(None, False))
        if not self.deleting:
            raise Refused(f"{key} cannot be deleted with the application's credentials",
                          pl=f"Danymi dostępowymi aplikacji nie można usunąć {key}.")
        if lock.legal_hold:
            raise Refused(f"{key} is under a legal hold and cannot be deleted",
                          pl=f"{key} jest objęty blokadą prawną i nie może być usunięty.")
        # GOVERNANCE without the bypass, which no deleting identity holds (issue 28 item 5)
        if lock.retain_until is not None and lock.retain_until > self.clock():
            raise Refused(f"{key} is retained until {lock.retain_until.isoformat()} and "
                          "cannot be deleted before",
                          pl=f"{key} jest chroniony do {lock.retain_until.isoformat()} i nie "
                             "może być usunięty wcześniej.")

    # -- the lock (kustosz.storage.base.Lockable) ------------------------------------------
    def lock_of(self, key: str, version_id: str | None = None) -> Lock:
        self._get(key)
        return self._locks.get(key, Lock(None, False))

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               bypass: bool = False) -> None:
        check_retain_until(until, datetime.now(UTC))
        with self._lock:
            self._get(key)
            lock = self._locks.get(key, Lock(None, False))
            if lock.retain_until is not None and until < lock.retain_until \
                    and not (bypass and self.redating):
                raise Refused(f"retention of {key} cannot be shortened except by the "
                              "approved shortening of a period",
                              pl=f"Okresu przechowywania {key} nie można skrócić inaczej niż "
                                 "zatwierdzonym skróceniem okresu.")
            self._locks[key] = Lock(until, lock.legal_hold)

    def legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        with self._lock:
            self._get(key)  # a missing key first, as S3's HEAD answers it
            if not self.deleting:
                raise Refused(f"the legal hold of {key} cannot be changed with the "
                              "application's credentials",
                              pl=f"Danymi dostępowymi aplikacji nie można zmienić blokady "
                                 f"prawnej {key}.")
            lock = self._locks.get(key, Lock(None, False))
            self._locks[key] = Lock(lock.retain_until, on)

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        for key in keys:
            self.delete(key)

    def iterate(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = sorted(self._objects)
        return iter([k for k in keys if k.startswith(prefix)])

    def checksum(self, key: str, *, version: str | None = None) -> StoredFile:
        data = self._get(key, version)
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest(),
                          self._versions.get(key))

    def hash_of(self, key: str, *, version: str | None = None) -> str:
        return self.checksum(key, version=version).sha256

    @contextlib.contextmanager
    def local_path(self, key: str, *, version: str | None = None) -> Iterator[Path]:
        """A temporary copy in `scratch` (ffmpeg needs a file), removed after the block."""
        data = self._get(key, version)
        folder = self.scratch / uuid.uuid4().hex
        folder.mkdir(parents=True)
        path = folder / key.rsplit("/", 1)[-1]  # the same name: tools look at the suffix
        path.write_bytes(data)
        try:
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def clean_tmp(self) -> int:
        return 0

    def free_bytes(self) -> int:
        return self._total - sum(len(d) for d, _ in self._objects.values())

    def total_bytes(self) -> int:
        return self._total
