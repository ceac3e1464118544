"""A camera file's own work before its upload, run beside the intake's step (1) (issue 68
item 4).

Before a file of a camera source is stored it is checked for sound (R1.3: a copy holding its
video alone is made when it carries some, `sound_strip.video_only`) and, on an object store,
hashed (the upload's SHA-256 signs its request, `storage/s3_payload.py`). Both need the file
alone; step (1), the transaction that writes the `pending` rows, needs neither. So they run at
once: the check in a thread of the pool here while the caller writes the rows, and the copies
begin when both are done. A camera's segments taken in one after another (`ingest_file`) no
longer wait for the check (10–25 ms of `av.open` a segment) and then for the transaction.

What was promised stays: nothing is uploaded before its file was checked, and what is
uploaded is the copy without sound; a file with sound and no picture (or one that cannot be
read) is refused, and the rows step (1) wrote for the batch are removed again (no object
exists yet, so none is asked for: `drop_rows`). The rows are written with the caller's meta;
``audio_removed`` is added by step (3) with ``sound_checked`` (files.py `_mark_many`), as a
`pending` row is never read as material."""

from __future__ import annotations

import dataclasses
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import delete

from kustosz.db.dependents import drop_dependents
from kustosz.db.models import Recording
from kustosz.ingest.sound_strip import video_only
from kustosz.vault import Vault


class _File(Protocol):
    """What is read of an intake's item (files.py `Item`, a frozen dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def path(self) -> Path: ...

    @property
    def meta(self) -> dict[str, Any] | None: ...


Item = TypeVar("Item", bound=_File)

# Checks at once in the process: each is CPU (ffmpeg's demuxer and decoder), so more than the
# cores would only queue inside the kernel; a batch's items beyond it wait for a place.
WORKERS = 4
_pool: ThreadPoolExecutor | None = None


def _shared() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="kustosz-sound-check")
    return _pool


class SoundFirst(Generic[Item]):
    """Each item's check (and hash) begun at once; `result` waits for them in order. Used as a
    context manager: leaving it waits for what still runs and removes the copies made."""

    def __init__(self, vault: Vault, items: list[Item]) -> None:
        self.storage = vault.storage
        self.scratch = vault.storage.scratch
        self.hashed = vault.store_is_remote  # a local copy hashes while it copies
        self.made: list[Path] = []
        self.running: list[Future[tuple[Item, str | None]]] = [
            _shared().submit(self._one, it) for it in items]

    def _one(self, item: Item) -> tuple[Item, str | None]:
        copy = video_only(item.path, self.scratch)
        if copy is not None:
            self.made.append(copy)  # list.append is atomic: the threads share the list
            item = dataclasses.replace(item, path=copy,
                                       meta={**(item.meta or {}), "audio_removed": True})
        if not self.hashed:
            return item, None
        with item.path.open("rb") as f:
            return item, hashlib.file_digest(f, "sha256").hexdigest()

    def result(self, keys: list[str]) -> tuple[list[Item], list[str | None]]:
        """What is stored for each item (the file, or its copy without sound) and its
        SHA-256 (None on a local store); the first item's error is raised. While the checks
        run, a store that needs it looks whether ``keys`` are free (`S3Upload.look_ahead`:
        the HEAD before each PUT, off the path)."""
        look = getattr(self.storage, "look_ahead", None)
        if look is not None:
            look(keys)
        done = [running.result() for running in self.running]
        return [item for item, _sha in done], [sha for _item, sha in done]

    def __enter__(self) -> SoundFirst[Item]:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for running in self.running:
            if not running.cancel():
                running.exception()  # let it end: a copy it makes is removed below
        for path in self.made:
            path.unlink(missing_ok=True)


def drop_rows(vault: Vault, ids: list[int]) -> None:
    """Step (1)'s rows of a batch refused by its check: no copy had begun."""
    with vault.transaction() as s:
        drop_dependents(s, ids)  # no key cascades on a partitioned index (migration 0062)
        s.execute(delete(Recording).where(Recording.id.in_(ids)))
