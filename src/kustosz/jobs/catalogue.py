"""The kinds of background work Kustosz itself queues, registered on first use."""

from __future__ import annotations

_loaded = False


def load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
