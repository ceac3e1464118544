"""The storage interface: what the rest of Kustosz may ask of the place media bytes live.

Keys, never paths: a key is a relative, slash-separated name ("camera/cam-hol/2026/…/x.ts")
that the index keeps in `recordings.storage_key`. The local folder (`LocalStorage`) is one
implementation, an in-memory one (`MemoryStorage`) proves the interface is enough for the
whole custody flow, and an object store (issue 16) is the next: every operation here maps to
one request of such a store (put → PUT/multipart upload, open with a range → ranged GET, stat →
HEAD, iterate → LIST, delete → DELETE of each version by its id). `StoredFile.version_id` is
that backend's; the lock (retention, legal hold) is the optional `Lockable` below.

Reads name a version: the index keeps the version id each write returned
(`recordings.version_id`), and whoever reads material the index describes passes it. On a
versioned object store anyone with the application's credentials can put a *newer* version
under the same key (they cannot delete the old one, but without the version id a read gets the
newest); the pinned read keeps playback, copies and backups on the bytes the index hashed.
Stores without versions (local folder, memory) accept ``version`` and ignore it.

Only `local_path` hands out a file-system path, and only for the length of a ``with`` block:
ffmpeg and ffprobe (export remux, sound checks) and hard-linking backups need a real file. The
local folder gives its own file (no copy); any other backend copies the object to `scratch` and
removes the copy when the block ends.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from kustosz.errors import InputError, KustoszError

log = logging.getLogger(__name__)

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    """What a write stored: the key, the size in bytes and the SHA-256 of the content; on a
    versioned object store also the version id (deletes name it: without one a delete only
    hides the object behind a delete marker)."""

    key: str
    size: int
    sha256: str
    version_id: str | None = None


@dataclass(frozen=True)
class Stat:
    key: str
    size: int
    modified: datetime


# A backslash; an empty part (leading, doubled or trailing slash); a '.' or '..' part. One
# search: the sweep checks every victim's key, and splitting each cost a third of an unlink.
_BAD_KEY = re.compile(r"\\|//|\A/|/\Z|(?:\A|/)\.{1,2}(?:/|\Z)")


def check_key(key: str) -> str:
    """A key is a relative path inside the store: no empty, '.', '..' parts, no backslash."""
    if not key or _BAD_KEY.search(key) is not None:
        raise InputError(f"storage key {key!r} is not a relative path inside the store",
                         pl=f"Klucz magazynu „{key}” nie jest ścieżką względną wewnątrz "
                            "magazynu.")
    return key


# What `_BAD_KEY` finds, as text between keys joined by line breaks ("\n" stands for the
# start and the end of a key): no key's fault can hide there, a line break inside a key only
# adds false alarms, which `check_key` then clears key by key.
_BAD_JOINED = ("\\", "//", "\n/", "/\n", "\n\n",
               *(f"{a}{dots}{b}" for a in "/\n" for b in "/\n" for dots in (".", "..")))


def check_keys(keys: list[str]) -> None:
    """`check_key` for many keys at once: a few substring searches over their joined text
    instead of a regular expression per key (1.6 s for a day of 100 cameras' 864 000)."""
    text = "\n" + "\n".join(keys) + "\n"
    if any(bad in text for bad in _BAD_JOINED):
        for key in keys:  # the first bad one named, as one at a time would
            check_key(key)


@runtime_checkable
class Storage(Protocol):
    """Where media bytes live. Every method is safe to call from several threads."""

    scratch: Path  # a local folder for temporary files (ffmpeg output, copies being built)

    def prepare(self) -> None:
        """Create what the store needs before the first write."""

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None) -> StoredFile:
        """Store ``source`` (a readable stream, or a finished file) under a new ``key``.

        All or nothing: after a crash the key holds the whole content or nothing. An existing
        key is refused (InputError). ``move``: ``source`` is a finished temporary file on the
        data folder's disk that may be taken over (renamed, no second copy); ``sha256`` its
        hash if the caller has it already. ``durable=False``: the caller calls `sync` once for
        a whole batch before anything records the files as stored.
        """
        ...

    def sync(self) -> None:
        """Make every write so far durable."""

    def open(self, key: str, offset: int = 0, length: int | None = None, *,
             version: str | None = None) -> BinaryIO:
        """A stream of the content from ``offset`` for ``length`` bytes (to the end if None);
        ``version``: that version's content, not the newest (see above). FileNotFoundError if
        there is no such key. The caller closes it; an open stream stays readable even if the
        key is deleted meanwhile."""
        ...

    def stat(self, key: str, *, version: str | None = None) -> Stat:
        """Size and time of the content; FileNotFoundError if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool:
        """Remove the content; True if it was there (idempotent)."""
        ...

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        """Remove many keys; missing ones are fine."""

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with ``prefix``."""
        ...

    def checksum(self, key: str, *, version: str | None = None) -> StoredFile:
        """Read the content (of ``version``) back: its size and SHA-256 as stored now."""
        ...

    def hash_of(self, key: str, *, version: str | None = None) -> str: ...

    def local_path(self, key: str, *, version: str | None = None
                   ) -> AbstractContextManager[Path]:
        """A real file with the content, for tools that need one (ffmpeg, hard links); valid
        inside the ``with`` block only, and never to be written to."""
        ...

    def clean_tmp(self) -> int:
        """Remove leftovers of writes a crash interrupted; how many."""
        ...

    def free_bytes(self) -> int: ...

    def total_bytes(self) -> int: ...


class Refused(KustoszError, PermissionError):
    """The store refused to change or remove content: its lock (retention, legal hold) or the
    credentials it was opened with do not allow it. Nothing was changed."""


def check_content(key: str, got_sha256: str, want_sha256: str | None) -> None:
    """Refuse content whose SHA-256 differs from the index's (none recorded: nothing to
    compare). The one place the message of a mismatch is worded."""
    if want_sha256 is not None and got_sha256 != want_sha256:
        raise Tampered(key, got_sha256, want_sha256)


class Tampered(KustoszError):
    """What the store gave for a key is not the content the index hashed when it was taken
    in (a newer version put under the key, or damage): it is not served, copied or signed."""

    def __init__(self, key: str, got_sha256: str, want_sha256: str) -> None:
        self.key, self.got_sha256, self.want_sha256 = key, got_sha256, want_sha256
        super().__init__(
            f"the stored content of {key} does not match the index (SHA-256 "
            f"{got_sha256[:16]}… instead of {want_sha256[:16]}…): it was replaced or damaged "
            "in the store and is not used; tell the administrator",
            pl=f"Zawartość {key} w magazynie nie zgadza się z indeksem (skrót SHA-256 "
               f"{got_sha256[:16]}… zamiast {want_sha256[:16]}…): została podmieniona albo "
               "uszkodzona w magazynie i nie zostanie użyta. Powiadom administratora.")


class KeyTaken(InputError):
    """The key already holds a file: nothing was written (a store never overwrites)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"storage key {key!r} already holds a file",
                         pl=f"Pod kluczem magazynu „{key}” jest już plik.")

    def __reduce__(self) -> tuple[type[KeyTaken], tuple[str]]:
        return KeyTaken, (self.key,)


class Unavailable(KustoszError, ConnectionError):
    """The store cannot be reached or stopped answering; what was being written is not
    stored (the caller keeps its copy and tries again)."""


@dataclass(frozen=True)
class Lock:
    """The lock on one stored content: kept at least until ``retain_until`` (None: no
    retention) and, while ``legal_hold`` is on, kept whatever the date."""

    retain_until: datetime | None
    legal_hold: bool


@runtime_checkable
class Lockable(Protocol):
    """A store that enforces the lock itself (S3 Object Lock in GOVERNANCE mode; the memory
    store mimics it for tests). A store without it (the local folder) relies on the sweep
    alone; `put_retained`, `retain` and `legal_hold` below are no-ops there.

    Retention may be lengthened by anyone who may write. Nobody deletes before it ends: the
    deleting role (the sweep's credentials) deletes after it, and sets and clears legal holds;
    the app's touches no legal hold. Shortening it needs the governance bypass, which only
    the re-dating identity of an approved, two-person shortening holds (issue 28 item 5,
    kustosz.retention.shorten). A legal hold blocks deletion whatever the date."""

    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None,
            retain_until: datetime | None = None, legal_hold: bool = False) -> StoredFile: ...

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               bypass: bool = False) -> None: ...

    def legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None: ...

    def lock_of(self, key: str, version_id: str | None = None) -> Lock: ...


def check_retain_until(until: datetime | None, now: datetime) -> None:
    """A retain-until date must be a zoned time still ahead: a past one would lock nothing
    (object stores refuse it too)."""
    if until is None:
        return
    if until.tzinfo is None:
        raise InputError(f"retain-until {until.isoformat()} has no time zone",
                         pl=f"Data przechowywania do {until.isoformat()} nie ma strefy "
                            "czasowej.")
    if until <= now:
        raise InputError(f"retain-until {until.isoformat()} is not in the future",
                         pl=f"Data przechowywania do {until.isoformat()} nie jest w "
                            "przyszłości.")


def put_retained(storage: Storage, key: str, source: BinaryIO | Path, *,
                 retain_until: datetime | None, legal_hold: bool = False,
                 **kwargs: object) -> StoredFile:
    """`Storage.put` with a retention date (and a legal hold, for material a hold already
    covers when it arrives), which a store without a lock does not keep."""
    if isinstance(storage, Lockable):
        return storage.put(key, source, retain_until=retain_until,
                           legal_hold=legal_hold, **kwargs)
    check_retain_until(retain_until, datetime.now(UTC))
    log.debug("%s keeps no object lock: retention of %s is the sweep's alone",
              type(storage).__name__, key)
    return storage.put(key, source, **kwargs)  # type: ignore[arg-type]


def retain(storage: Storage, key: str, until: datetime, version_id: str | None = None) -> None:
    """Re-date the retention of a stored content (no-op on a store without a lock)."""
    if isinstance(storage, Lockable):
        storage.retain(key, until, version_id)
    else:
        log.debug("%s keeps no object lock: retention of %s to %s not set",
                  type(storage).__name__, key, until.isoformat())


def legal_hold(storage: Storage, key: str, on: bool, version_id: str | None = None) -> None:
    """Set or clear the legal hold of a stored content (no-op on a store without a lock)."""
    if isinstance(storage, Lockable):
        storage.legal_hold(key, on, version_id)
    else:
        log.debug("%s keeps no object lock: legal hold of %s %s not set",
                  type(storage).__name__, key, "on" if on else "off")


def delete_content(storage: Storage, key: str, version_id: str | None = None) -> None:
    """Remove one stored content for good: on a store that keeps versions, the version the
    index names (a delete without one leaves a delete marker and frees nothing); without a
    version id, every version of the key. Already gone is fine."""
    delete_version = getattr(storage, "delete_version", None)
    if version_id and delete_version is not None:
        with suppress(FileNotFoundError):
            delete_version(key, version_id)
        return
    storage.delete(key)


def copy_out(storage: Storage, key: str, dest: Path, *, version: str | None = None,
             sha256: str | None = None) -> int:
    """Copy a stored content (``version`` of it) to a local file (a copy being built); the
    bytes written. ``sha256``: the index's hash, checked on the way (`Tampered`, and the
    partial file removed, if the content differs)."""
    size, digest = 0, hashlib.sha256()
    try:
        with storage.open(key, version=version) as src, dest.open("wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        check_content(key, digest.hexdigest(), sha256)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size


def read_line(storage: Storage, key: str, number: int, version: str | None = None
              ) -> bytes | None:
    """Line ``number`` (1-based) of a stored chunk, without the newline, read line by line
    (not the whole day); None if it has fewer lines."""
    with storage.open(key, version=version) as f:
        for n, raw in enumerate(f, start=1):
            if n == number:
                return raw.rstrip(b"\n")
    return None
