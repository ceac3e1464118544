"""The running recorders' counts, for `/metrics` and the dashboard of the same serve (its web
app runs in another thread): how many calls each line records now — a count, never who is
calling — and the totals since serve started; one snapshot per way of recording (``via``:
"siprec", the recording server; "capture", the calls read off a mirrored port)."""

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
    # the capture recorder: its capture process connected, each interface's state ("": read)
    connected: bool = False
    interfaces: dict[str, str] = field(default_factory=dict)
    dropped: int = 0  # frames the kernel dropped (the reader too slow)


_now: dict[str, Snapshot] = {}


def publish(snapshot: Snapshot, via: str = "siprec") -> None:
    """A recorder's state, replaced whole (one assignment: a reader sees an old one or the
    new one, never half)."""
    _now[via] = snapshot


def current(via: str = "siprec") -> Snapshot:
    return _now.get(via) or Snapshot()
