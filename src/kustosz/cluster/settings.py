"""`[cluster]` in kustosz.toml: the node's name and the lease timing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kustosz import config_schema as schema
from kustosz.config import CONFIG_NAME
from kustosz.config_schema.cluster import DEFAULT_LEASE_S, DEFAULT_MARGIN_S, NAME
from kustosz.errors import ConfigError


@dataclass(frozen=True)
class ClusterSettings:
    node: str | None = None
    lease_seconds: float = DEFAULT_LEASE_S
    # A node stops its recorders this long before a lease it could not renew runs out, and
    # refuses leases while its clock is off the database's by more.
    margin_seconds: float = DEFAULT_MARGIN_S

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


def read_settings(root: Path, node: str | None = None,
                  doc: schema.KustoszToml | None = None) -> ClusterSettings:
    """[cluster] of the data folder's kustosz.toml (``doc``: of the settings in force, which
    may be its last good copy: kustosz.config_fallback); ``node`` (--node) wins over its
    `node`. What the table may hold and its defaults: kustosz.config_schema.cluster."""
    if doc is not None:
        table = doc.cluster
    else:
        path = root / CONFIG_NAME
        try:
            data = schema.parse(path)
        except ConfigError:
            data = {}  # the vault's own reading of the file reports what is wrong with it
        table = schema.table("cluster", data, path, root)
    name = check_name(node) if node else None if node is not None else table.node
    return ClusterSettings(name, table.lease_seconds, table.margin)
