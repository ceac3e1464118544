"""Live view from the camera's sub-stream (issue 34 item 2; issue 33's phone on a busy link): a
camera added over ONVIF from the third-party virtual camera (ipycam) has its lighter profile as
the live view's. The tests' RTSP server serves the camera's main stream at 640x360 and its
sub-stream at 320x180 (with sound on both, which must never reach a viewer, R1.3), so what the
viewer receives says which stream it is: 320 pixels wide, no audio track. Each part is served
through the gate and recorded; a session that is not live, or not the viewer's, gets nothing;
no part is ever indexed; the relay stops when nobody watches. A camera added by URL, and one
whose sub-stream does not answer, play the recorded main stream as before."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.cameras.camera_helpers import wait_for
from tests.custody.custody_helpers import people
from tests.support.onvif_camera import OnvifCamera, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from tests.web.web_helpers import authorise, both_vault, csrf_of, signed_in, user

from kustosz.cameras.onvif_register import ProfileChoice, add_onvif_camera
from kustosz.cameras.register import CameraSpec, add_site, add_zone
from kustosz.db.access import AccessEntry
from kustosz.db.models import Recording
from kustosz.ingest.camera import live_relay
from kustosz.onvif.address import parse_address
from kustosz.onvif.device import read_camera
from kustosz.vault import Vault

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
PASSWORD = "kamera-haslo-7"


@pytest.fixture(scope="module")
def camera() -> Iterator[tuple[OnvifCamera, RtspServer]]:
    # a pipeline per client: a test kills a relay's ffmpeg, and a shared media whose client
    # vanished without TEARDOWN answers every client 5XX until its EOS unprepare ends — on a
    # loaded fresh clone past the 180 s of every later test of this module (as it did for
    # test_camera_serve's restart)
    with RtspServer(mounts=2, audio=True, sub_stream=True, shared=False) as rtsp, \
            OnvifCamera(rtsp.port, password=PASSWORD, serial="PL-LIVE-7") as cam:
        yield cam, rtsp


@pytest.fixture
def office(camera: tuple[OnvifCamera, RtspServer], tmp_path: Path) -> Iterator[Vault]:
    vault = office_at(camera[0], tmp_path / "vault")
    yield vault
    vault.close()


def office_at(cam: OnvifCamera, root: Path) -> Vault:
    """A vault with the ONVIF camera `hol-onvif` added, and `ola` authorised to watch it."""
    vault = both_vault(root)
    people(vault)
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    facts = read_camera(parse_address(f"127.0.0.1:{cam.port}"), "admin", PASSWORD)
    with vault.transaction() as s:
        add_onvif_camera(s, vault.policy, CameraSpec(
            "hol-onvif", "Ratusz", "hol parter", "", vault.policy.video.purposes[0],
            notice_date=datetime(2026, 1, 1).date(), signage_date=datetime(2026, 1, 2).date()),
            facts, "admin", PASSWORD, ProfileChoice(), "test")
    user(vault, "ola", ["viewer"])
    authorise(vault, "ola", ["live", "playback"], sources=["hol-onvif"])
    return vault


OPENED: list[TestClient] = []


@pytest.fixture(autouse=True)
def _relays_stop() -> Iterator[None]:
    """Every relay a test's app started is stopped after it (serve's WebServer.stop does)."""
    yield
    while OPENED:
        OPENED.pop().app.state.live_relays.close()  # type: ignore[attr-defined]


def live_session(vault: Vault, who: str = "ola") -> tuple[TestClient, str]:
    c = signed_in(vault, who)
    OPENED.append(c)
    c.headers["X-CSRF-Token"] = csrf_of(vault, c)
    r = c.post("/api/media/sessions", json={"action": "live", "source": "hol-onvif"})
    assert r.status_code == 201, r.text
    return c, r.json()["urls"]


def sub_stream_playlist(c: TestClient, url: str) -> str:
    """The live playlist once the relay has its first part: on a busy machine ffmpeg may take
    longer than the playlist's own wait (FIRST_PART_S), and the viewer's player asks again."""
    found = wait_for(lambda: (lambda text: text if "sub/" in text else None)(c.get(url).text),
                     60, "the sub-stream's first part in the live playlist")
    assert isinstance(found, str)
    return found


def test_live_view_plays_the_sub_stream_without_sound_and_records_each_part(
        office: Vault) -> None:
    c, playlist_url = live_session(office)
    playlist = sub_stream_playlist(c, playlist_url)
    parts = [line for line in playlist.splitlines() if line.startswith("sub/")]
    assert parts, playlist
    assert "#EXT-X-PROGRAM-DATE-TIME" in playlist
    base = playlist_url.rsplit("/", 1)[0]
    part = c.get(f"{base}/{parts[-1]}")
    assert part.status_code == 200 and part.headers["content-type"] == "video/mp2t"
    with av.open(io.BytesIO(part.content)) as container:
        assert not container.streams.audio  # R1.3: the sound was never asked for
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (320, 180)  # the sub-stream, not the 640x360 main
    with office.reading() as s:
        served = [e.what for e in s.execute(select(AccessEntry)).scalars()]
        assert s.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
    assert any("live part hol-onvif (sub-stream)" in w for w in served)
    assert any("live playlist hol-onvif (sub-stream)" in w for w in served)
    for bad in ("..%2Flive.m3u8", "live1.mp4", "%2e%2e%2fkeys", "live99999999.ts"):
        assert c.get(f"{base}/sub/{bad}").status_code in (403, 404), bad


def test_another_persons_session_gets_no_part(office: Vault) -> None:
    c, playlist_url = live_session(office)
    playlist = sub_stream_playlist(c, playlist_url)
    part = next(line for line in playlist.splitlines() if line.startswith("sub/"))
    user(office, "jan", ["viewer"])
    stranger = signed_in(office, "jan")
    answer = stranger.get(f"{playlist_url.rsplit('/', 1)[0]}/{part}")
    assert answer.status_code == 403 and answer.headers["content-type"] != "video/mp2t"


def test_the_relay_stops_when_nobody_watches(office: Vault,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    c, playlist_url = live_session(office)
    sub_stream_playlist(c, playlist_url)
    relays = c.app.state.live_relays  # type: ignore[attr-defined]
    folder = relays.root
    assert any(folder.rglob("live*.ts"))
    monkeypatch.setattr(live_relay, "IDLE_S", 0.0)
    relays.reap()
    assert not folder.exists() or not any(folder.rglob("*.ts"))
    assert not any(r.running() for r in relays._relays.values())


def test_a_relay_that_ended_is_started_again_for_its_viewer(office: Vault) -> None:
    """A relay's ffmpeg that ends while somebody watches (the camera dropped the sub-stream, a
    busy machine's I/O time-out) is started again by the viewer's next admitted fetch — the
    live view does not stay on the recorded stream for the rest of the session."""
    c, playlist_url = live_session(office)
    sub_stream_playlist(c, playlist_url)
    relays = c.app.state.live_relays  # type: ignore[attr-defined]
    (relay,) = relays._relays.values()
    first = relay.proc
    first.kill()
    first.wait(10)
    playlist = sub_stream_playlist(c, playlist_url)
    (again,) = relays._relays.values()
    assert again.proc is not None and again.proc is not first and again.running()
    part = next(line for line in playlist.splitlines() if line.startswith("sub/"))
    assert c.get(f"{playlist_url.rsplit('/', 1)[0]}/{part}").status_code == 200


def test_a_viewer_who_comes_back_after_the_relay_stopped_gets_the_sub_stream_again(
        office: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay stops when nobody fetched for IDLE_S (a paused player, a tab in the
    background); the same open session fetching again is admitted and starts it again."""
    c, playlist_url = live_session(office)
    sub_stream_playlist(c, playlist_url)
    relays = c.app.state.live_relays  # type: ignore[attr-defined]
    with monkeypatch.context() as idle:
        idle.setattr(live_relay, "IDLE_S", 0.0)
        relays.reap()
    assert not relays._relays
    sub_stream_playlist(c, playlist_url)
    assert [r.running() for r in relays._relays.values()] == [True]


def test_without_a_sub_stream_live_view_plays_the_recorded_stream(
        office: Vault, tmp_path: Path) -> None:
    from tests.custody.custody_helpers import record, setup_camera
    setup_camera(office, "cam-url")
    record(office, "cam-url", datetime.now(UTC) - timedelta(seconds=20), 2, tmp_path / "seg")
    authorise(office, "ola", ["live"], sources=["cam-url"])
    c = signed_in(office, "ola")
    c.headers["X-CSRF-Token"] = csrf_of(office, c)
    r = c.post("/api/media/sessions", json={"action": "live", "source": "cam-url"})
    playlist = c.get(r.json()["urls"])
    assert playlist.status_code == 200
    assert "segment/" in playlist.text and "sub/" not in playlist.text


def test_a_sub_stream_that_does_not_answer_falls_back_to_the_recorded_stream(
        office: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    from kustosz.db.cameras import CameraDevice
    with office.transaction() as s:
        device = s.execute(select(CameraDevice)).scalar_one()
        device.live_url = "rtsp://127.0.0.1:9/nikt"  # nothing listens: ffmpeg ends at once
    from kustosz.web import media_live_sub
    monkeypatch.setattr(media_live_sub, "FIRST_PART_S", 3.0)
    c, playlist_url = live_session(office)
    playlist = c.get(playlist_url)
    assert playlist.status_code == 200 and "sub/" not in playlist.text
    wait_for(lambda: not c.app.state.live_relays._relays[1].running()  # type: ignore[attr-defined]
             if 1 in c.app.state.live_relays._relays else True, 10,  # type: ignore[attr-defined]
             "the relay to end")


@pytest.mark.parametrize("why", ["disabled", "before its signage day"])
def test_a_camera_that_may_not_be_watched_gets_no_relay(office: Vault, why: str) -> None:
    """The recorder's own conditions hold for the live sub-stream too: a camera disabled, or
    whose start date (notice + 14 days, signage + 1 day: art. 22² §7, §9) has not come, is
    not pulled for anyone — and a relay already running stops when the camera is disabled."""
    from datetime import date

    from kustosz.db.cameras import Camera
    from kustosz.db.models import Source
    c, playlist_url = live_session(office)
    sub_stream_playlist(c, playlist_url)  # watched: its relay runs
    with office.transaction() as s:
        if why == "disabled":
            s.execute(select(Source).where(Source.name == "hol-onvif")).scalar_one() \
                .enabled = False
        else:
            s.execute(select(Camera)).scalar_one().signage_date = date(2099, 1, 1)
    assert "sub/" not in c.get(playlist_url).text
    relays = c.app.state.live_relays  # type: ignore[attr-defined]
    assert not any(r.running() for r in relays._relays.values())
    again, url = live_session(office)
    assert "sub/" not in again.get(url).text
    assert not any(r.running() for r in again.app.state.live_relays._relays.values())  # type: ignore[attr-defined]
