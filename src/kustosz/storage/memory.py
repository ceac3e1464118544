"""An in-memory store: the second implementation of `Storage`, for tests. That the whole
custody flow runs on it (tests/custody/test_custody_memory_storage.py) shows the interface is
enough, and that no module reaches around it to the data folder. Not durable, not for use."""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from kustosz.errors import InputError
from kustosz.storage.base import CHUNK, Stat, StoredFile, check_key


class MemoryStorage:
    def __init__(self, scratch: Path | None = None, total: int = 1 << 40) -> None:
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="kustosz-mem-"))
        self._objects: dict[str, tuple[bytes, datetime]] = {}
        self._lock = threading.Lock()
        self._total = total

    def prepare(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None) -> StoredFile:
        check_key(key)
        if isinstance(source, Path):
            data = source.read_bytes()
        else:
            parts = []
            while chunk := source.read(CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
        with self._lock:
            if key in self._objects:
                raise InputError(f"storage key {key!r} already holds a file")
            self._objects[key] = (data, datetime.now(UTC))
        if move and isinstance(source, Path):
            source.unlink()
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    def put_file(self, source: Path, key: str, durable: bool = True) -> StoredFile:
        return self.put(key, source, durable=durable)

    def sync(self) -> None:
        pass

    def _get(self, key: str) -> bytes:
        try:
            return self._objects[check_key(key)][0]
        except KeyError:
            raise FileNotFoundError(key) from None

    def open(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        data = self._get(key)
        end = len(data) if length is None else offset + length
        return io.BytesIO(data[offset:end])

    def stat(self, key: str) -> Stat:
        data = self._get(key)
        return Stat(key, len(data), self._objects[key][1])

    def exists(self, key: str) -> bool:
        return check_key(key) in self._objects

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._objects.pop(check_key(key), None) is not None

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        for key in keys:
            self.delete(key)

    def iterate(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = sorted(self._objects)
        return iter([k for k in keys if k.startswith(prefix)])

    def checksum(self, key: str) -> StoredFile:
        data = self._get(key)
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    def hash_of(self, key: str) -> str:
        return self.checksum(key).sha256

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A temporary copy in `scratch` (ffmpeg needs a file), removed after the block."""
        data = self._get(key)
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
