"""Issue 27: a listener's log says "the database answers again" only when the database answered
a call (kustosz.ingest.chunks.database). Work that needed no call — a chunk folder with nothing
in it closed, no counts to add — says nothing of the database: the outage goes on, and so does
the back-off. Real parts: a private PostgreSQL behind a TCP proxy the test cuts, an endpoint
listener's own spool, counters and gate (its servers are not opened: none is needed here).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitoring_helpers import endpoint
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy

from kustosz.ingest.chunks.counters import read_counts
from kustosz.ingest.chunks.spool import CHUNK_FILE
from kustosz.ingest.events.intake import EventIntake
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not pg_outage.available(),
                                reason="PostgreSQL's initdb and pg_ctl are not installed")
AWAY = "siem: the database is away"
BACK = "siem: the database answers again"


@pytest.fixture
def outage_vault(tmp_path: Path) -> Iterator[tuple[Vault, Proxy]]:
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    vault = Vault.init(tmp_path / "vault", "elblag", pg.url_via(proxy.port), actor="test")
    try:
        yield vault, proxy
    finally:
        proxy.restore()
        vault.close()
        proxy.close()
        pg.stop()


def said(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(words)]


async def until_it_may_ask(intake: EventIntake) -> None:
    async with asyncio.timeout(60):
        while not intake.gate.may_ask():
            await asyncio.sleep(0.05)


def test_work_that_needs_no_database_is_no_answer_of_it(
        outage_vault: tuple[Vault, Proxy], caplog: pytest.LogCaptureFixture) -> None:
    vault, proxy = outage_vault
    caplog.set_level(logging.INFO, logger="kustosz")
    endpoint(vault)
    intake = EventIntake(vault, "siem")
    # What a crash right after a chunk's file was made leaves: a folder with nothing in it.
    empty = intake.spool.root / "20261120T090000Z-0badf00d"
    empty.mkdir(parents=True)
    (empty / CHUNK_FILE).touch()

    async def scenario() -> None:
        proxy.cut()
        intake.counters.add("received", 3)
        await intake._count()  # the counts kept for the next try
        assert intake.gate.away and len(said(caplog, AWAY)) == 1

        await until_it_may_ask(intake)
        assert await intake.spool._take_in(empty)  # closed without the database
        assert not empty.exists()
        assert said(caplog, BACK) == [], said(caplog, BACK)
        assert intake.gate.away

        await until_it_may_ask(intake)
        await intake._count()  # the counts kept: still cut
        assert intake.gate.away and len(said(caplog, AWAY)) == 1, said(caplog, AWAY)
        assert said(caplog, BACK) == []

        proxy.restore()
        await until_it_may_ask(intake)
        async with asyncio.timeout(60):
            while intake.gate.away:  # the database coming back: asked again after pauses
                await intake._count()
                await until_it_may_ask(intake)

    try:
        asyncio.run(scenario())
    finally:
        intake.gate.close()
    assert len(said(caplog, BACK)) == 1, said(caplog, BACK)
    assert len(said(caplog, AWAY)) == 1, said(caplog, AWAY)
    with vault.reading() as s:
        assert read_counts(s, intake.source_id).get("received") == 3
