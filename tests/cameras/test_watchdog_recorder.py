"""Serve's watchdog sees a camera recorder (issue 27): a real recorder (real ffmpeg recording
the simulated camera) beats while it records, and while it backs off from a database cut;
made to hang, it stops the pings to a real datagram socket standing for systemd's
$NOTIFY_SOCKET within its allowance; stopped on purpose (the camera disabled), it is forgotten
and the pings go on.

What is mocked: only the hang itself — the recorder's look at the open segment
(`Session.hash_ahead`, called at every wake of its follow loop) is made to wait on an event,
which is what a loop stuck in a call that never returns looks like to the watchdog. The
allowances are shortened so that the test takes seconds, not minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from camera_helpers import wait_for
from sqlalchemy import select, update
from tests.conftest import make_vault
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from tests.test_watchdog import FakeSystemd

from kustosz.db.models import Recording, Source
from kustosz.ingest.camera import recorder as recorder_module
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.ingest.camera.spool import Session
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault
from kustosz.watchdog import Progress, Watchdog, new_progress

OPTIONS = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, measure_clock=False,
                          poll_s=0.5)
ALLOWANCE_S = 2.0  # the recorder's, for the test (serve's is minutes)
CAMERA = "kamera-demo"


def stored(vault: Vault) -> int:
    with vault.reading() as s:
        return len(s.execute(select(Recording.id).where(
            Recording.state == "stored")).all())


def no_progress(systemd: FakeSystemd) -> list[str]:
    return [x for x in systemd.lines() if "no progress" in x]


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify"))
    yield fake
    fake.close()


@pytest.fixture
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "ALLOWANCE_S", ALLOWANCE_S)


def watchdog_of(vault: Vault, systemd: FakeSystemd) -> tuple[Progress, Watchdog]:
    progress = new_progress(vault)  # as serve does: the recorders register here
    dog = Watchdog(progress, interval_s=0.1, env=systemd.env).start()
    dog.ready()
    return progress, dog


def test_a_hung_recorder_stops_the_pings_and_a_disabled_camera_does_not(
        sqlite_vault: Vault, systemd: FakeSystemd, short: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    vault = sqlite_vault
    start_simulated_camera(vault, name=CAMERA, segment_seconds=1.0, start=False)
    hang, release = threading.Event(), threading.Event()
    hung_at: list[float] = []
    real = Session.hash_ahead

    def hash_ahead(self: Session) -> None:
        if hang.is_set() and not release.is_set():
            hung_at.append(time.monotonic())
            release.wait(120)
        real(self)

    monkeypatch.setattr(Session, "hash_ahead", hash_ahead)
    progress, dog = watchdog_of(vault, systemd)
    pool = RecorderPool(vault, options=OPTIONS)
    try:
        pool.reconcile()
        assert f"camera {CAMERA}" in progress.names()
        wait_for(lambda: stored(vault) >= 2, 60, "recording")
        wait_for(lambda: systemd.count("WATCHDOG=1") >= 5, 30, "pings while it records")
        assert no_progress(systemd) == []

        hang.set()  # the recorder's loop is stuck from its next wake on
        wait_for(lambda: no_progress(systemd), 60, "the watchdog to see the hang")
        said = no_progress(systemd)[-1]
        seen_at = time.monotonic()
        assert f"camera {CAMERA}" in said, said
        # Within its allowance (and a few turns of the watchdog; generous for a busy
        # machine), counted from its last beat, which came before the hang
        assert seen_at - hung_at[0] < ALLOWANCE_S + 15
        assert progress.stalled()[f"camera {CAMERA}"] > ALLOWANCE_S
        pings = systemd.count("WATCHDOG=1")
        wait_for(lambda: dog.check() is False, 5, "a turn of the watchdog")
        assert systemd.count("WATCHDOG=1") == pings  # no ping while it is hung

        release.set()  # it moves again: the pings resume
        wait_for(lambda: systemd.count("WATCHDOG=1") > pings, 30, "the pings to resume")

        # The camera disabled: its recorder stops on purpose and is forgotten
        with vault.transaction() as s:
            s.execute(update(Source).where(Source.name == CAMERA).values(enabled=False))
        pool.reconcile()
        assert not pool.recorders
        assert f"camera {CAMERA}" not in progress.names()
        resumed = systemd.count("WATCHDOG=1")
        wait_for(lambda: systemd.count("WATCHDOG=1") >= resumed + 3, 30,
                 "pings after the camera stopped")
        wait_for(lambda: time.monotonic() - seen_at > 2 * ALLOWANCE_S, 30,
                 "longer than the allowance since")
        assert progress.stalled() == {}
    finally:
        release.set()
        pool.stop_all()
        dog.close()


@pytest.mark.skipif(not pg_outage.available(),
                    reason="no PostgreSQL server binaries (initdb, pg_ctl) to run one")
def test_a_recorder_backing_off_from_a_database_cut_keeps_the_pings(
        tmp_path: Path, systemd: FakeSystemd, short: None) -> None:
    """The database cut (every connection reset, new ones refused) for several times the
    recorder's allowance: it records on into its backlog, beats at every wake, and the
    watchdog keeps pinging; when the database is back, the backlog is indexed."""
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    vault = None
    pool: RecorderPool | None = None
    dog: Watchdog | None = None
    try:
        vault = make_vault(tmp_path / "vault", url=pg.url_via(proxy.port))
        start_simulated_camera(vault, name=CAMERA, segment_seconds=1.0, start=False)
        progress, dog = watchdog_of(vault, systemd)
        pool = RecorderPool(vault, options=OPTIONS)
        pool.reconcile()
        recorder = pool.recorders[next(iter(pool.recorders))]
        wait_for(lambda: stored(vault) >= 2, 60, "recording")  # type: ignore[arg-type]

        proxy.cut()
        cut_at = time.monotonic()
        pings = systemd.count("WATCHDOG=1")
        wait_for(lambda: recorder._retry.failing_since is not None, 30,
                 "the recorder to find the database away")
        wait_for(lambda: time.monotonic() - cut_at > 4 * ALLOWANCE_S, 60,
                 "the cut to last four allowances")
        waiting = sum(1 for w in list(recorder._backlog) if w.seg is not None)
        assert waiting >= 3, waiting  # it records on
        assert no_progress(systemd) == [], no_progress(systemd)
        assert f"camera {CAMERA}" in progress.names()
        # a ping at least every second of the cut (interval 0.1 s; a busy machine is slower)
        assert systemd.count("WATCHDOG=1") - pings >= 4 * ALLOWANCE_S

        proxy.restore()
        wait_for(lambda: not recorder._backlog, 90, "the backlog indexed")
        assert no_progress(systemd) == []
    finally:
        proxy.restore()
        if pool is not None:
            pool.stop_all()
        if dog is not None:
            dog.close()
        if vault is not None:
            vault.close()
        proxy.close()
        pg.stop()
