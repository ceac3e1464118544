"""The data folder's `kustosz.toml`: which preset, which database, storage settings, overrides."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kustosz.addresses import mail_address
from kustosz.errors import ConfigError

CONFIG_NAME = "kustosz.toml"
Network = IPv4Network | IPv6Network
METRICS_FROM_DEFAULT = ("127.0.0.1/32", "::1/128")  # [web] metrics_from: this machine only

TEMPLATE = """\
# Kustosz — configuration of this office's vault.
# The preset carries the rules of the office's regulation (kustosz policy show prints them);
# any value can be overridden in the [policy] tables below, e.g.
#   [policy.retention]
#   camera = "14 days"

preset = "{preset}"

# Empty: SQLite (WAL) in this folder. For PostgreSQL: "postgresql://user@host:5432/kustosz".
database_url = "{database_url}"

[storage]
# Below this share of free disk space the oldest material that no hold covers is deleted
# early, and an alert is raised (held material is never touched).
min_free_percent = 5.0
# A file kept in this folder (reserve.bin, at most half the margin above) that is given back
# when the disk is full, so that freeing space can still be written down; 0: none.
#   reserve_mib = 64
# Media in an S3-compatible object store with Object Lock instead of media/ (the bucket must
# be created with Object Lock; README, "Object storage (S3)"). Credentials: files only this
# account can read (chmod 600) holding access_key = "…" and secret_key = "…", or the
# environment (KUSTOSZ_S3_ACCESS_KEY/KUSTOSZ_S3_SECRET_KEY, and KUSTOSZ_S3_DELETE_… for the
# sweep's):
#   kind = "s3"
#   endpoint = "https://s3.um.example.pl"
#   bucket = "kustosz-media"
#   region = "us-east-1"
#   credentials_file = "/etc/kustosz/s3-app.toml"
#   delete_credentials_file = "/etc/kustosz/s3-sweep.toml"
#   ca_file = "/etc/kustosz/office-ca.pem"
# Deletion only in the kustosz-sweeper unit, whose group alone reads the sweep's credentials
# (README, "Object storage (S3)"); the bucket compared with the index every check_hours:
#   sweep = "separate"
#   check_hours = 24
# While the store cannot be reached, segments wait in spool/uploads/ on this disk and go up
# oldest first when it is back; past this size an alert is raised (recording goes on while
# the disk has room):
#   spool_limit = "20 GB"

[retention]
# How often the retention sweep runs under `kustosz serve` (it also runs at local midnight).
interval_minutes = 15

[custody]
# A registered request holds its material at once: the window it names (or its approximate
# time) widened by this many minutes on each side, since requesters give times roughly.
hold_margin_minutes = 30

[audit]
# Signed checkpoints of the audit log are appended to a witness file OUTSIDE this folder (another
# disk or a share), so that cutting or rewriting the log is found by `kustosz audit verify`:
#   witness = "/mnt/archive/kustosz-witness.jsonl"
# and, when the office has one, sent to its syslog server (UDP):
#   syslog = "192.0.2.10:514"
checkpoint_minutes = 15

[web]
# HTTPS (kustosz serve --tls-cert/--tls-key override these; the key must be chmod 600):
#   tls_cert = "/etc/kustosz/tls/kustosz.crt"
#   tls_key = "/etc/kustosz/tls/kustosz.key"
# Behind a reverse proxy: the addresses whose X-Forwarded-For is believed (never anyone else's):
#   trusted_proxies = ["127.0.0.1"]
# Who may read /metrics (Prometheus) without an API token of scope "metrics" (default: this
# machine only):
#   metrics_from = ["10.0.0.5"]

# Several recorders on one PostgreSQL database (kustosz serve --node NAME on each; `kustosz
# nodes` shows them): cameras, phone lines and the sweep are shared through leases.
# [cluster]
# node = "rejestrator-1"
# lease_seconds = 15     # a dead node's cameras move within this plus one segment
# margin_seconds = 5     # stop this long before a lease runs out; allowed clock difference

# Daily backups under `kustosz serve` (kustosz backup --to DIR makes one by hand):
# [backup]
# folder = "/mnt/kopie/kustosz"
# at = "02:30"
# passphrase_file = "/etc/kustosz/backup-passphrase"
# keep = 7
"""

_KNOWN = {"preset", "database_url", "storage", "retention", "policy", "custody", "audit",
          "web", "alerts", "backup", "logging", "cluster"}  # [backup]: kustosz.backup.schedule
# reads it, [logging]: kustosz.logs, [cluster]: kustosz.cluster.settings


@dataclass
class VaultConfig:
    preset: str | None
    database_url: str
    min_free_percent: float = 5.0
    sweep_interval_minutes: float = 15.0
    hold_margin_minutes: int = 30
    policy_overrides: dict[str, Any] = field(default_factory=dict)
    audit: AuditConfig = field(default_factory=lambda: AuditConfig())
    web: WebConfig = field(default_factory=lambda: WebConfig())
    alerts: AlertsConfig = field(default_factory=lambda: AlertsConfig())
    # [web] metrics_from: who reads /metrics without a token (kustosz.web.metrics)
    reserve_mib: float = 64.0  # [storage] reserve_mib (kustosz.storage.reserve)
    s3: S3Config | None = None  # [storage] kind = "s3" (kustosz.storage.s3); None: media/
    metrics_from: tuple[Network, ...] = field(
        default_factory=lambda: tuple(ip_network(n) for n in METRICS_FROM_DEFAULT))


@dataclass(frozen=True)
class AuditConfig:
    witness: Path | None = None  # outside the data folder (checked when read)
    checkpoint_minutes: float = 15.0
    syslog: tuple[str, int] | None = None


@dataclass(frozen=True)
class WebConfig:
    tls_cert: Path | None = None  # relative paths are the data folder's
    tls_key: Path | None = None
    trusted_proxies: tuple[str, ...] = ()


def _web(path: Path, root: Path, table: Any) -> WebConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [web] must be a table")
    unknown = set(table) - {"tls_cert", "tls_key", "trusted_proxies"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) web.{', web.'.join(sorted(unknown))}")
    files = {}
    for name in ("tls_cert", "tls_key"):
        value = table.get(name) or None
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: web.{name} must be a path")
        files[name] = root / value if value else None
    proxies = table.get("trusted_proxies", [])
    if isinstance(proxies, str):
        proxies = [proxies]
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise ConfigError(f"{path}: web.trusted_proxies must be a list of addresses, "
                          'e.g. ["127.0.0.1"]')
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{path}: web.trusted_proxies: {proxy!r} is not an IP address "
                              "or network") from None
    return WebConfig(files["tls_cert"], files["tls_key"], tuple(proxies))


def _audit(path: Path, root: Path, table: Any) -> AuditConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [audit] must be a table")
    unknown = set(table) - {"witness", "checkpoint_minutes", "syslog"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) audit.{', audit.'.join(sorted(unknown))}")
    minutes = table.get("checkpoint_minutes", 15.0)
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 < minutes <= 1440:
        raise ConfigError(f"{path}: audit.checkpoint_minutes must be a number of minutes above 0 "
                          "and at most 1440")
    witness = table.get("witness") or None
    if witness is not None:
        if not isinstance(witness, str):
            raise ConfigError(f"{path}: audit.witness must be a path")
        where = (root / witness).resolve()
        # The witness is worth something only where the one who holds the data folder
        # cannot also rewrite it; inside the folder it would be cut together with the log.
        if where == root.resolve() or where.is_relative_to(root.resolve()):
            raise ConfigError(f"{path}: audit.witness {witness} is inside the data folder; "
                              "put it outside (another disk or a share)")
        witness = where
    syslog = table.get("syslog") or None
    if syslog is not None:
        host, _, port = str(syslog).rpartition(":")
        if not isinstance(syslog, str) or not host or not port.isdigit() \
                or not 0 < int(port) < 65536:
            raise ConfigError(f"{path}: audit.syslog must be host:port, e.g. 192.0.2.10:514")
        syslog = (host.strip("[]"), int(port))
    return AuditConfig(witness, float(minutes), syslog)


def _metrics_from(path: Path, web: Any) -> tuple[Network, ...]:
    """[web] metrics_from: addresses or networks allowed to read /metrics without a token."""
    if not isinstance(web, dict):
        raise ConfigError(f"{path}: [web] must be a table")
    value = web.get("metrics_from", list(METRICS_FROM_DEFAULT))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: web.metrics_from must be a list of addresses, "
                          'e.g. ["10.0.0.5", "192.0.2.0/24"]')
    out = []
    for v in value:
        try:
            out.append(ip_network(v.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{path}: web.metrics_from: {v!r} is not an address or network",
                              pl=f"{path}: web.metrics_from: „{v}” nie jest adresem ani "
                                 "siecią.") from None
    return tuple(out)


def _without(table: Any, key: str) -> Any:
    return {k: v for k, v in table.items() if k != key} if isinstance(table, dict) else table


def read_config(root: Path) -> VaultConfig:
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{root} is not a Kustosz data folder (no {CONFIG_NAME}); "
                          "create one with: kustosz --data DIR init --preset NAME")
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - _KNOWN
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    storage = data.get("storage", {})
    retention = data.get("retention", {})
    policy = data.get("policy", {})
    custody = data.get("custody", {})
    if not all(isinstance(t, dict) for t in (storage, retention, policy, custody)):
        raise ConfigError(f"{path}: [storage], [retention], [custody] and [policy] must be "
                          "tables")
    margin = custody.get("hold_margin_minutes", 30)
    if not isinstance(margin, int) or isinstance(margin, bool) or not 0 <= margin <= 1440:
        raise ConfigError(f"{path}: custody.hold_margin_minutes must be a whole number of "
                          "minutes from 0 to 1440")
    try:
        min_free = float(storage.get("min_free_percent", 5.0))
        interval = float(retention.get("interval_minutes", 15.0))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: min_free_percent and interval_minutes must be numbers") \
            from None
    if not 0 <= min_free < 100:
        raise ConfigError(f"{path}: storage.min_free_percent must be between 0 and 100")
    if interval <= 0:
        raise ConfigError(f"{path}: retention.interval_minutes must be above zero")
    reserve = storage.get("reserve_mib", 64)
    if isinstance(reserve, bool) or not isinstance(reserve, int | float) \
            or not 0 <= reserve <= 65536:
        raise ConfigError(f"{path}: storage.reserve_mib must be a number of MiB from 0 to 65536",
                          pl=f"{path}: storage.reserve_mib musi być liczbą MiB od 0 do 65536.")
    preset = data.get("preset") or None
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"{path}: preset must be a name")
    url = data.get("database_url", "")
    if not isinstance(url, str):
        raise ConfigError(f"{path}: database_url must be text")
    return VaultConfig(preset, url, min_free, interval, margin, policy,
                       _audit(path, root, data.get("audit", {})),
                       _web(path, root, _without(data.get("web", {}), "metrics_from")),
                       metrics_from=_metrics_from(path, data.get("web", {})),
                       reserve_mib=float(reserve),
                       alerts=_alerts(path, root, data.get("alerts", {})),
                       s3=_s3(path, root, storage))


# -- [storage] kind = "s3": media in an object store with Object Lock (kustosz.storage.s3) ---
S3_KEYS = {"endpoint", "bucket", "region", "credentials_file", "delete_credentials_file",
           "ca_file", "spool_limit", "sweep", "check_hours"}
SWEEP_IN_SERVE, SWEEP_SEPARATE = "serve", "separate"  # [storage] sweep: who deletes
# What may wait in the local spool for the store before `spool_over_limit` is raised (recording
# goes on past it while the disk has room: kustosz.ingest.upload_queue).
DEFAULT_SPOOL_LIMIT = "20 GB"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    bucket: str
    region: str = "us-east-1"
    credentials_file: Path | None = None  # None: KUSTOSZ_S3_ACCESS_KEY/_SECRET_KEY
    delete_credentials_file: Path | None = None  # the sweep's and the destruction's
    ca_file: Path | None = None  # the office's CA for the store's certificate
    spool_limit: int = 20 * 10**9  # bytes; [storage] spool_limit (DEFAULT_SPOOL_LIMIT)
    # "separate": `kustosz serve` never reads delete_credentials_file nor sweeps; the
    # `kustosz sweeper` process (its own unit and group) does (kustosz.retention.sweeper)
    sweep: str = SWEEP_IN_SERVE
    check_hours: float = 24.0  # the bucket-vs-index check (kustosz.storage.check); 0: never


def _s3(path: Path, root: Path, storage: dict[str, Any]) -> S3Config | None:
    kind = storage.get("kind", "local")
    if kind not in ("local", "s3"):
        raise ConfigError(f'{path}: storage.kind must be "local" or "s3", not {kind!r}',
                          pl=f'{path}: storage.kind musi mieć wartość "local" albo "s3", a '
                             f"nie „{kind}”.")
    given = S3_KEYS & set(storage)
    if {"access_key", "secret_key", "secret"} & set(storage):
        raise ConfigError(f"{path}: no secrets in {CONFIG_NAME}: put the access key and "
                          "secret in a file only Kustosz can read (chmod 600) and name it in "
                          "storage.credentials_file",
                          pl=f"{path}: w {CONFIG_NAME} nie wpisuje się sekretów: klucz dostępu "
                             "i sekret umieść w pliku, który czyta tylko Kustosz (chmod 600), "
                             "i wskaż go w storage.credentials_file.")
    if kind == "local":
        if given:
            raise ConfigError(f"{path}: storage.{', storage.'.join(sorted(given))} apply only "
                              'with storage.kind = "s3"',
                              pl=f"{path}: storage.{', storage.'.join(sorted(given))} "
                                 'obowiązują tylko przy storage.kind = "s3".')
        return None
    for key in ("endpoint", "bucket"):
        if key not in storage:
            raise ConfigError(f"{path}: storage.{key} is missing (needed with kind = \"s3\")",
                              pl=f"{path}: brak storage.{key} (wymagane przy kind = \"s3\").")
    endpoint = storage["endpoint"]
    url = urlsplit(endpoint) if isinstance(endpoint, str) else None
    try:
        port_ok = url is not None and (url.port is None or 0 < url.port < 65536)
    except ValueError:
        port_ok = False
    if url is None or url.scheme not in ("http", "https") or not url.hostname or \
            url.username or url.password or url.path not in ("", "/") or url.query or \
            url.fragment or not port_ok:
        raise ConfigError(f"{path}: storage.endpoint must be the store's address, "
                          'e.g. "https://s3.um.example.pl" or "http://10.0.0.5:8333" '
                          "(no path, no user name or password in it)",
                          pl=f"{path}: storage.endpoint musi być adresem magazynu, np. "
                             '"https://s3.um.example.pl" albo "http://10.0.0.5:8333" (bez '
                             "ścieżki, nazwy użytkownika i hasła).")
    bucket = storage["bucket"]
    if not isinstance(bucket, str) or not _BUCKET.match(bucket) or ".." in bucket or \
            re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket):
        raise ConfigError(f"{path}: storage.bucket {bucket!r} is not a bucket name (3-63 "
                          "lower-case letters, digits, dots and hyphens)",
                          pl=f"{path}: storage.bucket „{bucket}” nie jest nazwą kubełka "
                             "(3-63 małe litery, cyfry, kropki i łączniki).")
    region = storage.get("region", "us-east-1")
    if not isinstance(region, str) or not _REGION.match(region):
        raise ConfigError(f"{path}: storage.region must be a region name, e.g. \"us-east-1\"",
                          pl=f"{path}: storage.region musi być nazwą regionu, np. "
                             '"us-east-1".')
    files: dict[str, Path | None] = {}
    for key in ("credentials_file", "delete_credentials_file", "ca_file"):
        value = storage.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{path}: storage.{key} must be a path",
                              pl=f"{path}: storage.{key} musi być ścieżką.")
        files[key] = root / value if value else None
    app, sweep = files["credentials_file"], files["delete_credentials_file"]
    if app is not None and sweep is not None and app.resolve() == sweep.resolve():
        raise ConfigError(f"{path}: storage.delete_credentials_file must not be the "
                          "application's credentials_file: the application's credentials "
                          "must not be able to delete",
                          pl=f"{path}: storage.delete_credentials_file nie może być tym samym "
                             "plikiem co credentials_file: dane dostępowe aplikacji nie mogą "
                             "pozwalać na usuwanie.")
    from kustosz.sizes import parse_size

    who = storage.get("sweep", SWEEP_IN_SERVE)
    if who not in (SWEEP_IN_SERVE, SWEEP_SEPARATE):
        raise ConfigError(f'{path}: storage.sweep must be "serve" or "separate", not {who!r}',
                          pl=f'{path}: storage.sweep musi mieć wartość "serve" albo '
                             f'"separate", a nie „{who}”.')
    hours = storage.get("check_hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or \
            not 0 <= hours <= 24 * 31:
        raise ConfigError(f"{path}: storage.check_hours must be a number of hours from 0 "
                          "(never) to 744",
                          pl=f"{path}: storage.check_hours musi być liczbą godzin od 0 "
                             "(nigdy) do 744.")
    limit = parse_size(storage.get("spool_limit", DEFAULT_SPOOL_LIMIT),
                       f"{path}: storage.spool_limit", least=1 << 20)
    return S3Config(url.geturl().rstrip("/"), bucket, region, app, sweep, files["ca_file"],
                    limit, sweep=who, check_hours=float(hours))


# -- [alerts]: the channels that bring alerts to a person (kustosz.alerts) -----------------
@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password_file: Path | None = None  # never the password itself (read when sending)
    ca_file: Path | None = None  # the office's own CA for the relay's certificate
    # set from the web only (kustosz.alerts.settings): the password sealed with the vault's
    # secrets key (kustosz.atrest), opened when sending; never the password in clear
    password_sealed: str | None = None
    ca_pem: str | None = None  # set from the web only: the office's CA pasted as PEM text
    # what of the web's stored section was not used, and why (kustosz.alerts.settings):
    # "password_file"/"ca_file" named on the page, which only kustosz.toml may name now
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookChannel:
    url: str  # with url_sealed: only scheme://host, for display and logs
    timeout_s: float = 5.0
    url_sealed: str | None = None  # typed in the web: the whole address, sealed (a secret)
    # may reach loopback/link-local addresses: only when kustosz.toml says so (its own
    # literal loopback address, or [alerts] webhook_local = true), never from the web alone
    local_ok: bool = False


@dataclass(frozen=True)
class SyslogChannel:
    host: str
    port: int = 514


@dataclass(frozen=True)
class AlertsConfig:
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    syslog: SyslogChannel | None = None
    # kind key -> (grace, repeat or None for no reminders); unset kinds keep their defaults
    kinds: dict[str, tuple[timedelta, timedelta | None]] = field(default_factory=dict)
    forecast_days: int = 14  # the disk_forecast alert: the disk full in fewer days than this
    digest_at: str = "07:30"  # the DPO's daily digest (R6.3), Europe/Warsaw; "" for none
    digest_to: tuple[str, ...] = ()  # its recipients; empty: email.to
    webhook_local: bool = False  # [alerts] webhook_local: any webhook may reach loopback

    @property
    def channels(self) -> dict[str, object]:
        return {name: ch for name, ch in (("email", self.email), ("webhook", self.webhook),
                                          ("syslog", self.syslog)) if ch is not None}




def _addresses(path: Path, value: Any, key: str, empty_ok: bool) -> list[str]:
    """A list of e-mail addresses (or one as a string) under ``key``; names the bad ones."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value) or (
            not value and not empty_ok):
        raise ConfigError(f"{path}: {key} must be a list of e-mail addresses, "
                          'e.g. ["it@um.example.pl"]',
                          pl=f"{path}: {key} — podaj listę adresów e-mail, np. "
                             '["it@um.example.pl"] albo ["it@localhost"] (serwer pocztowy na '
                             "tym komputerze).")
    bad = [a for a in value if not mail_address(a)]
    if bad:
        said = ", ".join(repr(a) for a in bad)
        raise ConfigError(f"{path}: {key} must be a list of e-mail addresses; not one: "
                          f"{said}",
                          pl=f"{path}: {key} — to nie jest adres e-mail: "
                             + ", ".join(f"„{a}”" for a in bad)
                             + " (adres ma postać nazwa@domena, np. it@um.example.pl albo "
                               "it@localhost).")
    return value
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _table(path: Path, table: Any, name: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    unknown = set(table) - allowed
    if "password" in unknown:
        raise ConfigError(f"{path}: {name}.password is not allowed: put the password in a file "
                          "only Kustosz can read (chmod 600) and name it in password_file")
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {name}."
                          f"{', {name}.'.join(sorted(unknown))}".replace("{name}", name))
    return table


def _port(path: Path, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigError(f"{path}: {what} must be a port number from 1 to 65535")
    return value


def _host(path: Path, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        raise ConfigError(f"{path}: {what} must be a host name or address")
    return value.strip("[]")


def _email(path: Path, root: Path, table: Any) -> EmailChannel:
    t = _table(path, table, "alerts.email", {"host", "port", "starttls", "tls", "user",
                                             "password_file", "from", "to", "ca_file"})
    for key in ("host", "from", "to"):
        if key not in t:
            raise ConfigError(f"{path}: alerts.email.{key} is missing")
    host = _host(path, t["host"], "alerts.email.host")
    starttls, tls = t.get("starttls", False), t.get("tls", False)
    if not isinstance(starttls, bool) or not isinstance(tls, bool):
        raise ConfigError(f"{path}: alerts.email.starttls and alerts.email.tls are true or false")
    if starttls and tls:
        raise ConfigError(f"{path}: alerts.email: choose starttls (port 587) or tls (port 465), "
                          "not both")
    port = _port(path, t.get("port", 465 if tls else 587 if starttls else 25),
                 "alerts.email.port")
    to = _addresses(path, t["to"], "alerts.email.to", empty_ok=False)
    sender = t["from"]
    if not mail_address(sender):
        raise ConfigError(f"{path}: alerts.email.from must be an e-mail address",
                          pl=f"{path}: alerts.email.from — to nie jest adres e-mail: "
                             f"„{sender}” (adres ma postać nazwa@domena, np. "
                             "kustosz@um.example.pl albo kustosz@localhost).")
    user, password_file = t.get("user"), t.get("password_file")
    if (user is None) != (password_file is None):
        raise ConfigError(f"{path}: alerts.email: give user and password_file together "
                          "(or neither, when the relay needs no login)")
    if user is not None:
        if not isinstance(user, str) or not user:
            raise ConfigError(f"{path}: alerts.email.user must be a user name")
        if not isinstance(password_file, str) or not password_file:
            raise ConfigError(f"{path}: alerts.email.password_file must be a path")
        if not (starttls or tls) and host not in _LOOPBACK:
            raise ConfigError(f"{path}: alerts.email: a login to {host} without starttls or tls "
                              "would send the password in clear over the network")
        password_file = root / password_file
    ca_file = t.get("ca_file")
    if ca_file is not None:
        if not isinstance(ca_file, str) or not ca_file:
            raise ConfigError(f"{path}: alerts.email.ca_file must be a path")
        if not (starttls or tls):
            raise ConfigError(f"{path}: alerts.email.ca_file is used only with starttls or tls")
        ca_file = root / ca_file
    return EmailChannel(host, port, sender, tuple(to), starttls, tls, user, password_file,
                        ca_file)


def _webhook(path: Path, table: Any, local: bool) -> WebhookChannel:
    from kustosz.addresses import named_local

    t = _table(path, table, "alerts.webhook", {"url"})
    url = t.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        raise ConfigError(f"{path}: alerts.webhook.url must be an http:// or https:// address")
    # the root-owned file naming a loopback address itself is that file allowing it
    return WebhookChannel(url, local_ok=local or named_local(url))


def _syslog(path: Path, table: Any) -> SyslogChannel:
    t = _table(path, table, "alerts.syslog", {"host", "port"})
    if "host" not in t:
        raise ConfigError(f"{path}: alerts.syslog.host is missing")
    return SyslogChannel(_host(path, t["host"], "alerts.syslog.host"),
                         _port(path, t.get("port", 514), "alerts.syslog.port"))


def _alerts(path: Path, root: Path, table: Any) -> AlertsConfig:
    from kustosz.alerts.kinds import KINDS, parse_duration

    t = _table(path, table, "alerts", {"email", "webhook", "syslog", "kinds", "forecast_days",
                                        "digest_at", "digest_to", "webhook_local"})
    local = t.get("webhook_local", False)
    if not isinstance(local, bool):
        raise ConfigError(f"{path}: alerts.webhook_local is true or false")
    kinds_table = t.get("kinds", {})
    if not isinstance(kinds_table, dict):
        raise ConfigError(f"{path}: [alerts.kinds] must hold one table per alert kind")
    kinds: dict[str, tuple[timedelta, timedelta | None]] = {}
    for key, settings in kinds_table.items():
        if key not in KINDS:
            raise ConfigError(f"{path}: unknown alert kind alerts.kinds.{key}; the kinds are "
                              f"{', '.join(KINDS)}")
        s = _table(path, settings, f"alerts.kinds.{key}", {"grace", "repeat"})
        grace = parse_duration(s["grace"], f"alerts.kinds.{key}.grace") if "grace" in s \
            else KINDS[key].grace
        repeat = KINDS[key].repeat
        if "repeat" in s:
            repeat = None if s["repeat"] == "never" else \
                parse_duration(s["repeat"], f"alerts.kinds.{key}.repeat", zero=False)
        kinds[key] = (grace, repeat)
    days = t.get("forecast_days", 14)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ConfigError(f"{path}: alerts.forecast_days must be a whole number of days "
                          "from 1 to 365")
    digest_at = t.get("digest_at", "07:30")
    if not isinstance(digest_at, str) or not (
            digest_at == "" or re.match(r"^([01]\d|2[0-3]):[0-5]\d$", digest_at)):
        raise ConfigError(f"{path}: alerts.digest_at must be a time HH:MM (Europe/Warsaw), "
                          'e.g. "07:30", or "" for no daily digest')
    digest_to = _addresses(path, t.get("digest_to", []), "alerts.digest_to", empty_ok=True)
    return AlertsConfig(_email(path, root, t["email"]) if "email" in t else None,
                        _webhook(path, t["webhook"], local) if "webhook" in t else None,
                        _syslog(path, t["syslog"]) if "syslog" in t else None, kinds,
                        days, digest_at, tuple(digest_to), local)
