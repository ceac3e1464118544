"""Issue 27: a camera records through a database outage of any length and indexes everything,
in order and with its true times, when the database returns.

Real parts throughout: a PostgreSQL of the test's own behind a TCP proxy the test cuts (every
connection reset, new ones refused) or silences (connections held, nothing answered: what a
frozen server or a dropped network looks like), the GStreamer RTSP camera and the real ffmpeg.
What ffmpeg closed is observed by wrapping the recorder's own hook for a closed segment (it is
called as before; the wrapper only notes the file and its time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from camera_helpers import index_matches_files, make_ts, register_camera, wait_for
from sqlalchemy import select
from tests.conftest import make_vault
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.cameras.register import add_site, add_zone
from kustosz.db.cameras import Gap, RecorderStatus
from kustosz.db.models import Recording
from kustosz.db.outage import is_database_away
from kustosz.ingest.camera import index_batch
from kustosz.ingest.camera.recorder import CameraRecorder, RecorderOptions
from kustosz.ingest.camera.segments import GrowingHash, ListedSegment
from kustosz.ingest.camera.spool import Session, new_session
from kustosz.ingest.camera.supervisor import RecorderPool
from kustosz.ingest.files import recover_pending
from kustosz.vault import Vault

pytestmark = [
    pytest.mark.skipif(not pg_outage.available(),
                       reason="no PostgreSQL server binaries (initdb, pg_ctl) to run one"),
]
needs_camera = pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())

SEGMENT_S = 2.0
OPTIONS = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, measure_clock=False)


@dataclass(frozen=True)
class Closed:
    session: str
    segment: str
    length: float
    closed_at: datetime  # the file's time when ffmpeg closed it


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
def closed(monkeypatch: pytest.MonkeyPatch) -> list[Closed]:
    seen: list[Closed] = []
    real = CameraRecorder._closed_segment

    def noting(self: CameraRecorder, session: Session, seg: ListedSegment) -> None:
        path = session.folder / seg.name
        if path.is_file():
            seen.append(Closed(session.name, seg.name, seg.end - seg.start,
                               datetime.fromtimestamp(path.stat().st_mtime, UTC)))
        real(self, session, seg)

    monkeypatch.setattr(CameraRecorder, "_closed_segment", noting)
    return seen


def rows(vault: Vault, source_id: int) -> list[Recording]:
    with vault.reading() as s:
        return list(s.execute(select(Recording).where(Recording.source_id == source_id)
                              .order_by(Recording.start_at)).scalars())


def waiting_segments(recorder: CameraRecorder) -> int:
    return sum(1 for w in list(recorder._backlog) if w.seg is not None)


def indexed(vault: Vault, source_id: int, seen: list[Closed]) -> bool:
    got = {(r.meta["session"], r.meta["segment"]) for r in rows(vault, source_id)
           if r.state == "stored"}
    return {(c.session, c.segment) for c in seen} <= got


def check_time_line(vault: Vault, source_id: int, seen: list[Closed]) -> None:
    """Every closed segment stored once, at its true time; no overlap; no hole."""
    recs = rows(vault, source_id)
    assert [r.id for r in recs if r.state != "stored"] == []
    by_file = {(r.meta["session"], r.meta["segment"]): r for r in recs}
    assert len(by_file) == len(recs), "a segment stored twice"
    assert {(c.session, c.segment) for c in seen} <= set(by_file)
    for c in seen:
        rec = by_file[(c.session, c.segment)]
        true_start = c.closed_at - timedelta(seconds=c.length)
        assert abs((rec.start_at - true_start).total_seconds()) <= SEGMENT_S, \
            (c, rec.start_at, rec.end_at)
    for a, b in pairwise(recs):
        assert b.start_at >= a.end_at, ("overlap", a.meta["segment"], b.meta["segment"])
        # one ffmpeg run throughout: its stream times chain the segments without a hole
        assert (b.start_at - a.end_at).total_seconds() < SEGMENT_S, \
            ("hole", a.end_at, b.start_at)
    index_matches_files(vault)


@needs_camera
@pytest.mark.slow
def test_recording_goes_on_through_a_cut_and_a_silent_database(
        outage: tuple[Vault, Proxy], closed: list[Closed], caplog: pytest.LogCaptureFixture
) -> None:
    vault, proxy = outage
    caplog.set_level(logging.INFO)
    with RtspServer(audio=False) as srv:
        cam = register_camera(vault, "hol", srv.url(), segment=SEGMENT_S).source_id
        pool = RecorderPool(vault, options=OPTIONS)
        pool.reconcile()
        recorder = pool.recorders[cam]
        try:
            wait_for(lambda: len([r for r in rows(vault, cam) if r.state == "stored"]) >= 3,
                     30, "recording")
            ffmpeg = recorder.proc
            assert ffmpeg is not None

            # cut for ~15 s: connections reset, new ones refused
            proxy.cut()
            wait_for(lambda: waiting_segments(recorder) >= 7, 30,
                     "segments to pile up while the database is cut")
            assert recorder.proc is ffmpeg and ffmpeg.poll() is None  # never interrupted
            proxy.restore()
            wait_for(lambda: indexed(vault, cam, closed), 60, "the backlog indexed")

            # silent for ~70 s: the engine's 60 s deadline fires, the recorder goes on
            proxy.silence()
            wait_for(lambda: waiting_segments(recorder) >= 35, 60,
                     "segments to pile up while the database is silent")
            wait_for(lambda: "did not answer within" in caplog.text, 60,
                     "a wait for the silent database to end by its deadline")
            assert recorder.proc is ffmpeg and ffmpeg.poll() is None
            assert recorder.sessions == 1
            proxy.restore()
            wait_for(lambda: indexed(vault, cam, closed) and not recorder._backlog, 60,
                     "the backlog indexed after the silence")
            assert recorder.proc is ffmpeg and recorder.sessions == 1
            with vault.reading() as s:
                state = s.get(RecorderStatus, cam)
            assert state is not None and state.state == "recording"
        finally:
            pool.stop_all()
    assert len(closed) >= 3 + 7 + 35
    check_time_line(vault, cam, closed)
    with vault.reading() as s:
        causes = [g.cause for g in s.execute(select(Gap).where(Gap.source_id == cam)).scalars()]
    assert "stream_stall" not in causes  # indexed late is no pause of the camera


@needs_camera
def test_a_stop_during_an_outage_is_prompt_and_leaves_the_backlog_to_the_next_start(
        outage: tuple[Vault, Proxy], closed: list[Closed]) -> None:
    vault, proxy = outage
    with RtspServer(audio=False) as srv:
        cam = register_camera(vault, "hol", srv.url(), segment=SEGMENT_S).source_id
        pool = RecorderPool(vault, options=OPTIONS)
        pool.reconcile()
        recorder = pool.recorders[cam]
        try:
            wait_for(lambda: any(r.state == "stored" for r in rows(vault, cam)), 30,
                     "recording")
            proxy.silence()
            wait_for(lambda: waiting_segments(recorder) >= 3, 30, "segments waiting")
        finally:
            began = time.monotonic()
            pool.stop_all()
            took = time.monotonic() - began
    # ffmpeg's own stop (up to 5 s) and the last takes' bound; well inside serve's 9 s
    assert took < OPTIONS.stop_timeout_s + OPTIONS.stop_index_s + 1.5, took
    assert not recorder.alive
    proxy.restore()
    # In serve the process ends here, and with it the index's committer; in this test it
    # lives on and finishes the job it had begun before the stop (a segment's row held by the
    # silence): the recovery below must not race it for the same file, as no next start can.
    index = index_batch.index_of(vault)
    wait_for(lambda: not index._inflight and not index._owed, 60, "the committer idle")
    # the next start: its recovery takes in what the spool kept, at the true times
    assert recover_pending(vault) >= 0
    RecorderPool(vault, options=OPTIONS).recover()
    check_time_line(vault, cam, closed)


def test_a_segment_index_that_does_not_answer_is_waited_for_within_a_bound(
        outage: tuple[Vault, Proxy], tmp_path: Path) -> None:
    """SegmentIndex.adopt waits a bounded time; a second try of the same file waits for the
    first one's job (never a second row); when the database answers, the segment is indexed
    exactly once, with no row left pending."""
    vault, proxy = outage
    cam = register_camera(vault, "hol", "rtsp://127.0.0.1:9/cam1").source_id
    _name, folder = new_session(vault.root / "spool" / "cameras", cam)
    path = make_ts(folder / "seg00000000.ts", 1.0)
    hashed = GrowingHash(path).finish()
    start = datetime.now(UTC) - timedelta(seconds=60)
    end = start + timedelta(seconds=1)

    def adopt() -> int | None:
        return index_batch.adopt_segment(vault, cam, path, start, end, {"segment": path.name},
                                         None, hashed)

    proxy.silence()
    for _ in range(2):
        began = time.monotonic()
        with pytest.raises(index_batch.IndexTimeout), index_batch.waiting(1.5):
            adopt()
        assert time.monotonic() - began < 10
    proxy.restore()
    index = index_batch.index_of(vault)
    rec_id = None
    deadline = time.monotonic() + 120
    while rec_id is None and time.monotonic() < deadline:
        try:
            rec_id = adopt() if path.is_file() else None
        except Exception as exc:  # the database still coming back: asked again
            assert is_database_away(exc), exc
        if rec_id is None and (span := index.outcome_of(path)) is not None:
            assert span == (start, end)
            break
        time.sleep(0.2)
    recs = wait_for(lambda: (lambda r: r if r and all(x.state == "stored" for x in r)
                             else None)(rows(vault, cam)), 60, "the segment stored")
    assert len(recs) == 1 and recs[0].sha256 == hashed[1]
    assert not path.exists()
    index_matches_files(vault)
