"""The data folder's `kustosz.toml`: which preset, which database, storage settings, overrides.

What the file may say, its types, ranges and defaults are kustosz.config_schema's alone; this
module reads the file through it and turns the checked tables into what the rest of Kustosz
reads (paths against the data folder, sizes in bytes, durations as timedelta).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

from kustosz import config_schema as schema
from kustosz.alert_channels import CHANNELS
from kustosz.alert_kinds import KINDS, parse_duration
from kustosz.config_schema.alerts import EmailChannel as EmailChannel  # imported from here
from kustosz.config_schema.alerts import PushChannel as PushChannel
from kustosz.config_schema.alerts import SyslogChannel as SyslogChannel
from kustosz.config_schema.alerts import WebhookChannel as WebhookChannel
from kustosz.config_schema.alerts import channel_table
from kustosz.config_schema.cameras import CAMERA_NETWORKS_DEFAULT
from kustosz.config_schema.siprec import Siprec
from kustosz.config_schema.storage import (  # noqa: F401 (imported from here by others)
    DEFAULT_SPOOL_LIMIT,
    S3_KEYS,
    SWEEP_IN_SERVE,
    SWEEP_SEPARATE,
)
from kustosz.config_schema.web import METRICS_FROM_DEFAULT
from kustosz.errors import ConfigError
from kustosz.installation_layout import check_office_store
from kustosz.sizes import parse_size

CONFIG_NAME = schema.CONFIG_NAME
Network = IPv4Network | IPv6Network
_D = schema.KustoszToml()  # the schema's defaults, the only ones

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
# One bucket shared by several offices of one installation (issue 67): each office's vault
# keeps its objects under its own prefix (lower-case letters, digits, hyphens, ending in "/")
# and sees, lists, cleans and deletes nothing outside it. Empty (the default): the whole
# bucket is this vault's. Not to be changed once media are stored (they stay where they were):
#   prefix = "mops/"
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

# Cameras added over ONVIF (kustosz cameras discover / add --onvif): the office's networks
# (a camera found elsewhere is not offered), and the watch on each camera's own clock.
# [cameras]
# networks = ["192.168.10.0/24"]   # default: the private ranges (not loopback, link-local)
# clock_limit_seconds = 2          # alert when a camera's clock is off by more
# clock_check_minutes = 15

# Calls recorded without a recording PBX (kustosz phones add-siprec): the SIPREC recording
# server the office's SBC sends each call's media to, while a line is recorded that way.
# [siprec]
# listen = "0.0.0.0:5060"
# address = "192.168.10.5"   # this machine as the SBC reaches it (default: as it was called)
# rtp_ports = "40000-40999"
# silence_seconds = 600      # a session without RTP or SIP this long is closed
# invite_rate = 10           # new sessions a second from one address

# Daily backups under `kustosz serve` (kustosz backup --to DIR makes one by hand):
# [backup]
# folder = "/mnt/kopie/kustosz"
# at = "02:30"
# passphrase_file = "/etc/kustosz/backup-passphrase"
# keep = 7
"""

@dataclass
class VaultConfig:
    preset: str | None
    database_url: str
    min_free_percent: float = _D.storage.min_free_percent
    sweep_interval_minutes: float = _D.retention.interval_minutes
    hold_margin_minutes: int = _D.custody.hold_margin_minutes
    policy_overrides: dict[str, Any] = field(default_factory=dict)
    audit: AuditConfig = field(default_factory=lambda: AuditConfig())
    web: WebConfig = field(default_factory=lambda: WebConfig())
    alerts: AlertsConfig = field(default_factory=lambda: AlertsConfig())
    # [web] metrics_from: who reads /metrics without a token (kustosz.web.metrics)
    reserve_mib: float = _D.storage.reserve_mib  # [storage] reserve_mib (kustosz.storage.reserve)
    s3: S3Config | None = None  # [storage] kind = "s3" (kustosz.storage.s3); None: media/
    # media/ hashed again against the index every this many hours (maintenance.files_check)
    files_check_hours: float = _D.storage.check_hours
    metrics_from: tuple[Network, ...] = field(
        default_factory=lambda: tuple(ip_network(n) for n in METRICS_FROM_DEFAULT))
    cameras: CamerasConfig = field(default_factory=lambda: CamerasConfig())
    siprec: Siprec = field(default_factory=lambda: Siprec())
    # the checked file this was made from: serve's reload (SIGHUP) compares the file's tables
    # with it to tell what changed (kustosz.cli.serve_reload)
    doc: schema.KustoszToml | None = field(default=None, compare=False, repr=False)
    # the file's bytes as read and checked: what serve keeps as kustosz.toml.last-good
    # (kustosz.config_keep) is exactly what it accepted, not what the file holds a moment later
    raw: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def log_format(self) -> str | None:
        """[logging] format (None: not set) of the settings in force."""
        return self.doc.logging.format if self.doc is not None else None


@dataclass(frozen=True)
class CamerasConfig:
    """[cameras]: the office's networks (a camera found elsewhere is not offered) and the
    watch on each ONVIF camera's own clock."""

    networks: tuple[Network, ...] = tuple(ip_network(n) for n in CAMERA_NETWORKS_DEFAULT)
    clock_limit_s: float = _D.cameras.clock_limit_seconds
    clock_check_minutes: float = _D.cameras.clock_check_minutes

    def in_office(self, address: str) -> bool:
        try:
            ip = ip_address(address.strip("[]"))
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


@dataclass(frozen=True)
class AuditConfig:
    witness: Path | None = None  # outside the data folder (checked when read)
    checkpoint_minutes: float = _D.audit.checkpoint_minutes
    syslog: tuple[str, int] | None = None


@dataclass(frozen=True)
class WebConfig:
    tls_cert: Path | None = None  # relative paths are the data folder's
    tls_key: Path | None = None
    trusted_proxies: tuple[str, ...] = ()


def read_config(root: Path) -> VaultConfig:
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{root} is not a Kustosz data folder (no {CONFIG_NAME}); "
                          "create one with: kustosz --data DIR init --preset NAME",
                          pl=f"{root} nie jest katalogiem danych Kustosza (brak {CONFIG_NAME}); "
                             "utwórz go poleceniem: kustosz --data KATALOG init --preset NAZWA")
    config = config_of(schema.read_file(path), path, root)
    if config.s3 is not None:
        check_office_store(root, config.s3.endpoint, config.s3.bucket, config.s3.prefix)
    return config


def config_of(raw: bytes, path: Path, root: Path) -> VaultConfig:
    """The settings of a file's bytes (``path`` names it in problems), checked against the
    schema; relative paths are the data folder's (``root``)."""
    config = from_schema(schema.load(path, root, raw), root)
    config.raw = raw
    return config


def from_schema(doc: schema.KustoszToml, root: Path) -> VaultConfig:
    """What the rest of Kustosz reads, from a checked file: paths against the data folder."""
    web, audit, storage = doc.web, doc.audit, doc.storage
    syslog = None
    if audit.syslog:
        host, _, port = audit.syslog.rpartition(":")
        syslog = (host.strip("[]"), int(port))
    return VaultConfig(
        doc.preset or None, doc.database_url, storage.min_free_percent,
        doc.retention.interval_minutes, doc.custody.hold_margin_minutes, doc.policy_overrides(),
        AuditConfig((root / audit.witness).resolve() if audit.witness else None,
                    audit.checkpoint_minutes, syslog),
        WebConfig(root / web.tls_cert if web.tls_cert else None,
                  root / web.tls_key if web.tls_key else None, tuple(web.trusted_proxies)),
        metrics_from=tuple(ip_network(v.strip(), strict=False) for v in web.metrics_from),
        reserve_mib=storage.reserve_mib, alerts=_alerts(doc.alerts, root),
        s3=_s3(storage, root), files_check_hours=storage.check_hours,
        cameras=CamerasConfig(tuple(ip_network(n.strip(), strict=False)
                                    for n in doc.cameras.networks),
                              doc.cameras.clock_limit_seconds,
                              doc.cameras.clock_check_minutes),
        siprec=doc.siprec, doc=doc)


# -- [storage] kind = "s3": media in an object store with Object Lock (kustosz.storage.s3) ---


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    bucket: str
    region: str = _D.storage.region
    credentials_file: Path | None = None  # None: KUSTOSZ_S3_ACCESS_KEY/_SECRET_KEY
    delete_credentials_file: Path | None = None  # the sweep's and the destruction's
    ca_file: Path | None = None  # the office's CA for the store's certificate
    spool_limit: int = 20 * 10**9  # bytes; [storage] spool_limit (DEFAULT_SPOOL_LIMIT)
    # "separate": `kustosz serve` never reads delete_credentials_file nor sweeps; the
    # `kustosz sweeper` process (its own unit and group) does (kustosz.retention.sweeper)
    sweep: str = _D.storage.sweep
    check_hours: float = _D.storage.check_hours  # the bucket-vs-index check; 0: never
    # each call's deadline: this, plus its size at the rate (bytes a second; storage.s3_deadline)
    deadline_seconds: float = _D.storage.deadline_seconds
    deadline_min_rate: int = parse_size(_D.storage.deadline_min_rate, "storage.deadline_min_rate")
    # this vault's part of a bucket several offices share (issue 67), e.g. "mops/"; "": all of it
    prefix: str = _D.storage.prefix
    # uploads at once on this node, every intake's together (issue 68 item 4; storage.s3_upload)
    uploads_in_flight: int = _D.storage.uploads_in_flight


def _s3(storage: schema.Storage, root: Path) -> S3Config | None:
    if storage.kind != "s3":
        return None
    assert storage.endpoint is not None and storage.bucket is not None  # the schema's check
    files = {key: root / value if value else None for key, value in (
        ("credentials_file", storage.credentials_file),
        ("delete_credentials_file", storage.delete_credentials_file),
        ("ca_file", storage.ca_file))}
    app, sweep = files["credentials_file"], files["delete_credentials_file"]
    if app is not None and sweep is not None and app.resolve() == sweep.resolve():
        raise ConfigError(f"{root / CONFIG_NAME}: storage.delete_credentials_file must not be "
                          "the application's credentials_file: the application's credentials "
                          "must not be able to delete",
                          pl=f"{root / CONFIG_NAME}: storage.delete_credentials_file nie może "
                             "być tym samym plikiem co credentials_file: dane dostępowe "
                             "aplikacji nie mogą pozwalać na usuwanie.")
    return S3Config(storage.endpoint, storage.bucket, storage.region, app, sweep,
                    files["ca_file"], parse_size(storage.spool_limit, "storage.spool_limit"),
                    sweep=storage.sweep, prefix=storage.prefix, check_hours=storage.check_hours,
                    deadline_seconds=storage.deadline_seconds,
                    deadline_min_rate=parse_size(storage.deadline_min_rate,
                                                 "storage.deadline_min_rate"),
                    uploads_in_flight=storage.uploads_in_flight)


# -- [alerts]: the channels that bring alerts to a person (kustosz.alerts) -----------------
@dataclass(frozen=True)
class AlertsConfig:
    # channel key -> its value (kustosz.alert_channels: the registered kinds), set ones only
    configured: Mapping[str, object] = field(default_factory=dict)
    # kind key -> (grace, repeat or None for no reminders); unset kinds keep their defaults
    kinds: dict[str, tuple[timedelta, timedelta | None]] = field(default_factory=dict)
    # the disk_forecast alert: the disk full in fewer days than this
    forecast_days: int = _D.alerts.forecast_days
    digest_at: str = _D.alerts.digest_at  # the DPO's daily digest (R6.3), Europe/Warsaw
    digest_to: tuple[str, ...] = ()  # its recipients; empty: email.to
    webhook_local: bool = _D.alerts.webhook_local  # any webhook may reach loopback

    @property
    def channels(self) -> dict[str, object]:
        """The channels set, in the registry's order."""
        return {key: self.configured[key] for key in CHANNELS
                if self.configured.get(key) is not None}

    # the built-in channels' own code reads its value typed
    @property
    def email(self) -> EmailChannel | None:
        value = self.configured.get("email")
        return value if isinstance(value, EmailChannel) else None

    @property
    def webhook(self) -> WebhookChannel | None:
        value = self.configured.get("webhook")
        return value if isinstance(value, WebhookChannel) else None

    @property
    def syslog(self) -> SyslogChannel | None:
        value = self.configured.get("syslog")
        return value if isinstance(value, SyslogChannel) else None


def _alerts(t: schema.Alerts, root: Path) -> AlertsConfig:
    kinds: dict[str, tuple[timedelta, timedelta | None]] = {}
    for key in KINDS:
        s = getattr(t.kinds, key)
        if s is None:
            continue
        grace = parse_duration(s.grace, f"alerts.kinds.{key}.grace") if s.grace is not None \
            else KINDS[key].grace
        repeat = KINDS[key].repeat
        if s.repeat is not None:
            repeat = None if s.repeat == "never" else \
                parse_duration(s.repeat, f"alerts.kinds.{key}.repeat", zero=False)
        kinds[key] = (grace, repeat)
    configured = {key: kind.value(table, t, root) for key, kind in CHANNELS.items()
                  if (table := channel_table(t, key)) is not None}
    return AlertsConfig(configured, kinds, t.forecast_days, t.digest_at,
                        tuple(t.digest_to), t.webhook_local)
