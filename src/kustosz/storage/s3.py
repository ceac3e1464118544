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
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import os
import shutil
import threading
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from kustosz.config import S3Config
from kustosz.errors import ConfigError, InputError
from kustosz.storage.base import (
    CHUNK,
    Lock,
    Refused,
    Stat,
    StoredFile,
    Unavailable,
    check_key,
    check_retain_until,
)

log = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 32 << 20  # above this a file goes up in parts (retried part by part)
PART_SIZE = 8 << 20  # S3's smallest part is 5 MiB (all but the last)
PART_WORKERS = 4  # parts of one upload in flight at once (4 x 8 MiB in memory at most)
META_SHA256 = "sha256"  # x-amz-meta-sha256: the whole content's hash, for any upload kind
GOVERNANCE = "GOVERNANCE"
STALE_UPLOAD = timedelta(days=1)  # an unfinished multipart upload older than this is a leftover


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    origin: str = "the environment"  # where they came from, for messages (never the secret)


ENV_ACCESS, ENV_SECRET = "KUSTOSZ_S3_ACCESS_KEY", "KUSTOSZ_S3_SECRET_KEY"
ENV_DELETE_ACCESS, ENV_DELETE_SECRET = ("KUSTOSZ_S3_DELETE_ACCESS_KEY",
                                        "KUSTOSZ_S3_DELETE_SECRET_KEY")


def read_credentials(path: Path, group_ok: bool = False) -> Credentials:
    """An access key and its secret from a TOML file only this account may read::

        access_key = "…"
        secret_key = "…"

    ``group_ok`` (the sweep's file): it may also be readable by a group that is not this
    process's own — the group the sweeper unit alone is given (SupplementaryGroups=
    kustosz-sweep, deploy/systemd/kustosz-sweeper.service), so serve cannot read it.
    """
    try:
        st = path.stat()
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"the object store credentials file {path} does not exist",
                          pl=f"Plik z danymi dostępowymi do magazynu obiektów {path} nie "
                             "istnieje.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the object store credentials file {path} cannot be read "
                          f"({type(exc).__name__})",
                          pl=f"Nie można odczytać pliku z danymi dostępowymi do magazynu "
                             f"obiektów {path}.") from None
    shared = group_ok and not st.st_mode & 0o037 and st.st_gid != os.getgid()
    if st.st_mode & 0o077 and not shared:
        raise ConfigError(f"the object store credentials file {path} is readable by other "
                          f"accounts (mode {st.st_mode & 0o777:o}); chmod 600 {path}",
                          pl=f"Plik z danymi dostępowymi do magazynu obiektów {path} mogą "
                             f"czytać inne konta (uprawnienia {st.st_mode & 0o777:o}); "
                             f"wykonaj chmod 600 {path}.")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # the parser's message may quote the line, and the line may hold the secret
        data = None
    access, secret = (data or {}).get("access_key"), (data or {}).get("secret_key")
    if not (isinstance(access, str) and access and isinstance(secret, str) and secret) \
            or set(data or {}) - {"access_key", "secret_key"}:
        raise ConfigError(f"the object store credentials file {path} must hold exactly "
                          'access_key = "…" and secret_key = "…"',
                          pl=f"Plik z danymi dostępowymi do magazynu obiektów {path} musi "
                             'zawierać dokładnie access_key = "…" i secret_key = "…".')
    return Credentials(access, secret, str(path))


def credentials_from_env(deleting: bool = False) -> Credentials:
    names = (ENV_DELETE_ACCESS, ENV_DELETE_SECRET) if deleting else (ENV_ACCESS, ENV_SECRET)
    access, secret = (os.environ.get(n, "") for n in names)
    if not access or not secret:
        raise ConfigError(f"no object store credentials: set {names[0]} and {names[1]} or name "
                          "a file in [storage] "
                          + ("delete_credentials_file" if deleting else "credentials_file"),
                          pl=f"Brak danych dostępowych do magazynu obiektów: ustaw {names[0]} "
                             f"i {names[1]} albo wskaż plik w [storage] "
                             + ("delete_credentials_file." if deleting
                                else "credentials_file."))
    return Credentials(access, secret, f"${names[0]}")


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[Any] = []


def _session(boto3: Any) -> Any:
    """One boto3 session for the process: it reads S3's service model once (0.3 s a client
    otherwise; the sweep's store is opened at every run). Credentials are the client's own."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def object_store(settings: S3Config, root: Path, *, deleting: bool = False) -> S3Storage:
    """The store [storage] kind = "s3" names, with the app's credentials or (``deleting``)
    the sweep's; scratch copies in the data folder's tmp/. The bucket is checked by
    `prepare` (Vault.open calls it)."""
    if deleting:
        creds = read_credentials(settings.delete_credentials_file, group_ok=True) \
            if settings.delete_credentials_file else credentials_from_env(deleting=True)
    else:
        creds = read_credentials(settings.credentials_file) \
            if settings.credentials_file else credentials_from_env()
    return S3Storage(settings.endpoint, settings.bucket, creds, root / "tmp",
                     region=settings.region, deleting=deleting, ca_file=settings.ca_file)


class _Body(io.RawIOBase):
    """A GET's streamed body as a raw stream (wrapped in a BufferedReader: line iteration
    and small reads without one request or one byte at a time)."""

    def __init__(self, body: Any, where: str) -> None:
        self._body, self._where = body, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:  # urllib3/botocore errors of a dropped connection
            raise Unavailable(f"the object store stopped sending {self._where} "
                              f"({type(exc).__name__})",
                              pl=f"Magazyn obiektów przestał przesyłać {self._where}.") from None
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()
        super().close()


class S3Storage:
    """One bucket of an S3-compatible store. ``deleting``: opened with the sweep's
    credentials (deletes versions past their retain-until, sets and clears legal holds); the
    web app's never are."""

    def __init__(self, endpoint: str, bucket: str, credentials: Credentials, scratch: Path, *,
                 region: str = "us-east-1", deleting: bool = False,
                 ca_file: Path | None = None, multipart_threshold: int = MULTIPART_THRESHOLD,
                 part_size: int = PART_SIZE, attempts: int = 3,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint, self.bucket, self.region = endpoint.rstrip("/"), bucket, region
        self.deleting = deleting
        self.scratch = scratch
        self.multipart_threshold = multipart_threshold
        self.part_size = max(part_size, 5 << 20)
        self.page_size = 1000  # keys per LIST request
        self.stale_upload = STALE_UPLOAD
        self._origin = credentials.origin
        # Nothing is written before the bucket was found to keep the lock: a vault opened
        # while the store was away (Vault.open) checks it at the first upload instead.
        self._checked = False
        config = Config(
            s3={"addressing_style": "path"}, region_name=region,
            retries={"mode": "standard", "total_max_attempts": max(attempts, 1)},
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            # The checksums Kustosz wants are sent explicitly (SHA-256); no CRC32 trailers
            # that older S3-compatible servers refuse.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        with _SESSION_LOCK:  # a boto3 session is not thread-safe; its clients are
            self._s3 = _session(boto3).client(
                "s3", endpoint_url=self.endpoint, region_name=region, config=config,
                aws_access_key_id=credentials.access_key,
                aws_secret_access_key=credentials.secret_key,
                verify=str(ca_file) if ca_file else None)

    def __repr__(self) -> str:
        role = "deleting" if self.deleting else "app"
        return f"S3Storage({self.endpoint}/{self.bucket}, {role})"

    # -- errors ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, what: str, key: str | None = None) -> Iterator[None]:
        """botocore's exceptions as ours: FileNotFoundError for a missing key, Refused for
        what the lock or the credentials do not allow, Unavailable for a store that cannot
        be reached, InputError for the rest; never the secret."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"{self.endpoint}/{self.bucket}" + (f"/{key}" if key else "")
        try:
            yield
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "NotFound", "NoSuchVersion") or \
                    (status == 404 and code not in ("NoSuchBucket",)):
                raise FileNotFoundError(where) from None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                        "ExpiredToken"):
                raise Refused(
                    f"the object store {self.endpoint} does not accept the credentials from "
                    f"{self._origin} ({code}); check the access key and secret",
                    pl=f"Magazyn obiektów {self.endpoint} nie przyjmuje danych dostępowych "
                       f"z {self._origin} ({code}); sprawdź klucz dostępu i sekret.") from None
            if code == "NoSuchBucket":
                raise InputError(f"the object store {self.endpoint} has no bucket "
                                 f"{self.bucket!r}",
                                 pl=f"Magazyn obiektów {self.endpoint} nie ma kubełka "
                                    f"„{self.bucket}”.") from None
            if code == "AccessDenied" or status == 403:
                role = "the sweep's (deleting)" if self.deleting else "the application's"
                raise Refused(f"the object store refused to {what} {where} with {role} "
                              f"credentials: the object's lock or the credentials do not "
                              f"allow it ({code})",
                              pl=f"Magazyn obiektów odmówił: {what} {where} — blokada "
                                 f"obiektu albo uprawnienia danych dostępowych na to nie "
                                 f"pozwalają ({code}).") from None
            message = str(err.get("Message", "")) or code
            raise InputError(f"the object store refused to {what} {where}: {code} {message}",
                             pl=f"Magazyn obiektów odmówił operacji ({what}) na {where}: "
                                f"{code} {message}.") from None
        except BotoCoreError as exc:
            # EndpointConnectionError, timeouts, a connection closed mid-request …
            raise Unavailable(f"the object store {self.endpoint} is not reachable or stopped "
                              f"answering while trying to {what} {where} "
                              f"({type(exc).__name__})",
                              pl=f"Magazyn obiektów {self.endpoint} jest nieosiągalny albo "
                                 f"przestał odpowiadać ({what} {where}).") from None

    # -- opening --------------------------------------------------------------------------
    def prepare(self) -> None:
        """Refuse a bucket that cannot keep the lock: versioning and Object Lock must be on
        (the store refuses to switch them off again, so this is checked once per start)."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        with self._errors("check the bucket"):
            versioning = self._s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if versioning != "Enabled":
            raise InputError(
                f"the bucket {self.bucket!r} at {self.endpoint} has no versioning; Kustosz "
                "needs a bucket created with Object Lock (which turns versioning on)",
                pl=f"Kubełek „{self.bucket}” w {self.endpoint} nie ma wersjonowania; Kustosz "
                   "potrzebuje kubełka utworzonego z blokadą obiektów (Object Lock), która "
                   "włącza wersjonowanie.")
        try:
            with self._errors("check the bucket"):
                lock = self._s3.get_object_lock_configuration(Bucket=self.bucket)
        except FileNotFoundError:  # ObjectLockConfigurationNotFoundError (404)
            lock = {}
        except InputError as exc:
            if "ObjectLockConfigurationNotFound" not in str(exc):
                raise
            lock = {}
        enabled = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise InputError(
                f"the bucket {self.bucket!r} at {self.endpoint} has no Object Lock; create "
                "the bucket with Object Lock enabled (it cannot be added later on most "
                "stores): without it anyone holding the credentials could delete material "
                "before its time",
                pl=f"Kubełek „{self.bucket}” w {self.endpoint} nie ma blokady obiektów "
                   "(Object Lock); utwórz kubełek z włączoną blokadą: bez niej każdy, kto ma "
                   "dane dostępowe, mógłby usunąć nagrania przed czasem.")
        self._checked = True

    # -- writing --------------------------------------------------------------------------
    def put(self, key: str, source: BinaryIO | Path, *, durable: bool = True,
            move: bool = False, sha256: str | None = None,
            retain_until: datetime | None = None, legal_hold: bool = False) -> StoredFile:
        """Upload, verify (HEAD: size, our SHA-256 and the store's checksum), and only then
        hand back what was stored. A stream is spooled to scratch first, hashed on the way:
        the upload must be repeatable and its size known."""
        check_key(key)
        check_retain_until(retain_until, datetime.now(UTC))
        if not self._checked:
            self.prepare()
        if self.exists(key):
            raise InputError(f"storage key {key!r} already holds a file",
                             pl=f"Pod kluczem magazynu „{key}” już jest plik.")
        spooled: Path | None = None
        try:
            if isinstance(source, Path):
                path = source
                size, digest = _hash_file(path) if sha256 is None else \
                    (path.stat().st_size, sha256)
            else:
                self.scratch.mkdir(parents=True, exist_ok=True)
                spooled = self.scratch / f"{uuid.uuid4().hex}.part"
                size, digest = _spool(source, spooled)
                path = spooled
            # The bucket's owner (the sweep's account, where the app's is another account:
            # Ceph) must be able to read and delete what the app wrote.
            args: dict[str, Any] = {"Bucket": self.bucket, "Key": key,
                                    "Metadata": {META_SHA256: digest},
                                    "ACL": "bucket-owner-full-control"}
            if retain_until is not None:
                args["ObjectLockMode"] = GOVERNANCE
                args["ObjectLockRetainUntilDate"] = retain_until
            # Material a hold already covers when it arrives: the app's identity may not
            # touch legal holds (a PUT carrying one needs s3:PutObjectLegalHold, which would
            # let it switch them off too); the sweeper sets it (holds/object_lock.py).
            legal_hold = legal_hold and self.deleting
            if legal_hold:
                args["ObjectLockLegalHoldStatus"] = "ON"
            if size > self.multipart_threshold:
                version, checksum = self._multipart(path, size, args)
            else:
                version, checksum = self._single(path, size, digest, args)
            head = self._verify(key, version, size, digest, checksum)
            self._check_lock(key, version, retain_until, legal_hold, head)
        finally:
            if spooled is not None:
                spooled.unlink(missing_ok=True)
        if move and isinstance(source, Path):
            source.unlink(missing_ok=True)
        return StoredFile(key, size, digest, version)

    def _single(self, path: Path, size: int, digest: str, args: dict[str, Any]
                ) -> tuple[str | None, str | None]:
        checksum = base64.b64encode(bytes.fromhex(digest)).decode()
        with path.open("rb") as body, self._errors("upload", args["Key"]):
            got = self._s3.put_object(Body=body, ContentLength=size, ChecksumSHA256=checksum,
                                      **args)
        return got.get("VersionId"), checksum

    def _multipart(self, path: Path, size: int, args: dict[str, Any]
                   ) -> tuple[str | None, str | None]:
        """Parts with their own SHA-256 (the store checks each); the lock is given when the
        upload is created and so carried by the object it completes into. A failure aborts
        the upload: no part is left behind to be billed or found."""
        key = args["Key"]
        with self._errors("start an upload of", key):
            upload = self._s3.create_multipart_upload(ChecksumAlgorithm="SHA256", **args)
        upload_id = upload["UploadId"]
        count = max(1, -(-size // self.part_size))

        def send(number: int) -> tuple[dict[str, Any], bytes]:
            with path.open("rb") as f:
                f.seek((number - 1) * self.part_size)
                chunk = f.read(self.part_size)
            raw = hashlib.sha256(chunk).digest()
            checksum = base64.b64encode(raw).decode()
            with self._errors(f"upload part {number} of", key):
                got = self._s3.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=chunk, ChecksumSHA256=checksum)
            return {"PartNumber": number, "ETag": got["ETag"], "ChecksumSHA256": checksum}, raw

        try:
            # A few parts in flight at once, as `aws s3 cp` does: one request at a time leaves
            # the link idle while the store acknowledges each part.
            with ThreadPoolExecutor(min(PART_WORKERS, count),
                                    thread_name_prefix="kustosz-s3-part") as pool:
                sent = list(pool.map(send, range(1, count + 1)))
            parts = [part for part, _raw in sent]
            sums = [raw for _part, raw in sent]
            with self._errors("complete the upload of", key):
                done = self._s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id,
                    MultipartUpload={"Parts": parts})
        except BaseException:
            with contextlib.suppress(Exception):
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                                UploadId=upload_id)
            raise
        composite = base64.b64encode(hashlib.sha256(b"".join(sums)).digest()).decode()
        return done.get("VersionId"), f"{composite}-{len(sums)}"

    def _check_lock(self, key: str, version: str | None, until: datetime | None,
                    hold: bool, head: dict[str, Any]) -> None:
        """The object must carry the lock asked for. Ceph 16.2 ignores the lock headers of a
        multipart upload (ceph/ceph#54767): the lock is then set once the upload completed
        (a bucket default retention, if the office set one, covers the moment between)."""
        got = head.get("ObjectLockRetainUntilDate")
        if until is not None and (got is None or got < until.replace(microsecond=0)):
            with self._errors("set the retention of", key):
                self._s3.put_object_retention(
                    Bucket=self.bucket, Key=key, VersionId=version,
                    Retention={"Mode": GOVERNANCE, "RetainUntilDate": until})
            log.info("the store did not keep the retention sent with %s; set afterwards", key)
        if hold and head.get("ObjectLockLegalHoldStatus") != "ON":
            with self._errors("set the legal hold of", key):
                self._s3.put_object_legal_hold(Bucket=self.bucket, Key=key, VersionId=version,
                                               LegalHold={"Status": "ON"})
            log.info("the store did not keep the legal hold sent with %s; set afterwards", key)

    def _verify(self, key: str, version: str | None, size: int, digest: str,
                checksum: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ChecksumMode": "ENABLED"}
        if version:
            args["VersionId"] = version
        with self._errors("verify", key):
            head = self._s3.head_object(**args)
        problems = []
        if head.get("ContentLength") != size:
            problems.append(f"size {head.get('ContentLength')} instead of {size}")
        if head.get("Metadata", {}).get(META_SHA256) != digest:
            problems.append("SHA-256 metadata differs")
        stored = head.get("ChecksumSHA256")
        # A store that keeps checksums must report the one sent (whole or part-composite).
        if stored and checksum and stored.split("-")[0] != checksum.split("-")[0]:
            problems.append("the store's SHA-256 checksum differs")
        if version is None:
            problems.append("no version id (is versioning on?)")
        if problems:
            raise Unavailable(f"the upload of {key} to {self.endpoint}/{self.bucket} did not "
                              f"verify: {', '.join(problems)}",
                              pl=f"Przesłanie {key} do magazynu obiektów nie zostało "
                                 f"potwierdzone: {', '.join(problems)}.")
        return head  # type: ignore[no-any-return]

    def sync(self) -> None:
        """Nothing to do: the store acknowledges a PUT once it is stored."""

    # -- reading --------------------------------------------------------------------------
    def _head(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if version_id:
            args["VersionId"] = version_id
        with self._errors("read", key):
            return self._s3.head_object(**args)  # type: ignore[no-any-return]

    def open(self, key: str, offset: int = 0, length: int | None = None, *,
             version: str | None = None) -> BinaryIO:
        """A ranged GET, streamed: nothing is read before the caller reads it. ``version``:
        that version (the index's), not whatever was put under the key since."""
        check_key(key)
        if length == 0:
            self._head(key, version)  # a missing key is still FileNotFoundError
            return io.BytesIO(b"")
        args = self._version_args(key, version)
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            args["Range"] = f"bytes={offset}-{end}"
        try:
            with self._errors("read", key):
                got = self._s3.get_object(**args)
        except InputError as exc:
            if "InvalidRange" in str(exc):  # a range past the end: nothing there, as on disk
                return io.BytesIO(b"")
            raise
        raw = _Body(got["Body"], key)
        return io.BufferedReader(raw, CHUNK)

    def stat(self, key: str, *, version: str | None = None) -> Stat:
        head = self._head(key, version)
        return Stat(key, int(head["ContentLength"]), head["LastModified"].astimezone(UTC))

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def iterate(self, prefix: str = "") -> Iterator[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size})
        with self._errors("list", prefix or None):
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]

    def versions(self, key: str) -> list[tuple[str, bool]]:
        """Every version id of ``key`` (newest first), and whether it is a delete marker."""
        check_key(key)
        found: list[tuple[str, bool]] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=key, PaginationConfig={"PageSize": self.page_size})
        with self._errors("list the versions of", key):
            for page in pages:
                found += [(v["VersionId"], False) for v in page.get("Versions", [])
                          if v["Key"] == key]
                found += [(m["VersionId"], True) for m in page.get("DeleteMarkers", [])
                          if m["Key"] == key]
        return found

    def checksum(self, key: str, *, version: str | None = None) -> StoredFile:
        """Read the content (of ``version``) back, streamed, and hash it (not the store's own
        checksum: this is the check that the bytes are still the bytes)."""
        with self._errors("read", key):
            got = self._s3.get_object(**self._version_args(key, version))
        digest, size = hashlib.sha256(), 0
        with io.BufferedReader(_Body(got["Body"], key), CHUNK) as f:
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
        with self.open(key, version=version) as src:
            folder = self.scratch / uuid.uuid4().hex
            folder.mkdir(parents=True)
            path = folder / key.rsplit("/", 1)[-1]  # the same name: tools look at the suffix
            try:
                with path.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        try:
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the lock -------------------------------------------------------------------------
    def _version_args(self, key: str, version_id: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if version_id:
            args["VersionId"] = version_id
        return args

    def lock_of(self, key: str, version_id: str | None = None) -> Lock:
        head = self._head(key, version_id)
        until = head.get("ObjectLockRetainUntilDate")
        return Lock(until.astimezone(UTC) if until else None,
                    head.get("ObjectLockLegalHoldStatus") == "ON")

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               bypass: bool = False) -> None:
        """Re-date the retention. Lengthening is anyone's; shortening needs ``bypass`` —
        asked only by the approved shortening of a period (kustosz.retention.shorten) — and
        the store grants it only to the re-dating identity."""
        check_retain_until(until, datetime.now(UTC))
        args = self._version_args(key, version_id)
        current = self.lock_of(key, version_id).retain_until
        shorter = current is not None and until < current
        if shorter and not bypass:
            raise Refused(f"retention of {key} cannot be shortened (to {until.isoformat()}, "
                          f"from {current.isoformat()}) except by the approved shortening "
                          "of a period (kustosz retention shorten)",
                          pl=f"Okresu przechowywania {key} nie można skrócić (do "
                             f"{until.isoformat()}) inaczej niż zatwierdzonym skróceniem "
                             "okresu (kustosz retention shorten).")
        if shorter:
            args["BypassGovernanceRetention"] = True
        with self._errors("re-date the retention of", key):
            self._s3.put_object_retention(
                Retention={"Mode": GOVERNANCE, "RetainUntilDate": until}, **args)

    def legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        args = self._version_args(key, version_id)
        self._head(key, version_id)  # SeaweedFS answers a missing key with a 500 (retried)
        with self._errors("set the legal hold of" if on else "clear the legal hold of", key):
            self._s3.put_object_legal_hold(LegalHold={"Status": "ON" if on else "OFF"}, **args)

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

        Asked with a made-up key under ``kustosz-probe/`` and a made-up version id: no such
        version exists, and a DELETE that names a version never makes a delete marker, so
        nothing is created or removed. SeaweedFS 4.x and Ceph RGW 16 answer 403 AccessDenied
        to credentials without the right and 204 to those with it (tests/storage/
        test_delete_probe.py). False on AccessDenied; True when the store let the request
        past its permission check (204, or a 404 for the missing version); the other
        errors as every call raises them (wrong credentials, store unreachable)."""
        from botocore.exceptions import ClientError

        args = {"Bucket": self.bucket, "Key": f"kustosz-probe/{uuid.uuid4()}",
                "VersionId": uuid.uuid4().hex}
        try:
            with self._errors("probe the right to delete", args["Key"]):
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
        """Scratch leftovers, and multipart uploads a crash left unfinished for a day."""
        n = 0
        if self.scratch.exists():
            for part in self.scratch.glob("*.part"):
                part.unlink(missing_ok=True)
                n += 1
        cutoff = datetime.now(UTC) - self.stale_upload
        pages = self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
        with self._errors("list unfinished uploads in"):
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self._s3.abort_multipart_upload(Bucket=self.bucket,
                                                        Key=upload["Key"],
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


def _spool(stream: BinaryIO, dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
