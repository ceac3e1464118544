"""The data folder's `kustosz.toml`: which preset, which database, storage settings, overrides."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kustosz.errors import ConfigError

CONFIG_NAME = "kustosz.toml"

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
"""

_KNOWN = {"preset", "database_url", "storage", "retention", "policy", "custody"}


@dataclass
class VaultConfig:
    preset: str | None
    database_url: str
    min_free_percent: float = 5.0
    sweep_interval_minutes: float = 15.0
    hold_margin_minutes: int = 30
    policy_overrides: dict[str, Any] = field(default_factory=dict)


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
    return VaultConfig(preset, url, min_free, interval, margin, policy)
