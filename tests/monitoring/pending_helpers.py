"""Open chunks written the way a listener writes them (the real `Chunk`), for the tests of
searching what has not been stored yet."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kustosz.ingest.chunks.spool import Chunk, close_folder, spool_root
from kustosz.ingest.events.search import index_events
from kustosz.vault import Vault


def event(received: datetime, at: datetime | None = None, host: str = "pc-042",
          user: str = "jkowalski", category: str = "work_performance", app: str = "agent",
          message: str = "logon") -> dict[str, Any]:
    """One record as the event intake writes it (same keys, same order)."""
    return {"received": received.isoformat(), "peer": "10.0.0.5", "via": "tcp",
            "format": "rfc5424", "at": (at or received).isoformat(), "host": host,
            "app": app, "user": user, "facility": 4, "severity": 6, "category": category,
            "rule": "test", "message": message, "sd": {}, "problems": []}


def open_chunk(vault: Vault, source: str, start: datetime, records: list[dict[str, Any]],
               tail: bytes = b"", tag: str = "0pen0000", hours: float = 1.0) -> Path:
    """A folder with ``records`` appended by the real writer (extent.json included), flushed
    but left open as a running listener leaves it; ``tail`` is appended raw after them."""
    folder = spool_root(vault, source) / f"{start:%Y%m%dT%H%M%SZ}-{tag}"
    chunk = Chunk(folder, start, start + timedelta(hours=hours), "at")
    for record in records:
        chunk.append(record)
    chunk.fh.write(tail)
    chunk.fh.close()
    return folder


def close(vault: Vault, source: str, folder: Path) -> int | None:
    return close_folder(vault, source, folder, "events", index_events).recording_id


def shown(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a search shows of an event, without what changes when its chunk is stored."""
    return [(r["source"], r["at"], r["host"], r["user"], r["app"], r["category"],
             r["severity"], r["message"], r["line"]) for r in rows]
