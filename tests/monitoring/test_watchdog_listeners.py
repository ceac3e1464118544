"""Serve's watchdog sees the listeners (issue 27): a real event listener (its HTTP intake on
its own event loop, as `kustosz serve` runs it through `Listeners`) beats from its ticks; a
listener whose event loop is made to hang stops the pings to a real datagram socket standing
for systemd's $NOTIFY_SOCKET within its allowance; the listeners and their passes backing off
from a database cut keep the pings going; stopped on purpose, they are forgotten.

What is mocked: only the hang itself — the listener's tick (`ChunkSpool.tick`) is made to
block its event loop on an event, which is what a call that never returns on the loop looks
like. The allowances and the rescan interval are shortened so the test takes seconds.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from monitoring_helpers import endpoint, mailbox
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from tests.test_watchdog import FakeSystemd

from kustosz.ingest import listeners as listeners_module
from kustosz.ingest.chunks import service as service_module
from kustosz.ingest.chunks.spool import ChunkSpool
from kustosz.ingest.listeners import Listeners
from kustosz.vault import Vault
from kustosz.watchdog import Progress, Watchdog, new_progress

ALLOWANCE_S = 2.0  # the listeners', for the test (serve's are minutes)


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not reached within {timeout:.0f} s"
        time.sleep(0.05)


def no_progress(systemd: FakeSystemd) -> list[str]:
    return [x for x in systemd.lines() if "no progress" in x]


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify"))
    yield fake
    fake.close()


@pytest.fixture
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "TICK_ALLOWANCE_S", ALLOWANCE_S)
    monkeypatch.setattr(listeners_module, "ALLOWANCE_S", ALLOWANCE_S)
    monkeypatch.setattr(listeners_module, "RESCAN_S", 0.5)


def watchdog_of(vault: Vault, systemd: FakeSystemd) -> tuple[Progress, Watchdog]:
    progress = new_progress(vault)  # as serve does: the listeners register here
    dog = Watchdog(progress, interval_s=0.1, env=systemd.env).start()
    dog.ready()
    return progress, dog


def post_event(port: int, token: str, text: str) -> int:
    body = json.dumps({"time": "2026-11-20T09:00:00+00:00", "host": "pc-7",
                       "message": text}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/events", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def test_a_listener_whose_loop_hangs_stops_the_pings(
        elblag_sqlite: Vault, systemd: FakeSystemd, short: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    vault = elblag_sqlite
    token = endpoint(vault, syslog_udp="", syslog_tcp="")
    assert token
    hang, release = threading.Event(), threading.Event()
    hung_at: list[float] = []
    real = ChunkSpool.tick

    async def tick(self: ChunkSpool, now: datetime | None = None) -> None:
        if hang.is_set() and not release.is_set():
            hung_at.append(time.monotonic())
            release.wait(120)  # blocks the listener's event loop: nothing else runs on it
        await real(self, now)

    monkeypatch.setattr(ChunkSpool, "tick", tick)
    progress, dog = watchdog_of(vault, systemd)
    listeners = Listeners(vault)
    stop = threading.Event()
    rescans = threading.Thread(target=listeners.run, args=(stop,), name="listeners")
    try:
        listeners.reconcile()
        rescans.start()
        port = listeners.addresses("siem")["http"][1]
        assert post_event(port, token, "logowanie") == 202
        wait_until(lambda: {"listener siem", "listeners"} <= set(progress.names()), 10,
                   "the listener and the passes registered")
        wait_until(lambda: systemd.count("WATCHDOG=1") >= 5, 30, "pings while it listens")
        assert no_progress(systemd) == []

        hang.set()  # the listener's event loop is stuck from its next tick on
        wait_until(lambda: no_progress(systemd), 60, "the watchdog to see the hang")
        seen_at = time.monotonic()
        said = no_progress(systemd)[-1]
        assert "listener siem" in said and "listeners" not in said.replace(
            "listener siem", ""), said  # the passes go on: only the hung loop is named
        assert seen_at - hung_at[0] < ALLOWANCE_S + 15
        pings = systemd.count("WATCHDOG=1")
        wait_until(lambda: dog.check() is False, 5, "a turn of the watchdog")
        assert systemd.count("WATCHDOG=1") == pings  # no ping while it is hung

        release.set()
        wait_until(lambda: systemd.count("WATCHDOG=1") > pings, 30, "the pings to resume")
        assert post_event(port, token, "wylogowanie") == 202
    finally:
        release.set()
        stop.set()
        if rescans.is_alive():
            rescans.join(30)
        listeners.stop_all()
        dog.close()
    # stopped on purpose: forgotten, no stall
    assert not {"listener siem", "listeners"} & set(progress.names())


@pytest.mark.skipif(not pg_outage.available(),
                    reason="PostgreSQL's initdb and pg_ctl are not installed")
def test_listeners_backing_off_from_a_database_cut_keep_the_pings(
        tmp_path: Path, systemd: FakeSystemd, short: None) -> None:
    """The database cut for several allowances: the listeners acknowledge into their spools,
    their passes find the register away and try again, every loop beats; the watchdog keeps
    pinging throughout."""
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    vault = Vault.init(tmp_path / "vault", "elblag", pg.url_via(proxy.port), actor="test")
    dog: Watchdog | None = None
    listeners = Listeners(vault)
    stop = threading.Event()
    rescans = threading.Thread(target=listeners.run, args=(stop,), name="listeners")
    try:
        mailbox(vault)
        token = endpoint(vault, syslog_udp="", syslog_tcp="")
        assert token
        progress, dog = watchdog_of(vault, systemd)
        listeners.reconcile()
        rescans.start()
        port = listeners.addresses("siem")["http"][1]
        wait_until(lambda: {"listener siem", "listener journal", "listeners"}
                   <= set(progress.names()), 10, "every loop registered")

        proxy.cut()
        cut_at = time.monotonic()
        pings = systemd.count("WATCHDOG=1")
        wait_until(lambda: listeners.away_since is not None, 30,
                   "the passes to find the database away")
        n = 0
        while time.monotonic() - cut_at < 4 * ALLOWANCE_S:  # events keep coming meanwhile
            n += 1
            assert post_event(port, token, f"zdarzenie {n}") == 202
            time.sleep(0.2)  # the pace of a sender, not an assertion's wait
        assert no_progress(systemd) == [], no_progress(systemd)
        assert systemd.count("WATCHDOG=1") - pings >= 4 * ALLOWANCE_S

        proxy.restore()
        wait_until(lambda: listeners.away_since is None, 60, "the register answering again")
        assert no_progress(systemd) == []
    finally:
        proxy.restore()
        stop.set()
        if rescans.is_alive():
            rescans.join(30)
        listeners.stop_all()
        if dog is not None:
            dog.close()
        vault.close()
        proxy.close()
        pg.stop()
