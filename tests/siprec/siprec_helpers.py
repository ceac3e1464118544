"""A SIPREC recording server on a test vault: the product's own server (ingest.phone.siprec),
its lines read from the register and each ended session stored as `kustosz serve` stores it
(siprec.run), in an event loop of its own thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.support.siprec import free_port_block

from kustosz.db.calls import Call
from kustosz.db.models import Recording
from kustosz.ingest.phone.lines import add_siprec_line, enable_phone_source
from kustosz.ingest.phone.siprec.run import make_server, read_lines, settings_of
from kustosz.ingest.phone.siprec.server import Srs, SrsSettings
from kustosz.vault import Vault

OFFICE = "+48221234567"


def add_line(vault: Vault, name: str = "sbc", sources: tuple[str, ...] = ("127.0.0.1",),
             enable: bool = True) -> None:
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, name, "test", sources=list(sources),
                        numbers=[OFFICE])
        if enable:
            enable_phone_source(s, name, "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                                purpose="bezpieczeństwo informacji")


@contextmanager
def recording_server(vault: Vault, **overrides: object) -> Iterator[Srs]:
    settings: SrsSettings = replace(settings_of(vault), host="127.0.0.1", port=0,
                                    rtp_ports=free_port_block(), **overrides)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="srs-test", daemon=True)
    thread.start()
    lines = read_lines(vault)
    srs = make_server(vault, settings, lambda: lines)
    asyncio.run_coroutine_threadsafe(srs.start(), loop).result(30)
    try:
        yield srs
    finally:
        asyncio.run_coroutine_threadsafe(srs.close(), loop).result(120)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def calls_of(vault: Vault) -> list[tuple[Call, Recording]]:
    with vault.reading() as s:
        return [(c, r) for c, r in s.execute(
            select(Call, Recording).join(Recording, Recording.id == Call.recording_id)
            .where(Recording.state == "stored").order_by(Recording.id)).all()]


def wait_for_calls(vault: Vault, count: int, timeout: float = 60) -> list[tuple[Call, Recording]]:
    wait_for(lambda: len(calls_of(vault)) >= count, timeout, f"{count} stored calls")
    return calls_of(vault)


def settle(srs: Srs, timeout: float = 30) -> None:
    """Every ended session handed over (stored or left for the next start)."""
    deadline = time.monotonic() + timeout
    while (srs.sessions or srs.handover._finishing) and time.monotonic() < deadline:
        time.sleep(0.1)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def wait_received(srs: Srs, call_id: str, packets: int, timeout: float = 30) -> None:
    """Before a BYE: the session's sockets have read ``packets`` RTP packets (a BYE closes
    them, and on a busy machine the last packets sent may still wait in their buffers)."""
    def read() -> bool:
        rec = srs.sessions.get(call_id)
        return rec is not None and sum(w.counts.received + w.counts.unexpected
                                       for w in list(rec.writers.values())) >= packets
    wait_for(read, timeout, f"{packets} RTP packets read by session {call_id}")
