"""The running recording server's counts, for `/metrics` and the dashboard of the same serve
(its web app runs in another thread): how many sessions each line records now — a count,
never who is calling — and the totals since serve started."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Snapshot:
    listening: bool = False
    active: dict[str, int] = field(default_factory=dict)  # line -> sessions recorded now
    sessions: int = 0
    out_of_scope: int = 0
    refused: int = 0
    malformed: int = 0
    rate_limited: int = 0


_now = Snapshot()


def publish(snapshot: Snapshot) -> None:
    """The server's state, replaced whole (one assignment: a reader sees an old one or the
    new one, never half)."""
    global _now
    _now = snapshot


def current() -> Snapshot:
    return _now
