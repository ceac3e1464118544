"""[storage]: the free-space margin, the reserve file, and media in an S3 object store."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from kustosz.config_schema.base import Table, checked, problem
from kustosz.sizes import parse_size

SWEEP_IN_SERVE, SWEEP_SEPARATE = "serve", "separate"  # [storage] sweep: who deletes
# What may wait in the local spool for the store before `spool_over_limit` is raised (recording
# goes on past it while the disk has room: kustosz.ingest.upload_queue).
DEFAULT_SPOOL_LIMIT = "20 GB"
# Each call to the object store ends by its deadline (kustosz.storage.s3_deadline): this much
# for any call, plus its size at the least rate for one that carries content.
DEFAULT_DEADLINE_MIN_RATE = "256 kB"
S3_KEYS = (
    "endpoint",
    "bucket",
    "prefix",
    "region",
    "credentials_file",
    "delete_credentials_file",
    "ca_file",
    "spool_limit",
    "sweep",
    "check_hours",
    "deadline_seconds",
    "deadline_min_rate",
    "uploads_in_flight",
)
SECRET_KEYS = ("access_key", "secret_key", "secret")
# Matched whole (fullmatch): "$" alone lets a trailing newline through.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# One office's part of a bucket shared by an installation's offices (issue 67): one name of
# lower-case letters, digits and hyphens ending in "/". Nothing that a store could read as a
# path step ("..", an empty part) nor a second level, so one office's prefix is never inside
# another's: "urzad/" and "urzad-mops/" share no key.
S3_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,39}/")  # fullmatch: no trailing newline


class Storage(Table):
    """Where media lie and how much of the disk is kept free."""

    min_free_percent: float = Field(
        5.0,
        ge=0,
        lt=100,
        description="Below this share of free disk space the oldest material no hold covers "
        "is deleted early and an alert is raised.",
    )
    reserve_mib: float = Field(
        64.0,
        ge=0,
        le=65536,
        description="A file given back when the disk is full, so freeing space can still be "
        "written down; 0: none.",
    )
    kind: Literal["local", "s3"] = Field(
        "local",
        description='"local": media/ in the data folder; "s3": an object store with Object Lock.',
    )
    endpoint: str | None = Field(
        None, description='The store\'s address, e.g. "https://s3.um.example.pl" (kind = "s3").'
    )
    bucket: str | None = Field(None, description="The bucket, created with Object Lock.")
    prefix: str = Field(
        "",
        description='This vault\'s part of a bucket shared by several offices, e.g. "mops/" '
        "(every object key begins with it); empty: the whole bucket is this vault's.",
    )
    region: str = "us-east-1"
    credentials_file: str | None = Field(
        None,
        description="A file (chmod 600) holding access_key and secret_key; none: the "
        "environment (KUSTOSZ_S3_ACCESS_KEY/KUSTOSZ_S3_SECRET_KEY).",
    )
    delete_credentials_file: str | None = Field(
        None, description="The sweep's credentials, the only ones that may delete."
    )
    ca_file: str | None = Field(None, description="The office's CA for the store's certificate.")
    spool_limit: str = Field(
        DEFAULT_SPOOL_LIMIT,
        description="What may wait for the store on this disk, e.g. "
        '"20 GB", before an alert is raised.',
    )
    sweep: Literal["serve", "separate"] = Field(
        SWEEP_IN_SERVE, description='"separate": only the kustosz-sweeper unit deletes.'
    )
    check_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 31,
        description="How often the bucket, or the local media folder (every file hashed "
        "again), is compared with the index; 0: never.",
    )

    deadline_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="The longest one call to the object store may take, whatever its size; "
        "past it the call is abandoned, its connection closed, and tried again later.",
    )
    deadline_min_rate: str = Field(
        DEFAULT_DEADLINE_MIN_RATE,
        description="A call carrying content is also given its size at this rate (a second), "
        'e.g. "256 kB": a 32 MB upload may take 60 s + 125 s.',
    )

    uploads_in_flight: int = Field(
        8,
        ge=1,
        le=32,
        description="Uploads to the object store at once on this node, all intakes together "
        "(each a multipart upload's parts a few at once besides).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: object) -> object:
        if isinstance(data, dict) and set(SECRET_KEYS) & set(data):
            raise problem(
                "no secrets in kustosz.toml: put the access key and secret in a file "
                "only Kustosz can read (chmod 600) and name it in "
                "storage.credentials_file",
                "w kustosz.toml nie wpisuje się sekretów: klucz dostępu i sekret "
                "umieść w pliku, który czyta tylko Kustosz (chmod 600), i wskaż go "
                "w storage.credentials_file",
            )
        return data

    @field_validator("spool_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        checked(parse_size, value, "storage.spool_limit", least=1 << 20)
        return value

    @field_validator("deadline_min_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        checked(parse_size, value, "storage.deadline_min_rate", least=1000)
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value)
        try:
            port_ok = url.port is None or 0 < url.port < 65536
        except ValueError:
            port_ok = False
        if (
            url.scheme not in ("http", "https")
            or not url.hostname
            or url.username
            or url.password
            or url.path not in ("", "/")
            or url.query
            or url.fragment
            or not port_ok
        ):
            raise problem(
                'must be the store\'s address, e.g. "https://s3.um.example.pl" or '
                '"http://10.0.0.5:8333" (no path, no user name or password in it)',
                'musi być adresem magazynu, np. "https://s3.um.example.pl" albo '
                '"http://10.0.0.5:8333" (bez ścieżki, nazwy użytkownika i hasła)',
            )
        return url.geturl().rstrip("/")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and (
            not _BUCKET.fullmatch(value)
            or ".." in value
            or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value)
        ):
            raise problem(
                f"{value!r} is not a bucket name (3-63 lower-case letters, digits, "
                "dots and hyphens)",
                f"„{value}” nie jest nazwą kubełka (3-63 małe litery, cyfry, kropki i łączniki)",
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not S3_PREFIX.fullmatch(value):
            raise problem(
                f"{value!r} is not a prefix: 1-40 lower-case letters, digits and hyphens "
                'ending in one "/", e.g. "mops/" (or empty: the whole bucket)',
                f"„{value}” nie jest prefiksem: 1-40 małych liter, cyfr i łączników "
                'zakończonych jednym "/", np. "mops/" (albo pusty: cały kubełek)',
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.fullmatch(value):
            raise problem(
                'must be a region name, e.g. "us-east-1"', 'musi być nazwą regionu, np. "us-east-1"'
            )
        return value

    @field_validator("credentials_file", "delete_credentials_file", "ca_file")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise problem("must be a path", "musi być ścieżką")
        return value

    @model_validator(mode="after")
    def _s3_together(self) -> Storage:
        given = sorted(k for k in S3_KEYS if k in self.model_fields_set)
        if self.kind == "local" and given:
            keys = ", storage.".join(given)
            raise problem(
                f'storage.{keys} apply only with storage.kind = "s3"',
                f'storage.{keys} obowiązują tylko przy storage.kind = "s3"',
            )
        if self.kind == "s3":
            for key in ("endpoint", "bucket"):
                if getattr(self, key) is None:
                    raise problem(
                        f'storage.{key} is missing (needed with kind = "s3")',
                        f'brak storage.{key} (wymagane przy kind = "s3")',
                    )
        app, sweep = self.credentials_file, self.delete_credentials_file
        if app is not None and app == sweep:
            raise problem(
                "storage.delete_credentials_file must not be the application's "
                "credentials_file: the application's credentials must not be able "
                "to delete",
                "storage.delete_credentials_file nie może być tym samym plikiem co "
                "credentials_file: dane dostępowe aplikacji nie mogą pozwalać na "
                "usuwanie",
            )
        return self
