"""The object store's connection (kustosz.storage.s3): the credentials an identity comes with,
one boto3 session for the process, a client with its retries and timeouts, the bucket's check,
and botocore's exceptions turned into Kustosz's.

Every request is held to its call's deadline (s3_deadline): `_errors` is the call.

Secrets: the secret key is handed to botocore and never put in a message, a log line or a
repr; errors name the endpoint, the bucket and the key, never the credentials.

A prefix (issue 67: one bucket, many offices): every object key the vault names is stored as
prefix + key, and only `_object` makes that name — every request's Key= goes through it, so
no call can reach past the vault's part of the bucket. Keys handed back to the vault (a
listing, a StoredFile, a Stat) are the vault's, without the prefix. Messages: a place
("endpoint/bucket/…", `_where`) names the object as the store knows it, prefix included; a
key said alone ("storage key 'x'") is the vault's key, as the index keeps it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote

from kustosz.config_schema.storage import S3_PREFIX
from kustosz.errors import ConfigError, InputError
from kustosz.storage.base import Refused, Unavailable, check_key
from kustosz.storage.s3_deadline import CallLimits, Cut, DeadlinePassed, current, install, within
from kustosz.storage.s3_payload import install_payload


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


def check_prefix(prefix: str) -> str:
    """The prefix of a vault's part of a shared bucket: empty, or one name ending in "/" (the
    schema's rule, [storage] prefix; checked again here for a store made in code)."""
    if prefix and not S3_PREFIX.fullmatch(prefix):
        raise ConfigError(f"{prefix!r} is not an object store prefix: 1-40 lower-case letters, "
                          'digits and hyphens ending in one "/", e.g. "mops/"',
                          pl=f"„{prefix}” nie jest prefiksem w magazynie obiektów: 1-40 małych "
                             'liter, cyfr i łączników zakończonych jednym "/", np. "mops/".')
    return prefix


UPLOADS_IN_FLIGHT = 8  # [storage] uploads_in_flight: uploads at once, every intake's together
PART_WORKERS = 4  # parts of one multipart upload in flight at once (4 x 8 MiB in memory at most)
OTHER_CALLS = 10  # connections kept beside the uploads' (reads, listings, the sweep's calls)

_SESSION_LOCK = threading.Lock()
_SESSIONS: list[Any] = []


def _session(boto3: Any) -> Any:
    """One boto3 session for the process: it reads S3's service model once (0.3 s a client
    otherwise; the sweep's store is opened at every run). Credentials are the client's own."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class S3Client:
    """One bucket reached with one identity's credentials: the requests every part of the
    store makes (`_errors` around each, `_head`, `_version_args`) and the bucket's check."""

    def __init__(self, endpoint: str, bucket: str, credentials: Credentials, scratch: Path, *,
                 region: str = "us-east-1", deleting: bool = False,
                 ca_file: Path | None = None, attempts: int = 3,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 limits: CallLimits | None = None, prefix: str = "",
                 uploads: int = UPLOADS_IN_FLIGHT) -> None:
        # boto3 and botocore take 0.4 s to load, and only an s3 store needs them
        import boto3  # noqa: PLC0415 - heavy, only for an s3 store
        from botocore.config import Config  # noqa: PLC0415 - heavy, only for an s3 store

        self.endpoint, self.bucket, self.region = endpoint.rstrip("/"), bucket, region
        self.prefix = check_prefix(prefix)
        self.deleting = deleting
        self.scratch = scratch
        self.limits = limits or CallLimits()
        # At most this many uploads at once in the process, whichever intake asks (a batch's
        # copies, the camera segments' committer, the spool's uploader): the store and the
        # link are shared, and each upload holds connections (parts) and a file open.
        self.uploads = max(1, uploads)
        self.in_flight = threading.BoundedSemaphore(self.uploads)
        self.upload_failures = 0  # uploads that failed for the store (S3Upload.put)
        self._origin = credentials.origin
        # Nothing is written before the bucket was found to keep the lock: a vault opened
        # while the store was away (Vault.open) checks it at the first upload instead.
        self._checked = False
        config = Config(
            s3={"addressing_style": "path"}, region_name=region,
            retries={"mode": "standard", "total_max_attempts": max(attempts, 1)},
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            # A connection for each request that may be in flight at once: with botocore's 10,
            # the 11th request opened a connection of its own and closed it afterwards
            # (urllib3 "Connection pool is full, discarding connection").
            max_pool_connections=self.uploads * PART_WORKERS + OTHER_CALLS,
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
        install(self._s3)
        install_payload(self._s3)

    # -- names --------------------------------------------------------------------------
    def _object(self, key: str) -> str:
        """The store's name of the vault's ``key``: checked (a relative path, no '..' part),
        under the prefix. The one place the store's name of an object is made.

        Under a prefix also checked once percent-decoded: "%2e%2e/mops/x" is three
        characters to the stores tested, but a proxy or store that decoded a path twice
        would read "urzad/../mops/x" (Kustosz's own keys hold no '%': source names and
        times, kustosz.ingest.files.storage_key)."""
        return self.prefix + self._inside(key)

    def _inside(self, key: str) -> str:
        """``key`` checked as `_object` checks it (a listing's prefix too)."""
        check_key(key)
        if self.prefix and "%" in key:
            try:
                check_key(unquote(key))
            except InputError:
                raise InputError(
                    f"storage key {key!r} is not a relative path inside the store once its "
                    "%-escapes are decoded",
                    pl=f"Klucz magazynu „{key}” po rozkodowaniu sekwencji % nie jest ścieżką "
                       "względną wewnątrz magazynu.") from None
        return key

    def _where(self, key: str | None = None) -> str:
        """The place a message names: the bucket, the vault's part of it, the object."""
        return f"{self.endpoint}/{self.bucket}" + \
            (f"/{self.prefix}{key or ''}" if key or self.prefix else "")

    @property
    def place(self) -> str:
        """The bucket, and the vault's part of it ("media/mops/"), for reports."""
        return self.bucket + (f"/{self.prefix}" if self.prefix else "")

    # -- errors ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, what: str, key: str | None = None, *, size: int = 0,
                cut: Cut | None = None) -> Iterator[Cut]:
        """One call to the store: its deadline (`s3_deadline`: [storage] deadline_seconds,
        plus ``size`` bytes at deadline_min_rate; ``cut``: a call begun in another thread,
        e.g. an upload's parts; a call already under way in this thread: that one's), and
        botocore's exceptions as ours: FileNotFoundError for a missing key, Refused for
        what the lock or the credentials do not allow, Unavailable for a store that cannot
        be reached or did not finish in time, InputError for the rest; never the secret."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - heavy

        where = self._where(key)
        own = cut is None and current() is None
        call = cut or current() or Cut(self.limits.for_size(size))
        try:
            with within(call):
                yield call
        except ClientError as exc:
            self._refused(exc, what, where)
        except (BotoCoreError, DeadlinePassed) as exc:
            if call.passed:
                raise self.too_slow(what, where, call) from None
            # EndpointConnectionError, timeouts, a connection closed mid-request …
            raise Unavailable(f"the object store {self.endpoint} is not reachable or stopped "
                              f"answering while trying to {what} {where} "
                              f"({type(exc).__name__})",
                              pl=f"Magazyn obiektów {self.endpoint} jest nieosiągalny albo "
                                 f"przestał odpowiadać ({what} {where}).") from None
        finally:
            if own:
                call.disarm()

    def too_slow(self, what: str, where: str, call: Cut) -> Unavailable:
        """The call did not finish by its deadline: abandoned, its connection closed."""
        return Unavailable(
            f"the object store {self.endpoint} did not finish a call in time: to {what} "
            f"{where} took longer than its deadline of {call.total_s:.0f} s ([storage] "
            "deadline_seconds, deadline_min_rate); the call was abandoned and its connection "
            "closed",
            pl=f"Magazyn obiektów {self.endpoint} nie zakończył wywołania w wyznaczonym "
               f"czasie: operacja ({what} {where}) trwała dłużej niż {call.total_s:.0f} s "
               "([storage] deadline_seconds, deadline_min_rate); wywołanie przerwano, a "
               "połączenie zamknięto.")

    def _refused(self, exc: Any, what: str, where: str) -> NoReturn:
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

    def _pages(self, operation: str, what: str, key: str | None = None,
               **args: Any) -> Iterator[dict[str, Any]]:
        """A paginated LIST, each page its own call: the deadline never counts the time the
        consumer takes between pages, nor holds its own calls to a LIST's deadline."""
        pages = iter(self._s3.get_paginator(operation).paginate(**args))
        while True:
            with self._errors(what, key):
                page = next(pages, None)
            if page is None:
                return
            yield page

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

    # -- one object -----------------------------------------------------------------------
    def _version_args(self, key: str, version_id: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object(key)}
        if version_id:
            args["VersionId"] = version_id
        return args

    def _head(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        args = self._version_args(key, version_id)
        with self._errors("read", key):
            return self._s3.head_object(**args)  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True
