"""Fair shares: how many resources of each class a node may hold.

A node takes at most ceil(resources / live nodes) of a class (cameras, phone lines,
singletons, each counted on its own so that a node holding the three singletons still takes
its cameras). Shares rounded up sum to at least the resources, so a stable spread exists and
nothing ping-pongs. A node over its share (a dead node came back, one more joined) gives up
the excess — cameras at a segment's end — and the others pick them up as free ones. Singletons
are never handed over while their holder lives: moving the sweep gains nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from kustosz.kinds import SourceKind

# A resource is "<class>:<name>": a source's class is its kind (each camera and phone line is
# leased on its own); the once-per-cluster work is "singleton:<what>".
CAMERA, PHONE, SINGLETON = SourceKind.CAMERA.value, SourceKind.PHONE.value, "singleton"
MOVABLE = (CAMERA, PHONE)


def kind_of(resource: str) -> str:
    return resource.partition(":")[0]


def share(resources: int, live_nodes: int) -> int:
    return math.ceil(resources / max(live_nodes, 1))


def plan(wanted: Iterable[str], held: Iterable[str], live_nodes: int
         ) -> tuple[dict[str, int], list[str]]:
    """How many more of each class to claim, and which held ones to give up."""
    by_kind: dict[str, list[str]] = {}
    for resource in sorted(set(wanted)):
        by_kind.setdefault(kind_of(resource), []).append(resource)
    mine: dict[str, list[str]] = {}
    wanted_set = {r for rs in by_kind.values() for r in rs}
    release = sorted(r for r in held if r not in wanted_set)  # no longer to be worked on
    for resource in sorted(set(held)):
        if resource in wanted_set:
            mine.setdefault(kind_of(resource), []).append(resource)
    claims = {}
    for kind, resources in by_kind.items():
        fair = share(len(resources), live_nodes)
        have = mine.get(kind, [])
        claims[kind] = max(0, fair - len(have))
        if kind in MOVABLE and len(have) > fair:
            release += have[fair:]
    return claims, release
