"""Media in an S3-compatible object store with Object Lock (issue 16): the second real
implementation of `kustosz.storage.base.Storage`, and `Lockable`.

Every operation is one kind of request: put → PUT (or a multipart upload for large files),
open with a range → ranged GET streamed, stat/exists → HEAD, iterate → paginated LIST,
delete → DELETE of each version *by its version id* (a DELETE without one only adds a delete
marker and frees nothing), checksum → a streamed GET hashed on the way.

The lock is the store's, not Kustosz's: the bucket must have versioning and Object Lock
(checked by `prepare`, refused otherwise), and each object is written in GOVERNANCE mode with
its retain-until date. Three identities (issue 28 item 5), each refused by the store what it
must not do:

* the web app's can write, read, list and lengthen retention, and nothing else — no delete,
  no legal hold (the store cannot tell a legal hold switched on from one switched off), no
  bypass: whoever steals them cannot delete recorded material nor free it of a hold;
* the *deleting role*, the sweep's (`kustosz sweeper`): deletes object versions and sets and
  clears legal holds, but holds no s3:BypassGovernanceRetention — the store refuses it every
  version before that version's retain-until, whatever the database says;
* the re-dating identity, used only by the approved, two-person shortening of a period
  (`kustosz retention shorten approve --credentials FILE`, kustosz.retention.shorten): it may
  shorten retention with the governance bypass (`retain(..., bypass=True)`) and nothing else.

Secrets: the secret key is handed to botocore and never put in a message, a log line or a
repr; errors name the endpoint, the bucket and the key, never the credentials.

One bucket, many offices (issue 67): ``[storage] prefix`` ("mops/") is the vault's part of a
shared bucket. Every object the vault writes, reads, locks, lists or deletes is prefix + its
key (`s3_client.S3Client._object`); a listing lists only under the prefix and hands back the
vault's keys without it, so the index comparison (kustosz.maintenance.store_check) sees only
this vault's objects; housekeeping aborts only the unfinished uploads under the prefix. A key
cannot climb out (check_key refuses '..' and empty parts; under a prefix, once %-decoded too),
and "mops/x" asked by the vault of "urzad/" is "urzad/mops/x", never the other office's. An
empty prefix is the whole bucket, as before; a bucket is either one such vault's or shared by
prefixed vaults only. That the store itself keeps one office out of another's part is its
policy's work: each office's credentials granted only arn:aws:s3:::BUCKET/PREFIX*
(docs/operations/s3.md, "One bucket, many offices", and the limit of it stated there).

The parts: the connection, credentials and errors (`s3_client`), the lock of each version
(`s3_lock`), uploads and their verification (`s3_upload`); reading, deleting and the
housekeeping are here, in `S3Storage`, the class the rest of Kustosz uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from kustosz.config import S3Config
from kustosz.errors import InputError
from kustosz.storage.base import CHUNK, Stat, StoredFile, Unavailable
from kustosz.storage.s3_client import (
    ENV_ACCESS,
    ENV_DELETE_ACCESS,
    ENV_DELETE_SECRET,
    ENV_SECRET,
    PART_WORKERS,
    UPLOADS_IN_FLIGHT,
    Credentials,
    credentials_from_env,
    read_credentials,
)
from kustosz.storage.s3_deadline import CallLimits, Cut
from kustosz.storage.s3_lock import GOVERNANCE
from kustosz.storage.s3_upload import (
    META_SHA256,
    MULTIPART_THRESHOLD,
    PART_SIZE,
    S3Upload,
)

__all__ = ["ENV_ACCESS", "ENV_DELETE_ACCESS", "ENV_DELETE_SECRET", "ENV_SECRET", "GOVERNANCE",
           "META_SHA256", "MULTIPART_THRESHOLD", "PART_SIZE", "PART_WORKERS", "STALE_UPLOAD",
           "UPLOADS_IN_FLIGHT", "Credentials", "S3Storage", "credentials_from_env", "object_store",
           "read_credentials"]

STALE_UPLOAD = timedelta(days=1)  # an unfinished multipart upload older than this is a leftover


def object_store(settings: S3Config, root: Path, *, deleting: bool = False,
                 credentials: Credentials | None = None) -> S3Storage:
    """The store [storage] kind = "s3" names, with the app's credentials or (``deleting``)
    the sweep's, or the ``credentials`` given (the re-dating identity's); scratch copies in
    the data folder's tmp/. The bucket is checked by `prepare` (Vault.open calls it). Every
    store of a vault is made here, so none misses its prefix."""
    if credentials is not None:
        creds = credentials
    elif deleting:
        creds = read_credentials(settings.delete_credentials_file, group_ok=True) \
            if settings.delete_credentials_file else credentials_from_env(deleting=True)
    else:
        creds = read_credentials(settings.credentials_file) \
            if settings.credentials_file else credentials_from_env()
    return S3Storage(settings.endpoint, settings.bucket, creds, root / "tmp",
                     region=settings.region, deleting=deleting, ca_file=settings.ca_file,
                     limits=limits_of(settings), prefix=settings.prefix,
                     uploads=settings.uploads_in_flight)


def limits_of(settings: S3Config) -> CallLimits:
    """The deadline of each call to the store ([storage] deadline_seconds, deadline_min_rate)."""
    return CallLimits(settings.deadline_seconds, settings.deadline_min_rate)


class _Body(io.RawIOBase):
    """A GET's streamed body as a raw stream (wrapped in a BufferedReader: line iteration
    and small reads without one request or one byte at a time). ``per_read``: each read has
    its own deadline (the store's time to deliver it, never the reader's between reads);
    otherwise the call's deadline, armed by the caller, covers the whole body."""

    def __init__(self, body: Any, where: str, call: Cut, limits: CallLimits | None,
                 too_slow: Callable[[Cut], Unavailable]) -> None:
        self._body, self._where = body, where
        self._call, self._limits, self._too_slow = call, limits, too_slow

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._limits is not None:
            self._call.arm(self._limits.for_size(len(buffer)))
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:  # urllib3/botocore errors of a dropped connection
            if self._call.passed:
                raise self._too_slow(self._call) from None
            raise Unavailable(f"the object store stopped sending {self._where} "
                              f"({type(exc).__name__})",
                              pl=f"Magazyn obiektów przestał przesyłać {self._where}.") from None
        finally:
            if self._limits is not None:
                self._call.disarm()
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()
        super().close()


class S3Storage(S3Upload):
    """One bucket of an S3-compatible store. ``deleting``: opened with the sweep's
    credentials (deletes versions past their retain-until, sets and clears legal holds); the
    web app's never are."""

    def __init__(self, endpoint: str, bucket: str, credentials: Credentials, scratch: Path, *,
                 region: str = "us-east-1", deleting: bool = False,
                 ca_file: Path | None = None, multipart_threshold: int = MULTIPART_THRESHOLD,
                 part_size: int = PART_SIZE, attempts: int = 3,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 limits: CallLimits | None = None, prefix: str = "",
                 uploads: int = UPLOADS_IN_FLIGHT) -> None:
        super().__init__(endpoint, bucket, credentials, scratch, region=region,
                         deleting=deleting, ca_file=ca_file, attempts=attempts,
                         connect_timeout=connect_timeout, read_timeout=read_timeout,
                         limits=limits, prefix=prefix, uploads=uploads)
        self.multipart_threshold = multipart_threshold
        self.part_size = max(part_size, 5 << 20)
        self.page_size = 1000  # keys per LIST request
        self.stale_upload = STALE_UPLOAD

    def __repr__(self) -> str:
        role = "deleting" if self.deleting else "app"
        return f"S3Storage({self._where()}, {role})"

    # -- reading --------------------------------------------------------------------------
    def open(self, key: str, offset: int = 0, length: int | None = None, *,
             version: str | None = None) -> BinaryIO:
        """A ranged GET, streamed: nothing is read before the caller reads it. ``version``:
        that version (the index's), not whatever was put under the key since."""
        self._inside(key)
        if length == 0:
            self._head(key, version)  # a missing key is still FileNotFoundError
            return io.BytesIO(b"")
        args = self._version_args(key, version)
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            args["Range"] = f"bytes={offset}-{end}"
        try:
            with self._errors("read", key) as call:
                got = self._s3.get_object(**args)
        except InputError as exc:
            if "InvalidRange" in str(exc):  # a range past the end: nothing there, as on disk
                return io.BytesIO(b"")
            raise
        raw = _Body(got["Body"], key, call, self.limits, self._late(key))
        return io.BufferedReader(raw, CHUNK)

    def _late(self, key: str) -> Callable[[Cut], Unavailable]:
        where = self._where(key)
        return lambda call: self.too_slow("read", where, call)

    def _whole(self, key: str, version: str | None, call: Cut) -> tuple[Any, io.BufferedReader]:
        """A GET whose body is read at once, by us: one deadline for all of it, the floor
        plus its length at the least rate."""
        got = self._s3.get_object(**self._version_args(key, version))
        call.extend(int(got.get("ContentLength") or 0) / self.limits.min_rate)
        return got, io.BufferedReader(_Body(got["Body"], key, call, None, self._late(key)),
                                      CHUNK)

    def stat(self, key: str, *, version: str | None = None) -> Stat:
        head = self._head(key, version)
        return Stat(key, int(head["ContentLength"]), head["LastModified"].astimezone(UTC))

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """The vault's keys (without the vault's prefix) beginning with ``prefix``."""
        if prefix:
            self._inside(prefix.removesuffix("/"))  # no '..' nor empty part: not above ours
        mine = len(self.prefix)
        for page in self._pages("list_objects_v2", "list", prefix or None, Bucket=self.bucket,
                                Prefix=self.prefix + prefix,
                                PaginationConfig={"PageSize": self.page_size}):
            for item in page.get("Contents", []):
                if item["Key"].startswith(self.prefix):  # the store's Prefix, trusted not
                    yield item["Key"][mine:]

    def version_pages(self, page_size: int = 1000) -> Iterator[list[dict[str, Any]]]:
        """Every version and delete marker of the vault's part of the bucket, a page at a
        time, each a dict as the store lists it ("Key" the vault's, without the prefix; and
        "marker"): what the index is compared with (kustosz.maintenance.store_check). Each
        page its own call with its own deadline: the listing as long as the bucket needs."""
        args: dict[str, Any] = {"Bucket": self.bucket,
                                "PaginationConfig": {"PageSize": page_size}}
        if self.prefix:
            args["Prefix"] = self.prefix
        mine = len(self.prefix)
        for page in self._pages("list_object_versions", "list the versions in", **args):
            items = [{**v, "marker": False} for v in page.get("Versions", [])]
            items += [{**m, "marker": True} for m in page.get("DeleteMarkers", [])]
            yield [{**i, "Key": i["Key"][mine:]} for i in items
                   if i["Key"].startswith(self.prefix)]

    def versions(self, key: str) -> list[tuple[str, bool]]:
        """Every version id of ``key`` (newest first), and whether it is a delete marker."""
        name = self._object(key)
        found: list[tuple[str, bool]] = []
        for page in self._pages("list_object_versions", "list the versions of", key,
                                Bucket=self.bucket, Prefix=name,
                                PaginationConfig={"PageSize": self.page_size}):
            found += [(v["VersionId"], False) for v in page.get("Versions", [])
                      if v["Key"] == name]
            found += [(m["VersionId"], True) for m in page.get("DeleteMarkers", [])
                      if m["Key"] == name]
        return found

    def checksum(self, key: str, *, version: str | None = None) -> StoredFile:
        """Read the content (of ``version``) back, streamed, and hash it (not the store's own
        checksum: this is the check that the bytes are still the bytes)."""
        digest, size = hashlib.sha256(), 0
        with self._errors("read", key) as call:
            got, body = self._whole(key, version, call)
            with body as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        return StoredFile(key, size, digest.hexdigest(), got.get("VersionId"))

    def hash_of(self, key: str, *, version: str | None = None) -> str:
        return self.checksum(key, version=version).sha256

    @contextlib.contextmanager
    def local_path(self, key: str, *, version: str | None = None) -> Iterator[Path]:
        """The object (``version`` of it) downloaded to scratch (ffmpeg needs a file),
        removed after the block."""
        self._inside(key)
        folder = self.scratch / uuid.uuid4().hex
        folder.mkdir(parents=True)
        path = folder / key.rsplit("/", 1)[-1]  # the same name: tools look at the suffix
        try:
            with self._errors("read", key) as call:
                _got, body = self._whole(key, version, call)
                with body as src, path.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- deleting -------------------------------------------------------------------------
    def delete_version(self, key: str, version_id: str) -> None:
        """Remove one version for good. Never with the governance bypass: the store refuses
        it before the version's retain-until and under a legal hold, whoever asks (the app's
        credentials always)."""
        args = self._version_args(key, version_id)
        with self._errors("delete", key):
            self._s3.delete_object(**args)

    def may_delete_versions(self) -> bool:
        """Whether the store lets these credentials delete an object version — the one
        right that tells the sweep's credentials from the app's,
        which only the store's policy enforces (a copy of the sweep's file used as the app's
        would otherwise pass every check).

        Asked with a made-up key under ``kustosz-probe/`` (in the vault's prefix: a store
        whose policy grants an office only its own part answers for that part) and a
        made-up version id: no such
        version exists, and a DELETE that names a version never makes a delete marker, so
        nothing is created or removed. SeaweedFS 4.x and Ceph RGW 16 answer 403 AccessDenied
        to credentials without the right and 204 to those with it (tests/storage/
        test_delete_probe.py). False on AccessDenied; True when the store let the request
        past its permission check (204, or a 404 for the missing version); the other
        errors as every call raises them (wrong credentials, store unreachable)."""
        from botocore.exceptions import ClientError  # noqa: PLC0415 - heavy, only for an s3 store

        probe = f"kustosz-probe/{uuid.uuid4()}"
        args = {"Bucket": self.bucket, "Key": self._object(probe),
                "VersionId": uuid.uuid4().hex}
        try:
            with self._errors("probe the right to delete", probe):
                try:
                    self._s3.delete_object(**args)
                except ClientError as exc:
                    code = str(exc.response.get("Error", {}).get("Code", ""))
                    if code == "AccessDenied":
                        return False
                    raise
        except FileNotFoundError:  # NoSuchVersion: asked, so permitted
            return True
        return True

    def delete(self, key: str) -> bool:
        """Remove every version of ``key`` (and any delete marker), each by its version id;
        True if there was content. A DELETE without a version id would only hide it."""
        found = self.versions(key)
        for version_id, _marker in found:
            self.delete_version(key, version_id)
        return any(not marker for _v, marker in found)

    def delete_many(self, keys: list[str], workers: int = 4) -> None:
        for key in keys:
            self.delete(key)

    # -- housekeeping ---------------------------------------------------------------------
    def clean_tmp(self) -> int:
        """Scratch leftovers, and multipart uploads a crash left unfinished for a day — only
        those under the vault's prefix: another office's upload under way in a shared bucket
        is never this vault's to abort (with no prefix: the whole bucket's, as it is ours)."""
        n = 0
        if self.scratch.exists():
            for part in self.scratch.glob("*.part"):
                part.unlink(missing_ok=True)
                n += 1
        cutoff = datetime.now(UTC) - self.stale_upload
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.prefix:
            args["Prefix"] = self.prefix
        for page in self._pages("list_multipart_uploads", "list unfinished uploads in", **args):
            for upload in page.get("Uploads", []):
                # the store's Prefix, trusted not: an office's upload is its own to abort
                if upload["Initiated"] < cutoff and upload["Key"].startswith(self.prefix):
                    ours = upload["Key"][len(self.prefix):]
                    with self._errors("abort an unfinished upload of", ours):
                        self._s3.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                        UploadId=upload["UploadId"])
                    n += 1
        return n

    # What can fill is the local disk: the spool where segments wait while the store is
    # away (kustosz.ingest.upload_queue) and the scratch copies, both in the data folder.
    def free_bytes(self) -> int:
        return shutil.disk_usage(self._local()).free

    def total_bytes(self) -> int:
        return shutil.disk_usage(self._local()).total

    def _local(self) -> Path:
        folder = self.scratch
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return folder
