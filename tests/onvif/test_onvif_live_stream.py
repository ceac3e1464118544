"""The live view as one fragmented-MP4 stream (issue 52 item 1): the camera's sub-stream, a
fragment per frame, through the same gate as every media route, served by the real web server (a
stream never ends, so not through the in-process test client). The viewer gets the sub-stream's
picture without sound (R1.3) from its last key frame; every byte is in an access record before
it is sent (the opening's, then one per re-check), and the last record says why the stream
ended; a session ended while it runs ends the stream within the recheck; another person, or a
session that is not live, gets nothing; a camera without a sub-stream answers 404 (the page
falls back to HLS). In Chromium the live page plays the stream, and falls back to HLS when it
is refused."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import select
from tests.a11y.a11y_site import ARGS, BROWSER_ENV, CHROMIUM
from tests.cameras.camera_helpers import wait_for
from tests.conftest import Cli
from tests.onvif.test_onvif_live_view import (  # noqa: F401 - fixtures
    _relays_stop,
    camera,
    live_session,
    office,
)
from tests.support.live_page import open_live_page
from tests.support.onvif_camera import free_port, ipycam_available
from tests.support.rtsp import gst_available, gst_skip_reason
from tests.web.web_helpers import PASSWORD, authorise, user

from kustosz.access import records
from kustosz.db.access import AccessEntry
from kustosz.db.cameras import CameraDevice
from kustosz.ffmpeg import ffmpeg_exe
from kustosz.ingest.camera import fmp4
from kustosz.ingest.camera.live_stream import LiveStream
from kustosz.ingest.camera.whole_pictures import read_box
from kustosz.vault import Vault
from kustosz.web import media_recheck
from kustosz.web.server import WebServer

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]


@pytest.fixture
def web(office: Vault) -> Iterator[WebServer]:  # noqa: F811
    server = WebServer(office, "127.0.0.1", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served(web: WebServer) -> str:
    return web.url.rstrip("/")


def stream_url(c: object, urls: str, base: str) -> tuple[str, dict[str, str]]:
    token = c.cookies.get("kustosz_session")  # type: ignore[attr-defined]
    return base + urls.replace("live.m3u8", "live.mp4"), {"kustosz_session": token}


def opened(h: httpx.Client, url: str) -> httpx.Response | None:
    """The stream, once it has a key frame to start from (503 before)."""
    r = h.send(h.build_request("GET", url), stream=True)
    if r.status_code == 200:
        return r
    r.close()
    return None


def read_some(url: str, cookies: dict[str, str], nbytes: int) -> tuple[int, bytes]:
    with httpx.Client(cookies=cookies, timeout=60) as h, h.stream("GET", url) as r:
        got = b""
        if r.status_code == 200:
            for chunk in r.iter_bytes():
                got += chunk
                if len(got) >= nbytes:
                    break
        return r.status_code, got


def test_the_stream_is_the_sub_stream_without_sound_from_a_key_frame_and_recorded(
        office: Vault, served: str) -> None:  # noqa: F811
    c, urls = live_session(office)
    url, cookies = stream_url(c, urls, served)
    _, body = wait_for(lambda: (lambda got: got if got[0] == 200 else None)(
        read_some(url, cookies, 200_000)), 60, "the stream's first key frame")
    assert body[4:8] == b"ftyp"
    with av.open(io.BytesIO(body), format="mp4") as container:
        assert not container.streams.audio  # R1.3
        frame = next(container.decode(video=0))
        assert frame.key_frame  # it starts where a picture can be drawn
    assert (frame.width, frame.height) == (320, 180)  # the sub-stream
    token = urls.split("/")[2]
    sent = wait_for(lambda: _bytes_served(office, token) >= 200_000, 10,
                    "the stream's bytes on its session when the viewer left")
    assert sent
    # the opening record holds the first bytes; each later one, the bytes about to be sent;
    # the last says why the stream ended and adds none (issue 64 item 3)
    entries = wait_for(lambda: (lambda rows: rows if rows[-1][0].endswith(
        "ended: the viewer left") else None)(_entries(office)), 10, "the stream's end")
    assert entries[0][0] == "live stream hol-onvif (sub-stream)" and entries[0][1] > 0
    assert {w for w, _ in entries[1:-1]} <= {"live stream hol-onvif (sub-stream) continued"}
    assert entries[-1][1] == 0
    assert sum(b for _, b in entries) >= len(body)  # every byte received was recorded first
    Cli(office.root)("audit", "verify")


def _bytes_served(vault: Vault, token: str) -> int:
    with vault.reading() as s:
        vs = records.viewing_of(s, token)
        return vs.bytes_served if vs is not None else 0


def _entries(vault: Vault) -> list[tuple[str, int]]:
    """Each access record: what, bytes."""
    with vault.reading() as s:
        return [(e.what.split(";")[0], e.bytes) for e in s.execute(
            select(AccessEntry).order_by(AccessEntry.seq)).scalars()]


def test_a_session_ended_while_streaming_ends_the_stream(
        office: Vault, served: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(media_recheck, "RECHECK_S", 1.0)
    c, urls = live_session(office)
    url, cookies = stream_url(c, urls, served)
    ended_at: list[float] = []
    with httpx.Client(cookies=cookies, timeout=60) as h:
        r = wait_for(lambda: opened(h, url), 60, "the stream")
        token = urls.split("/")[2]
        with office.transaction() as s:
            vs = records.viewing_of(s, token)
            assert vs is not None
            records.end_viewing(s, vs)
        started = time.monotonic()
        for _ in r.iter_bytes():
            assert time.monotonic() - started < 30, "the stream went on after the session ended"
        ended_at.append(time.monotonic() - started)
        r.close()
    assert ended_at and ended_at[0] < 30


def test_others_get_nothing_and_a_camera_without_sub_stream_answers_404(
        office: Vault, served: str) -> None:  # noqa: F811
    c, urls = live_session(office)
    url, _ = stream_url(c, urls, served)
    user(office, "ewa", ["viewer"])
    authorise(office, "ewa", ["live"], sources=["hol-onvif"])
    other, _ = live_session(office, "ewa")
    status, body = read_some(url, {"kustosz_session": other.cookies.get("kustosz_session")}, 1)
    assert status == 403 and body == b""
    status, body = read_some(url, {}, 1)
    assert status in (401, 403) or status == 303, status
    assert body == b""
    with office.transaction() as s:
        for d in s.execute(select(CameraDevice)).scalars():
            d.live_url = None
    mine = stream_url(c, urls, served)[1]
    assert read_some(url, mine, 1)[0] == 404


def test_live_stream_key_frames_and_viewers() -> None:
    # ffmpeg's own fragmented MP4 of a test picture, a key frame every 5 frames
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=160x90:rate=10", "-t", "2", "-c:v", "libx264", "-g", "5",
         "-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_every_frame", "pipe:1"],
        capture_output=True, check=True).stdout
    stream = LiveStream()
    assert stream.join() is None  # nothing yet
    stream.read(io.BytesIO(out))  # to the end: the stream is over
    assert stream.ended and stream.join() is None
    keys = []
    pipe = io.BytesIO(out)
    # read box by box as the relay does, noting each fragment's key flag
    track, moof = None, b""
    while True:
        box = read_box(pipe)
        if box is None:
            break
        if box[4:8] == b"moov":
            track = fmp4.track_of(box[8:])
        elif box[4:8] == b"moof":
            moof = box
        elif box[4:8] == b"mdat" and track is not None:
            keys += [sample.key for sample in fmp4.samples(moof + box, track)]
    assert keys[:11] == [True, False, False, False, False] * 2 + [True], keys[:11]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, closed after the test (skipped where it is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        try:
            yield browser
        finally:
            browser.close()


def test_the_live_page_plays_the_stream_and_falls_back_to_hls(
        office: Vault, served: str) -> None:  # noqa: F811
    with chromium() as browser:
        for refuse in (False, True):
            page = browser.new_page()
            open_live_page(page, served, "ola", PASSWORD, "hol-onvif", "sprawdzenie podglądu",
                           refuse_stream=refuse)
            page.wait_for_function("() => document.getElementById('player').currentTime > 1",
                                   timeout=60_000)
            mode = page.get_attribute("#player", "data-mode")
            assert mode == (None if refuse else "stream"), (refuse, mode)
            assert page.get_attribute("#player", "data-error") is None
            page.close()


def test_the_live_page_opens_the_stream_again_when_it_ends(
        office: Vault, web: WebServer) -> None:  # noqa: F811
    """The relay stopped under a watching page (restarted, the camera's connection dropped):
    the page opens the stream again and plays on, no frozen picture, no fallback."""
    with chromium() as browser:
        page = browser.new_page()
        open_live_page(page, web.url.rstrip("/"), "ola", PASSWORD, "hol-onvif",
                       "sprawdzenie podglądu")
        page.wait_for_function("() => document.getElementById('player').currentTime > 1",
                               timeout=60_000)
        with office.reading() as s:
            [device] = s.execute(select(CameraDevice)).scalars()
            source_id = device.source_id
        web.relays.drop(source_id)  # its viewers' streams end
        page.wait_for_function(
            "() => document.getElementById('player').getAttribute('data-reconnects') === '1'",
            timeout=30_000)
        at = float(page.evaluate("() => document.getElementById('player').currentTime"))
        page.wait_for_function(
            f"() => document.getElementById('player').currentTime > {at + 2}", timeout=60_000)
        assert page.get_attribute("#player", "data-mode") == "stream"
        assert page.get_attribute("#player", "data-error") is None
