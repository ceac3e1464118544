"""What `kustosz nodes` and the dashboard show: each node, whether it is live, what it holds,
its spool backlog; and the cameras and lines no node holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from kustosz.cluster import nodes
from kustosz.cluster.balance import CAMERA, MOVABLE, PHONE
from kustosz.cluster.settings import read_settings
from kustosz.db.leases import NOW
from kustosz.vault import Vault

SINGLETON_PL = {"scheduler": "usuwanie po terminie i zadania okresowe",
                "listeners": "odbiór poczty i zdarzeń"}


@dataclass
class NodeStatus:
    name: str
    host: str
    pid: int
    live: bool
    stopped: bool
    last_seen: datetime
    clock_skew_s: float | None
    backlog_files: int
    backlog_bytes: int
    cameras: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    singletons: list[str] = field(default_factory=list)


@dataclass
class ClusterStatus:
    nodes: list[NodeStatus]
    without_node: list[str]  # "camera:…"/"phone:…" whose lease nobody holds

    def as_dict(self) -> dict[str, object]:
        return {"nodes": [vars(n) for n in self.nodes], "without_node": self.without_node}


def cluster_status(vault: Vault) -> ClusterStatus | None:
    """None on SQLite (one machine, no nodes)."""
    if vault.engine.dialect.name != "postgresql":
        return None
    lease = read_settings(vault.root).lease_seconds
    found = {n.name: NodeStatus(n.name, n.host, n.pid, n.live, n.stopped_at is not None,
                                n.last_seen, n.clock_skew_s, n.backlog_files, n.backlog_bytes)
             for n in nodes.nodes(vault.engine, lease)}
    with vault.engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT resource, CASE WHEN until > {NOW} THEN node END FROM leases "
            "ORDER BY resource")).all()
    without = []
    for resource, holder in rows:
        kind, _, name = resource.partition(":")
        node = found.get(holder) if holder else None
        if node is None:
            if kind in MOVABLE:
                without.append(resource)
            continue
        (node.cameras if kind == CAMERA else node.phones if kind == PHONE
         else node.singletons).append(name)
    return ClusterStatus(list(found.values()), without)
