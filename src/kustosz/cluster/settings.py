"""`[cluster]` in kustosz.toml: the node's name and the lease timing."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kustosz.config import CONFIG_NAME
from kustosz.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ClusterSettings:
    node: str | None = None
    lease_seconds: float = 15.0
    # A node stops its recorders this long before a lease it could not renew runs out, and
    # refuses leases while its clock is off the database's by more.
    margin_seconds: float = 5.0

    @property
    def renew_seconds(self) -> float:
        return self.lease_seconds / 3


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(
            f"node name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)",
            pl=f"Nazwa węzła „{name}”: dozwolone są litery, cyfry, „.”, „_” i „-” "
               "(najwyżej 100 znaków).")
    return name


def _number(table: dict[str, Any], key: str, default: float, path: Path) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ConfigError(f"{path}: cluster.{key} must be a number of seconds above 0",
                          pl=f"{path}: cluster.{key} musi być liczbą sekund większą od zera.")
    return float(value)


def read_settings(root: Path, node: str | None = None) -> ClusterSettings:
    """[cluster] of the data folder's kustosz.toml; ``node`` (--node) wins over its `node`."""
    path = root / CONFIG_NAME
    try:
        table = tomllib.loads(path.read_text("utf-8")).get("cluster", {})
    except (OSError, tomllib.TOMLDecodeError):
        table = {}  # the vault's own reading of the file reports what is wrong with it
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [cluster] must be a table")
    unknown = set(table) - {"node", "lease_seconds", "margin_seconds"}
    if unknown:
        shown = ", cluster.".join(sorted(unknown))
        raise ConfigError(f"{path}: unknown setting(s) cluster.{shown}")
    name = node if node is not None else table.get("node")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{path}: cluster.node must be a name")
    lease = _number(table, "lease_seconds", 15.0, path)
    margin = _number(table, "margin_seconds", min(5.0, lease / 3), path)
    if margin >= lease * 2 / 3:
        raise ConfigError(
            f"{path}: cluster.margin_seconds ({margin:g}) must be shorter than two thirds of "
            f"cluster.lease_seconds ({lease:g}): a lease is renewed at a third",
            pl=f"{path}: cluster.margin_seconds ({margin:g}) musi być krótszy niż dwie trzecie "
               f"cluster.lease_seconds ({lease:g}): dzierżawa jest odnawiana co jedną trzecią.")
    return ClusterSettings(check_name(name) if name else None, lease, margin)
