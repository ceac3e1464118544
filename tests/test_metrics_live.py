"""/metrics never claims a source up that is not recording (issue 27 item 4), with the real
parts: a simulated camera recorded by the real recorder and ffmpeg (its ffmpeg stopped with
SIGSTOP stands for a recorder that hangs), and a PostgreSQL of the test's own behind a proxy
the test silences (`kustosz_database_up`, and a scrape that still answers from memory).

The status row in the database said "recording" for up to a minute after a recorder hung or
stopped (the row is that recorder's own to update); serve's app now reads its recorders."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from kustosz.cameras.register import add_site, add_zone
from kustosz.db.models import Source
from kustosz.db.watch import DatabaseWatch
from kustosz.ingest.camera.simulated import start_simulated_camera
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.vault import Vault
from kustosz.web.app import create_app
from kustosz.web.metrics import LIVE_SEGMENTS, LIVE_SLACK_S, attach_live
from tests.alerts_helpers import wait_until
from tests.cameras.camera_helpers import WAIT_SCALE
from tests.support.pg_outage import PrivatePostgres, Proxy, available

LOOPBACK = ("127.0.0.1", 50000)  # on the default [web] metrics_from
SEGMENT_S = 1.0
CAMERA = ("kind", "camera")  # the one camera of the vault, labelled by its id (R1.7)


def scrape(c: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    r = c.get("/metrics")
    assert r.status_code == 200, r.text
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def up(c: TestClient) -> float | None:
    found = scrape(c)["kustosz_source_up"]
    cameras = [labels for labels in found if CAMERA in labels]
    assert len(cameras) <= 1, cameras
    return found[cameras[0]] if cameras else None


def test_a_camera_is_up_only_while_its_recorder_closes_segments(sqlite_vault: Vault) -> None:
    pool = start_simulated_camera(sqlite_vault, segment_seconds=SEGMENT_S)
    assert pool is not None
    live = TestClient(create_app(sqlite_vault), client=LOOPBACK)
    attach_live(live.app, pool)
    by_rows = TestClient(create_app(sqlite_vault), client=LOOPBACK)  # no serve: the rows
    try:
        wait_until(lambda: up(live) == 1, 30 * WAIT_SCALE, "the camera up")
        [recorder] = pool.recorders.values()
        assert recorder.proc is not None
        os.kill(recorder.proc.pid, signal.SIGSTOP)  # ffmpeg hangs: no segment closes
        stopped = time.monotonic()
        try:
            bound = LIVE_SEGMENTS * SEGMENT_S + LIVE_SLACK_S
            wait_until(lambda: up(live) == 0, bound + 10 * WAIT_SCALE, "the camera down")
            took = time.monotonic() - stopped
            assert took <= bound + 10 * WAIT_SCALE
            # the status row still says "recording" and a segment is fresh: rows alone lie
            assert up(by_rows) == 1
            # hung for longer than the bound twice over: the session's time line (last_end)
            # stays behind the clock by as long as ffmpeg hung, after it goes on too
            assert recorder.last_end is not None
            wait_until(lambda: datetime.now(UTC) - recorder.last_end > timedelta(
                seconds=2 * bound), 3 * bound * WAIT_SCALE, "a hang longer than the bound")
        finally:
            os.kill(recorder.proc.pid, signal.SIGCONT)
        resumed = time.monotonic()
        # up again as soon as ffmpeg closes segments, by their files' time (CI of c486313:
        # after a long hang it stayed down, judged by the lagging time line)
        wait_until(lambda: up(live) == 1, bound + 10 * WAIT_SCALE, "the camera up again")
        assert time.monotonic() - resumed <= bound + 10 * WAIT_SCALE
        assert datetime.now(UTC) - recorder.last_end > timedelta(seconds=bound)
        pool.stop_all()
        assert up(live) == 0  # at once: no recorder, nothing recorded
        m = scrape(live)
        assert m["kustosz_database_up"][()] == 1  # no watch: the scrape's read answered
    finally:
        pool.stop_all()


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, Proxy]]:
    if not available():
        pytest.skip("PostgreSQL server binaries missing")
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    try:
        yield pg, proxy
    finally:
        proxy.close()
        pg.stop()


def test_database_up_follows_the_watch_and_a_scrape_answers_while_it_is_silent(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path) -> None:
    pg, proxy = private_pg
    v = Vault.init(tmp_path / "vault", "pleszew", pg.url_via(proxy.port), actor="test")
    try:
        with v.transaction() as s:
            add_site(s, "Ratusz", "test", "Rynek 1")
            add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        from tests.cameras.camera_helpers import register_camera

        register_camera(v, "wejscie", "rtsp://127.0.0.1:9/none")  # never started here
        watch = DatabaseWatch.of(v, answer_s=2.0)
        c = TestClient(create_app(v), client=LOOPBACK)
        attach_live(c.app, RecorderPool(v), watch)  # a pool that records none of them
        with v.reading() as s:
            wejscie = s.execute(select(Source.id).where(Source.name == "wejscie")).scalar_one()
        label = (CAMERA, ("source", f"camera-{wejscie}"))
        assert watch.check().up is True
        m = scrape(c)
        assert m["kustosz_database_up"][()] == 1 and m["kustosz_source_up"][label] == 0
        proxy.silence()
        assert watch.check().up is False
        started = time.monotonic()
        m = scrape(c)
        assert time.monotonic() - started < 2.0  # from memory: the database is not asked
        assert m["kustosz_database_up"][()] == 0
        assert m["kustosz_source_up"] == {label: 0}  # named as at the last scrape
        proxy.restore()
        wait_until(lambda: watch.check().up, 30, "the database back")
        assert scrape(c)["kustosz_database_up"][()] == 1
    finally:
        proxy.restore()
        v.close()


def test_a_camera_recording_into_the_spool_is_up_while_the_database_is_silent(
        private_pg: tuple[PrivatePostgres, Proxy], tmp_path: Path) -> None:
    """The database away stops no recording (issue 27): the camera is up by the segments
    ffmpeg closes into the spool, though none of them is indexed."""
    pg, proxy = private_pg
    v = Vault.init(tmp_path / "vault", "pleszew", pg.url_via(proxy.port), actor="test")
    pool = start_simulated_camera(v, segment_seconds=SEGMENT_S)
    assert pool is not None
    watch = DatabaseWatch.of(v, answer_s=2.0)
    c = TestClient(create_app(v), client=LOOPBACK)
    attach_live(c.app, pool, watch)
    try:
        assert watch.check().up is True
        wait_until(lambda: up(c) == 1, 30 * WAIT_SCALE, "the camera up")
        [recorder] = pool.recorders.values()
        proxy.silence()
        silenced = datetime.now(UTC)
        assert watch.check().up is False
        bound = LIVE_SEGMENTS * SEGMENT_S + LIVE_SLACK_S
        wait_until(lambda: (recorder.recorded_until or silenced) - silenced > timedelta(
            seconds=2 * bound), 4 * bound * WAIT_SCALE, "segments closed into the spool")
        assert recorder.last_end is not None
        assert datetime.now(UTC) - recorder.last_end > timedelta(seconds=bound)  # not indexed
        assert up(c) == 1
        assert scrape(c)["kustosz_database_up"][()] == 0
    finally:
        proxy.restore()
        pool.stop_all()
        v.close()
