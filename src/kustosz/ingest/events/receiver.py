"""What the HTTP and RELP servers need of the endpoint intake that started them. They are
handed an intake and call back into it; typing them against this protocol rather than the
intake class keeps the servers below the intake, which imports them to start them."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from kustosz.ingest.chunks.counters import Counters
from kustosz.ingest.chunks.spool import Chunk
from kustosz.ingest.events.settings import EndpointSettings


class Receiver(Protocol):
    source_name: str
    settings: EndpointSettings
    counters: Counters
    connections: dict[asyncio.StreamWriter, asyncio.Task[Any]]
    relp_stopping: asyncio.Event
    relp_sessions: set[asyncio.Task[Any]]

    def refuse_peer(self, peer: str) -> bool: ...

    def take_syslog(self, data: bytes, peer: str, via: str) -> Chunk: ...

    def take_json(self, item: object, peer: str, touched: set[Chunk] | None = None) -> str | None:
        ...
