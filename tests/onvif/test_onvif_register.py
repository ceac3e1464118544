"""A camera added by its ONVIF address (issue 34 item 2), against the third-party virtual camera
(ipycam, tests/support/onvif_camera.py) whose streams are the tests' GStreamer RTSP server: the
register fills itself (make, model, serial, firmware, the ONVIF address, the profiles), the
recorded stream is the address GetStreamUri gave — and `kustosz serve` records from it — the
live-view profile is the lighter H.264 one, and Kodeks pracy art. 22² is asked exactly as for a
camera added by URL (R1.6, R7.1). Bad input: wrong credentials, a silent address, the same
serial number twice, an unknown profile, --url beside --onvif — each a clear error that stores
nothing."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import stored, wait_for
from tests.conftest import Cli, snapshot
from tests.support.onvif_camera import OnvifCamera, cameras_on_loopback, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.db.cameras import Camera, CameraDevice
from kustosz.db.models import AuditEntry, Recording
from kustosz.vault import Vault

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
PASSWORD = "tajne-haslo-1"
SERIAL = "PL-2026-0042"


@pytest.fixture(scope="module")
def camera() -> Iterator[tuple[OnvifCamera, RtspServer]]:
    with RtspServer(mounts=2, audio=False) as rtsp, \
            OnvifCamera(rtsp.port, main="cam1", sub="cam2", password=PASSWORD,
                        serial=SERIAL) as cam:
        yield cam, rtsp


@pytest.fixture
def office(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    (cli.data.parent / "haslo.txt").write_text(PASSWORD + "\n")
    monkeypatch.setenv("ZLE_HASLO", "zle-haslo-7")
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    cli("sites", "add", "Urząd Gminy")
    cli("zones", "add", "hol", "--site", "Urząd Gminy", "--kind", "corridor")
    cli("zones", "add", "łazienka", "--site", "Urząd Gminy", "--kind", "sanitary")
    return cli


def add(cli: Cli, name: str, address: str, *extra: str, ok: bool = True,
        secret: tuple[str, str] | None = None) -> object:
    given = secret or ("--password-file", str(cli.data.parent / "haslo.txt"))
    return cli("cameras", "add", name, "--onvif", address, "--user", "admin", *given,
               "--site", "Urząd Gminy", "--zone", "hol", "--purpose", "employee_safety",
               "--notice-date", "2026-01-01", "--signage-date", "2026-01-10", *extra, ok=ok)


def test_added_by_onvif_the_register_fills_itself_and_serve_records_the_named_stream(
        camera: tuple[OnvifCamera, RtspServer], office: Cli, tmp_path: Path) -> None:
    cam, rtsp = camera
    said = add(office, "hol-1", f"127.0.0.1:{cam.port}", "--segment-seconds", "2").output
    assert "PythonCam VirtualCam-1, serial PL-2026-0042, firmware 1.3.0" in said
    assert "records profile Profile_Main (H264 640x360 10 kl./s)" in said
    assert "live view: profile Profile_Sub (H264 320x180 5 kl./s)" in said
    assert PASSWORD not in said and "admin" not in said

    (listed,) = json.loads(office("cameras", "list", "--json").output)
    assert listed["url"] == rtsp.url(1)  # GetStreamUri's address, never typed
    d = listed["device"]
    assert (d["make"], d["model"], d["serial"], d["firmware"]) == (
        "PythonCam", "VirtualCam-1", SERIAL, "1.3.0")
    assert d["onvif_address"] == f"http://127.0.0.1:{cam.port}/onvif/device_service"
    assert (d["record_profile"], d["live_profile"], d["live_url"]) == (
        "Profile_Main", "Profile_Sub", rtsp.url(2))
    assert d["mac"] is None  # ipycam offers no GetNetworkInterfaces: no MAC, not a guess
    table = office("cameras", "list").output  # a narrow column may wrap the words
    assert "PythonCam" in table and "PL-2026-0042" in table

    vault = Vault.open(office.data)
    with vault.reading() as s:
        row = s.execute(select(Camera)).scalar_one()
        assert row.rtsp_user == "admin" and row.rtsp_password
        assert PASSWORD not in row.rtsp_password  # sealed, as for a camera added by URL
        entries = {e.action: e for e in s.execute(select(AuditEntry)).scalars()}
    assert json.loads(entries["camera.onvif"].details)["serial"] == SERIAL
    assert json.loads(entries["camera.add"].details)["purposes"] == ["employee_safety"]
    assert PASSWORD not in "".join(e.details for e in entries.values())

    # serve records from the address the camera named, with the sealed password
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        serve = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(office.data),
                                  "serve"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        wait_for(lambda: len(stored(vault)) >= 2, 40, "two segments from the ONVIF camera")
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(30)
    assert code == 0, log.read_text()[-3000:]
    with vault.reading() as s:
        sources = set(s.execute(select(Recording.source_id)).scalars())
    assert sources == {row.source_id}
    assert PASSWORD not in log.read_text()


def test_the_law_is_asked_as_for_a_camera_added_by_url(
        camera: tuple[OnvifCamera, RtspServer], office: Cli) -> None:
    """A sanitary room without the representatives' consent is refused before anything is
    written (art. 22² §2), whatever way the camera came."""
    cam, _ = camera
    before = snapshot(Vault.open(office.data))
    refused = office("cameras", "add", "lazienka-1", "--onvif", f"127.0.0.1:{cam.port}",
                     "--user", "admin", "--password-file",
                     str(office.data.parent / "haslo.txt"), "--site", "Urząd Gminy",
                     "--zone", "łazienka", "--purpose", "employee_safety",
                     "--notice-date", "2026-01-01", "--signage-date", "2026-01-10", ok=False)
    assert refused.exit_code != 0 and "22" in refused.output
    assert snapshot(Vault.open(office.data)) == before


def silent_port() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepted by the kernel, never answered: a hung camera
    return listener, listener.getsockname()[1]


@pytest.mark.parametrize("case", ["wrong password", "silent address", "unknown profile",
                                  "unknown live profile", "url and onvif", "user with url",
                                  "neither", "password without user", "outside the office",
                                  "a name leading nowhere"])
def test_bad_input_stores_nothing(camera: tuple[OnvifCamera, RtspServer], office: Cli,
                                  case: str) -> None:
    cam, _ = camera
    here = f"127.0.0.1:{cam.port}"
    vault = Vault.open(office.data)
    before = snapshot(vault)
    secret_file = ("--password-file", str(office.data.parent / "haslo.txt"))
    common = ("--site", "Urząd Gminy", "--zone", "hol", "--purpose", "employee_safety")
    listener = None
    if case == "wrong password":
        out = add(office, "k", here, ok=False, secret=("--password-env", "ZLE_HASLO"))
        said = "refused the user name or password"
    elif case == "silent address":
        listener, port = silent_port()
        out = add(office, "k", f"127.0.0.1:{port}", "--timeout", "1", ok=False)
        said = "does not answer"
    elif case == "unknown profile":
        out = add(office, "k", here, "--profile", "Profile_9", ok=False)
        said = "no media profile 'Profile_9' for recording (it has: Profile_Main, Profile_Sub)"
    elif case == "unknown live profile":
        out = add(office, "k", here, "--live-profile", "Podglad", ok=False)
        said = "no media profile 'Podglad' for live view"
    elif case == "url and onvif":
        out = office("cameras", "add", "k", "--onvif", here, "--url", "rtsp://10.0.0.5/s",
                     *common, ok=False)
        said = "one of them"
    elif case == "user with url":
        out = office("cameras", "add", "k", "--url", "rtsp://10.0.0.5/s", "--user", "admin",
                     *common, ok=False)
        said = "--user: only with --onvif"
    elif case == "neither":
        out = office("cameras", "add", "k", *common, ok=False)
        said = "one of them"
    elif case == "outside the office":  # never asked: its password would leave the office
        out = add(office, "k", "203.0.113.7", ok=False)
        said = "is outside the office's networks ([cameras] networks"
    elif case == "a name leading nowhere":
        out = add(office, "k", "kamera-hol.invalid", ok=False)
        said = "names no address this machine can find"
    else:
        out = office("cameras", "add", "k", "--onvif", here, *secret_file, *common, ok=False)
        said = "needs its user name"
    if listener is not None:
        listener.close()
    assert out.exit_code != 0 and said in out.output, out.output
    assert PASSWORD not in out.output and "zle-haslo-7" not in out.output
    assert snapshot(vault) == before


def test_the_same_camera_is_not_registered_twice(camera: tuple[OnvifCamera, RtspServer],
                                                  office: Cli) -> None:
    cam, _ = camera
    add(office, "hol-1", f"127.0.0.1:{cam.port}")
    vault = Vault.open(office.data)
    before = snapshot(vault)
    again = add(office, "hol-2", f"127.0.0.1:{cam.port}", ok=False)
    assert "serial number PL-2026-0042 is already registered as 'hol-1'" in again.output
    assert snapshot(vault) == before
    with vault.reading() as s:
        assert len(s.execute(select(CameraDevice)).all()) == 1


def test_the_recorded_stream_can_be_watched_live_when_asked(
        camera: tuple[OnvifCamera, RtspServer], office: Cli) -> None:
    cam, rtsp = camera
    said = add(office, "hol-1", f"127.0.0.1:{cam.port}", "--profile", "Profile_Sub",
               "--no-live-profile").output
    assert "records profile Profile_Sub" in said and "live view: the recorded stream" in said
    (listed,) = json.loads(office("cameras", "list", "--json").output)
    assert listed["url"] == rtsp.url(2)
    assert (listed["device"]["live_profile"], listed["device"]["live_url"]) == (None, None)
