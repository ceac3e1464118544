"""Issue 27: what a recorder logs about the database is true. "The database answers again" is
said only when the database answered one of its calls, once an outage is over; "the database
is away" once an outage begins, not again after a step that never asked the database (a session
of a camera that recorded nothing, settled without it; a health row dropped for an error of its
own), which the recorder used to take for the database's answer.

Real parts: a PostgreSQL of the test's own behind a TCP proxy the test cuts (tests.support
.pg_outage), the GStreamer RTSP camera and the real ffmpeg; the log as the recorder wrote it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from camera_helpers import register_camera, stored, wait_for
from sqlalchemy import select
from tests.conftest import make_vault
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.cameras.register import add_site, add_zone
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.ingest.camera import health
from kustosz.ingest.camera.backlog import GAP_OPEN, OwedWrites, Retry
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.ingest.camera.spool import Session, Stop
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault

pytestmark = [
    pytest.mark.skipif(not pg_outage.available(),
                       reason="no PostgreSQL server binaries (initdb, pg_ctl) to run one"),
]
needs_camera = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())

SEGMENT_S = 2.0
OPTIONS = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, measure_clock=False)
AWAY = "the database is away"
BACK = "the database answers again"


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[Vault, Proxy]]:
    """A vault whose database is a private PostgreSQL reached only through the proxy."""
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    vault = None
    try:
        vault = make_vault(tmp_path / "vault", url=pg.url_via(proxy.port))
        with vault.transaction() as s:
            add_site(s, "Ratusz", "test", "Rynek 1")
            add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        yield vault, proxy
    finally:
        proxy.restore()
        if vault is not None:
            vault.close()
        proxy.close()
        pg.stop()


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.monotonic() of each session a recorder settled (each try to reach the camera)."""
    times: list[float] = []
    real_settle = Session.settle

    def noting(self: Session, stop: Stop = None) -> int:
        times.append(time.monotonic())
        return real_settle(self, stop)

    monkeypatch.setattr(Session, "settle", noting)
    return times


def said(records: list[logging.LogRecord], words: str, camera: str = "hol") -> list[str]:
    lines = [r.getMessage() for r in records]
    return [line for line in lines if words in line and line.startswith(f"camera {camera}:")]


def open_gaps(vault: Vault, source_id: int) -> list[Gap]:
    with vault.reading() as s:
        return list(s.execute(select(Gap).where(Gap.source_id == source_id,
                                                Gap.end_at.is_(None))).scalars())


def status_of(vault: Vault, source_id: int) -> str | None:
    with vault.reading() as s:
        row = s.get(RecorderStatus, source_id)
        return None if row is None else row.state


@needs_camera
def test_a_camera_retried_through_a_long_outage_piles_nothing_up(
        outage: tuple[Vault, Proxy], settled: list[float]) -> None:
    """Issue 27: the database goes away while the camera records (its segments wait), then
    the camera goes away too and is tried again and again. What waits for the database does
    not grow with the tries — one gap to open, the sessions that recorded nothing settled
    without it — however long the outage; when both are back, the camera's time line has one
    gap for the time it was down, closed, and every segment recorded is stored."""
    vault, proxy = outage
    with RtspServer(audio=False) as srv:
        cam = register_camera(vault, "hol", srv.url(), segment=SEGMENT_S).source_id
        pool = RecorderPool(vault, options=OPTIONS)
        pool.reconcile()
        recorder = pool.recorders[cam]
        try:
            wait_for(lambda: stored(vault, cam), 30, "recording")
            proxy.cut()
            wait_for(lambda: any(w.seg is not None for w in recorder._backlog), 60,
                     "a segment waiting for the database")
            srv.stop()
            began = len(settled)
            wait_for(lambda: len(settled) >= began + 6, 90,
                     "the camera tried again and again while the database is cut")
            downs = [w for w in recorder._backlog if w.down is not None]
            others = [w for w in recorder._backlog if w.seg is None and w.down is None]
            assert len(downs) == 1, recorder._backlog
            assert len(others) <= 2, others  # the session that recorded, and one at most
            assert len(recorder._owed.items) <= 3, [k for k, _ in recorder._owed.items]

            proxy.restore()
            srv.restart()
            wait_for(lambda: not recorder._backlog and not open_gaps(vault, cam)
                     and status_of(vault, cam) == "recording", 90,
                     "recording again, the backlog taken in, the gap closed")
            with vault.reading() as s:
                gaps = list(s.execute(select(Gap).where(Gap.source_id == cam)).scalars())
            assert len(gaps) == 1, [(g.start_at, g.end_at, g.cause) for g in gaps]
            assert gaps[0].end_at is not None and gaps[0].end_at > gaps[0].start_at
        finally:
            pool.stop_all()


@needs_camera
def test_a_camera_down_through_an_outage_never_says_the_database_answers(
        outage: tuple[Vault, Proxy], settled: list[float],
        caplog: pytest.LogCaptureFixture) -> None:
    """The camera goes away, then the database: each try to reach the camera is a session
    that recorded nothing, settled without the database. None of them is the database's
    answer: the log says once that it is away, never that it answers, until it does."""
    vault, proxy = outage
    caplog.set_level(logging.INFO, logger="kustosz")
    with RtspServer(audio=False) as srv:
        cam = register_camera(vault, "hol", srv.url(), segment=SEGMENT_S).source_id
        pool = RecorderPool(vault, options=OPTIONS)
        pool.reconcile()
        recorder = pool.recorders[cam]
        try:
            wait_for(lambda: stored(vault, cam), 30, "recording")
            srv.stop()  # the camera goes away while the database answers
            wait_for(lambda: open_gaps(vault, cam) and status_of(vault, cam) == "down"
                     and not recorder._backlog and not recorder._owed.items, 30,
                     "the camera noted down, its gap open, nothing waiting")
            taken = len(stored(vault, cam))
            cut_at = len(caplog.records)
            proxy.cut()
            began = len(settled)
            wait_for(lambda: len(settled) >= began + 5, 60,
                     "empty sessions settled while the database is cut")
            during = caplog.records[cut_at:]
            # each try owes no new row: the gap already open, its status and alert the latest
            # (five tries: a status owed between two tries once hid a new gap from the last)
            owed = [k for k, _ in recorder._owed.items]
            assert owed.count(GAP_OPEN) == 1 and len(owed) <= 3, owed
            assert said(during, BACK) == [], said(during, BACK)
            assert len(said(during, AWAY)) == 1, said(during, AWAY)
            assert recorder._retry.failing_since is not None  # nothing answered it
            assert recorder.alive

            back_at = len(caplog.records)
            proxy.restore()
            srv.restart()
            wait_for(lambda: len(stored(vault, cam)) > taken and not open_gaps(vault, cam)
                     and status_of(vault, cam) == "recording", 60,
                     "recording again, the gap closed")
            after = caplog.records[back_at:]
            assert len(said(after, BACK)) == 1, said(after, BACK)
            assert said(after, AWAY) == []
        finally:
            pool.stop_all()


def test_an_owed_row_dropped_for_its_own_error_is_no_answer_of_the_database(
        outage: tuple[Vault, Proxy], caplog: pytest.LogCaptureFixture) -> None:
    """A health row whose write fails for a reason of its own (not the database's) is
    dropped; the database, still away, has not answered: the pause goes on, no "answers
    again", no second "away"; the real answer later is said once."""
    vault, proxy = outage
    caplog.set_level(logging.INFO, logger="kustosz")
    cam = register_camera(vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
    retry = Retry(0.05, 0.2, "hol")
    owed = OwedWrites("hol", retry)

    def status(state: str) -> None:
        health.set_status(vault, cam, state, f"test {state}")

    def broken() -> None:
        raise ValueError("a write with a bug of its own")

    proxy.cut()
    owed.write("status", lambda: status("connecting"), latest=True)
    assert [key for key, _ in owed.items] == ["status"]
    assert retry.failing_since is not None
    # the last status replaces the owed one; its write fails before it asks the database
    owed.write("status", broken, latest=True)
    wait_for(retry.due, 5, "the pause over")
    owed.flush()
    assert owed.items == [] and "a write with a bug of its own" in caplog.text
    assert retry.failing_since is not None
    owed.write("status", lambda: status("down"), latest=True)  # still cut: owed
    assert [key for key, _ in owed.items] == ["status"]
    assert said(caplog.records, BACK) == []
    assert len(said(caplog.records, AWAY)) == 1, said(caplog.records, AWAY)

    proxy.restore()

    def flushed() -> bool:
        owed.flush()
        return not owed.items

    wait_for(flushed, 30, "the owed status written")
    assert status_of(vault, cam) == "down"
    assert retry.failing_since is None and retry.due()
    assert len(said(caplog.records, BACK)) == 1, said(caplog.records, BACK)


def test_an_owed_row_that_finds_the_disk_full_is_not_called_a_database_outage(
        caplog: pytest.LogCaptureFixture) -> None:
    """A full disk met while writing what is owed is said as a full disk, once; the row stays
    owed for when there is room, and no "database is away"/"answers again" is logged for it."""
    import errno

    caplog.set_level(logging.INFO, logger="kustosz")
    retry = Retry(0.05, 0.2, "hol")
    owed = OwedWrites("hol", retry)
    done: list[str] = []
    room = {"free": False}

    def status() -> None:
        if not room["free"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append("status")

    owed.items.append(("status", status))  # owed from an outage before
    for _ in range(3):
        wait_for(retry.due, 5, "the pause over")
        owed.flush()
    assert [key for key, _ in owed.items] == ["status"] and done == []
    full = said(caplog.records, "no room to write")
    assert len(full) == 1 and "No space left on device" in full[0], full
    assert said(caplog.records, AWAY) == [] and retry.failing_since is None
    room["free"] = True
    wait_for(retry.due, 5, "the pause over")
    owed.flush()
    assert owed.items == [] and done == ["status"] and not retry.full
    assert said(caplog.records, BACK) == []
