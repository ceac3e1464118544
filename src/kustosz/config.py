"""The data folder's `kustosz.toml`: which preset, which database, storage settings, overrides."""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

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
"""

_KNOWN = {"preset", "database_url", "storage", "retention", "policy", "custody", "audit",
          "web"}


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
    # [web] metrics_from: who reads /metrics without a token (kustosz.web.metrics)
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
    preset = data.get("preset") or None
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"{path}: preset must be a name")
    url = data.get("database_url", "")
    if not isinstance(url, str):
        raise ConfigError(f"{path}: database_url must be text")
    return VaultConfig(preset, url, min_free, interval, margin, policy,
                       _audit(path, root, data.get("audit", {})),
                       _web(path, root, _without(data.get("web", {}), "metrics_from")),
                       metrics_from=_metrics_from(path, data.get("web", {})))
