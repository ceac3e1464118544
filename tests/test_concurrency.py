"""Readers never wait for each other or for the writer on SQLite (WAL): a vault's read sessions
must not take the write lock, or the web app, serve and the CLI would queue behind each other."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.index.sources import add_source
from kustosz.vault import Vault


def test_readers_run_beside_an_open_writer(sqlite_vault: Vault) -> None:
    with sqlite_vault.transaction() as s:
        add_source(s, sqlite_vault.policy, "hall", "camera", "test")
    writer_holds = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with sqlite_vault.transaction() as s:
            s.get(Source, 1).enabled = False
            s.flush()
            writer_holds.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert writer_holds.wait(10)
    started = time.monotonic()
    with sqlite_vault.reading() as r1, sqlite_vault.reading() as r2:
        # Both readers see the last committed state, not the writer's uncommitted change.
        assert r1.execute(select(Source.enabled)).scalar_one() is True
        assert r2.execute(select(Source.name)).scalar_one() == "hall"
    waited = time.monotonic() - started
    release.set()
    t.join()
    assert waited < 5, f"readers waited {waited:.1f}s for the writer's lock"
    with sqlite_vault.reading() as s:
        assert s.execute(select(Source.enabled)).scalar_one() is False
