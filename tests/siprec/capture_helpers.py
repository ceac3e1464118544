"""The capture recorder on a test vault: the product's own (ingest.phone.capture), its lines
read from the register and each ended call stored as `kustosz serve` stores it (capture.run),
in an event loop of its own thread; and a capture line on a test interface."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import select
from tests.siprec.siprec_helpers import OFFICE

from kustosz.db.models import Alert
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.ingest.phone.capture.run import make_recorder, read_lines, settings_of
from kustosz.ingest.phone.lines import add_capture_line, enable_phone_source
from kustosz.states import AlertRow
from kustosz.vault import Vault


def add_capture(vault: Vault, interface: str, name: str = "port",
                numbers: tuple[str, ...] = (OFFICE,),
                tcp_ports: list[int] | None = None) -> None:
    with vault.transaction() as s:
        add_capture_line(s, vault.policy, name, "test", interface=interface,
                         numbers=list(numbers), tcp_ports=tcp_ports)
        enable_phone_source(s, name, "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                            purpose="bezpieczeństwo informacji")


@contextmanager
def capture_recorder(vault: Vault, **overrides: object) -> Iterator[Recorder]:
    settings = replace(settings_of(vault), **overrides)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="capture-test", daemon=True)
    thread.start()
    lines = read_lines(vault)
    recorder = make_recorder(vault, settings, lambda: lines)
    asyncio.run_coroutine_threadsafe(recorder.start(), loop).result(30)
    try:
        yield recorder
    finally:
        asyncio.run_coroutine_threadsafe(recorder.close(), loop).result(120)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def settle(recorder: Recorder, timeout: float = 30) -> None:
    """Every ended call handed over (stored, or left for the next start)."""
    deadline = time.monotonic() + timeout
    while (recorder.calls or recorder.handover._finishing) and time.monotonic() < deadline:
        time.sleep(0.1)


def open_unreachable(vault: Vault) -> list[str]:
    """The messages of the open `phone.unreachable` alerts."""
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.PHONE_UNREACHABLE, Alert.cleared_at.is_(None))).scalars())
