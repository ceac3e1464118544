"""What a camera says of itself over ONVIF (issue 34 items 1-3, first part), against a real
third-party virtual ONVIF camera (ipycam: tests/support/onvif_camera.py) whose stream
addresses name the tests' GStreamer RTSP server: make, model, serial and firmware; every media
profile with the address GetStreamUri gives (ipycam offers Media1 only, so this is also the
"no Media2, Media1 instead" path), the stream to record and the lighter one for live view; the
camera's clock against ours. The bad inputs: a wrong password, a closed port, a camera that
accepts the connection and never answers, a web server that is no camera, and addresses no one
could mean — each a clear error in both languages, bounded in time, the password never in it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import av
import pytest
from tests.conftest import Cli
from tests.support.onvif_camera import OnvifCamera, cameras_on_loopback, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason

from kustosz.errors import InputError
from kustosz.onvif.address import OnvifAddress, parse_address
from kustosz.onvif.device import OnvifRefused, OnvifUnreachable, read_camera

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
PASSWORD = "tajne-haslo-1"


@pytest.fixture(scope="module")
def camera() -> Iterator[tuple[OnvifCamera, RtspServer]]:
    with RtspServer(mounts=2, audio=False) as rtsp, \
            OnvifCamera(rtsp.port, main="cam1", sub="cam2", password=PASSWORD,
                        serial="PL-2026-0042") as cam:
        yield cam, rtsp


def here(cam: OnvifCamera) -> OnvifAddress:
    return parse_address(f"127.0.0.1:{cam.port}")


def test_the_camera_tells_what_it_is_and_which_streams_it_offers(
        camera: tuple[OnvifCamera, RtspServer]) -> None:
    cam, rtsp = camera
    facts = read_camera(here(cam), "admin", PASSWORD)
    d = facts.device
    assert (d.make, d.model, d.serial, d.firmware) == ("PythonCam", "VirtualCam-1",
                                                       "PL-2026-0042", "1.3.0")
    assert [p.token for p in facts.profiles] == ["Profile_Main", "Profile_Sub"]
    main, live = facts.main_profile(), facts.live_profile()
    assert main is not None and live is not None
    assert (main.token, main.width, main.height, main.encoding) == ("Profile_Main", 640, 360,
                                                                    "H264")
    assert (live.token, live.width, live.height) == ("Profile_Sub", 320, 180)
    assert main.uri == rtsp.url(1) and live.uri == rtsp.url(2)
    # the address the camera gave is a stream that plays: a frame from it
    with av.open(main.uri, options={"rtsp_transport": "tcp", "timeout": "5000000"},
                 timeout=10) as container:
        frame = next(container.decode(video=0))
        assert frame.width > 0
    assert facts.clock is not None
    assert abs(facts.clock.offset_s) < 2.0 + facts.clock.round_trip_s, facts.clock
    assert facts.clock.ntp


def test_a_wrong_password_is_refused_plainly(camera: tuple[OnvifCamera, RtspServer]) -> None:
    cam, _ = camera
    with pytest.raises(OnvifRefused) as refused:
        read_camera(here(cam), "admin", "zle-haslo-7")
    assert refused.value.pl == f"Kamera 127.0.0.1:{cam.port} odrzuciła nazwę użytkownika " \
                               "lub hasło: są nieprawidłowe albo konto nie ma w kamerze " \
                               "uprawnień ONVIF."
    assert "zle-haslo-7" not in str(refused.value) + (refused.value.pl or "")


def test_a_closed_port_answers_at_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        started = time.monotonic()
        with pytest.raises(OnvifUnreachable) as away:
            read_camera(parse_address(f"127.0.0.1:{port}"), "admin", PASSWORD, timeout_s=2)
    assert time.monotonic() - started < 5
    assert "nie odpowiada" in (away.value.pl or "")


def test_a_camera_that_never_answers_is_given_up_on_in_time() -> None:
    """A connection accepted and never answered (a hung camera, a half-open link): the call
    ends at its timeout, not never."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(OnvifUnreachable):
            read_camera(parse_address(f"127.0.0.1:{port}"), "admin", PASSWORD, timeout_s=1)
        assert time.monotonic() - started < 10


class NotACamera(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html><body>Drukarka sieciowa</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_web_server_that_is_no_camera() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotACamera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(OnvifUnreachable) as wrong:
            read_camera(parse_address(f"127.0.0.1:{server.server_address[1]}"), "admin",
                        PASSWORD, timeout_s=2)
        assert "nie odpowiada jak kamera ONVIF" in (wrong.value.pl or "")
    finally:
        server.shutdown()


@pytest.mark.parametrize("text", ["", "   ", "ftp://kamera/", "kamera 1", "admin@10.0.0.5",
                                  "http://admin:haslo@10.0.0.5/", "10.0.0.5:0",
                                  "10.0.0.5:70000", "10.0.0.5:port", "-zly-.host",
                                  "http://", "kamera\nGET /"])
def test_addresses_no_one_could_mean_are_refused(text: str) -> None:
    with pytest.raises(InputError) as bad:
        parse_address(text)
    assert (bad.value.pl or "").startswith("„")
    assert "haslo" not in str(bad.value) + (bad.value.pl or "")  # never echoed


@pytest.mark.parametrize("text,expected", [
    ("10.0.0.5", "http://10.0.0.5/onvif/device_service"),
    ("kamera-hol.urzad.local:8080", "http://kamera-hol.urzad.local:8080/onvif/device_service"),
    ("https://10.0.0.5/onvif/device_service", "https://10.0.0.5/onvif/device_service"),
    ("http://10.0.0.5:8000/onvif/device", "http://10.0.0.5:8000/onvif/device"),
    (" 10.0.0.5:80 ", "http://10.0.0.5/onvif/device_service"),
])
def test_addresses_as_people_give_them(text: str, expected: str) -> None:
    assert str(parse_address(text)) == expected


def test_the_command_shows_it_and_keeps_the_password_off_the_command_line(
        camera: tuple[OnvifCamera, RtspServer], cli: Cli, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cam, rtsp = camera
    secret = tmp_path / "haslo.txt"
    secret.write_text(PASSWORD + "\n")
    # Issue 48: this machine is not one of the office's networks by default — the page and
    # the command would otherwise probe the server's own services with a camera's password.
    own = cli("cameras", "onvif", f"127.0.0.1:{cam.port}", "--user", "admin",
              "--password-file", str(secret), ok=False)
    assert own.exit_code == 2 and "wskazuje ten komputer" in own.output, own.output
    assert PASSWORD not in own.output
    cli("init", "--preset", "miedziana-gora")
    cameras_on_loopback(cli.data)
    shown = cli("cameras", "onvif", f"127.0.0.1:{cam.port}", "--user", "admin",
                "--password-file", str(secret), "--json")
    said = json.loads(shown.output)
    assert said["device"]["serial"] == "PL-2026-0042"
    assert (said["record"], said["live"]) == ("Profile_Main", "Profile_Sub")
    assert [p["uri"] for p in said["profiles"]] == [rtsp.url(1), rtsp.url(2)]
    assert PASSWORD not in shown.output
    table = cli("cameras", "onvif", f"127.0.0.1:{cam.port}", "--user", "admin",
                "--password-file", str(secret)).output
    assert "PythonCam VirtualCam-1" in table and "record" in table and "live view" in table
    monkeypatch.setenv("KAMERA_HASLO", "zle-haslo-7")
    refused = cli("cameras", "onvif", f"127.0.0.1:{cam.port}", "--user", "admin",
                  "--password-env", "KAMERA_HASLO", ok=False)
    assert refused.exit_code != 0 and "refused the user name or password" in refused.output
    assert "zle-haslo-7" not in refused.output


class BasicOnly(BaseHTTPRequestHandler):
    """A device on the office network that answers every call with a Basic challenge: what a
    laptop answering a discovery probe could do to collect the cameras' password."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        BasicOnly.seen.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="camera"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_a_basic_challenge_never_gets_the_password_in_clear() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BasicOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises((OnvifRefused, OnvifUnreachable)):
            read_camera(parse_address(f"127.0.0.1:{server.server_address[1]}"), "admin",
                        PASSWORD, timeout_s=2)
    finally:
        server.shutdown()
    assert BasicOnly.seen  # it was asked
    assert not any(h.lower().startswith("basic") for h in BasicOnly.seen), BasicOnly.seen
