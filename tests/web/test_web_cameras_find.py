"""„Znajdź kamery” (issue 34 items 1-2): the administrator finds the third-party virtual ONVIF
camera (ipycam, answering WS-Discovery at a loopback address of its own) on the page, reads it
with its credentials and adds it — make, model and serial in the register, the recorded stream
the address the camera named, no URL typed. Only the administrator reaches these pages; the
password is never sent back in a page and is kept (sealed) only when the camera is registered.
Bad input: a wrong password (said under the password field), a silent address (bounded), a
sanitary room without consent (art. 22² §2, nothing stored, the reading kept for the fix), a
reading from another session or expired, an answer from outside the office's networks."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from ipaddress import ip_network

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import snapshot
from tests.support.onvif_camera import OnvifCamera, cameras_on_loopback, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from web_helpers import PASSWORD as USER_PASSWORD
from web_helpers import csrf_in, login, signed_in, user

from kustosz.cameras.register import add_site, add_zone
from kustosz.config import CamerasConfig
from kustosz.db.cameras import Camera, CameraDevice, Zone
from kustosz.vault import Vault
from kustosz.web import cameras_find

pytestmark = [pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
CAMERA_PASSWORD = "kamera-haslo-5"
SERIAL = "PL-WEB-0005"
HOST = "127.0.0.5"  # a loopback address of its own: other tests' cameras answer the probe too


@pytest.fixture(scope="module")
def camera() -> Iterator[tuple[OnvifCamera, RtspServer]]:
    with RtspServer(mounts=2, audio=False) as rtsp, \
            OnvifCamera(rtsp.port, password=CAMERA_PASSWORD, serial=SERIAL, host=HOST,
                        discovery=True) as cam:
        yield cam, rtsp


@pytest.fixture
def office(sqlite_web_vault: Vault) -> Vault:
    cameras_on_loopback(sqlite_web_vault)
    with sqlite_web_vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        add_zone(s, "Ratusz", "łazienka", "sanitary", "test")
        add_zone(s, "Ratusz", "pokój mieszkalny 3 😴 — Żaneta", "resident_room", "test")
    user(sqlite_web_vault, "adm", ["administrator"])
    user(sqlite_web_vault, "ola", ["viewer"])
    return sqlite_web_vault


def admin(vault: Vault) -> TestClient:
    return signed_in(vault, "adm")


def zone_id(vault: Vault, name: str) -> str:
    with vault.reading() as s:
        return str(s.execute(select(Zone.id).where(Zone.name == name)).scalar_one())


def read(c: TestClient, address: str, password: str = CAMERA_PASSWORD) -> object:
    start = c.get(f"/admin/cameras/add?address={address}")
    return c.post("/admin/cameras/read", data={"csrf": csrf_in(start.text), "address": address,
                                               "user": "admin", "password": password})


def kept(vault: Vault) -> dict[str, object]:
    """Everything a refused add must not change, but the audit entries of the zones shown on
    the page again (camera locations, R1.7: each showing is on record)."""
    everything = snapshot(vault)
    everything.pop("head")
    audit = everything["tables"]["audit_log"]
    everything["tables"]["audit_log"] = [r for r in audit if r[3] != "camera_locations.view"]
    return everything


def token_in(html: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', html)
    assert m, "no reading token in the page"
    return m.group(1)


def test_the_administrator_finds_reads_and_adds_a_camera_without_typing_a_url(
        camera: tuple[OnvifCamera, RtspServer], office: Vault) -> None:
    cam, rtsp = camera
    c = admin(office)
    page = c.get("/admin/cameras/find")
    assert page.status_code == 200 and "127.0.0.1" in page.text
    found = c.post("/admin/cameras/find", data={
        "csrf": csrf_in(page.text), "interface": "127.0.0.1", "timeout": "2",
        "user": "admin", "password": CAMERA_PASSWORD})
    assert found.status_code == 200
    address = f"http://{HOST}:{cam.port}/onvif/device_service"
    assert address in found.text and SERIAL in found.text and "PythonCam VirtualCam-1" in \
        found.text
    assert CAMERA_PASSWORD not in found.text

    step2 = read(c, address)
    assert step2.status_code == 200, step2.text
    assert SERIAL in step2.text and "Profile_Main" in step2.text and "Profile_Sub" in step2.text
    assert 'value="Profile_Main" id="record-1" aria-label="Nagrywaj: MainStream" checked' in \
        step2.text
    assert '<p class="hint" id="live-said">Podgląd na żywo: profil Profile_Sub (' in step2.text
    assert CAMERA_PASSWORD not in step2.text
    done = c.post("/admin/cameras/add", data={
        "csrf": csrf_in(step2.text), "token": token_in(step2.text), "name": "hol-onvif",
        "zone": zone_id(office, "hol parter"), "purposes": office.policy.video.purposes[0],
        "notice_date": "2026-01-01", "signage_date": "2026-01-10", "segment_seconds": "10",
        "record": "Profile_Main", "live": "Profile_Sub"})
    assert done.status_code == 303 and done.headers["location"].startswith("/cameras")
    with office.reading() as s:
        row = s.execute(select(Camera)).scalar_one()
        device = s.get(CameraDevice, row.source_id)
    # GetStreamUri's address, its host the one the camera was reached at (onveef rewrites
    # a camera's habit of naming its own LAN address)
    assert row.url == f"rtsp://{HOST}:{rtsp.port}/cam1" and row.rtsp_user == "admin"
    assert row.rtsp_password and CAMERA_PASSWORD not in row.rtsp_password
    assert device is not None and (device.serial, device.live_url) == (
        SERIAL, f"rtsp://{HOST}:{rtsp.port}/cam2")
    register = c.get(done.headers["location"])
    assert "Kamerę dodano do rejestru." in register.text
    assert SERIAL in register.text and "PythonCam VirtualCam-1" in register.text
    # found again, it is marked as registered and offers no "Dodaj"
    again = c.post("/admin/cameras/find", data={
        "csrf": csrf_in(page.text), "interface": "127.0.0.1", "timeout": "2"})
    row_html = again.text[again.text.index(address):]
    row_html = row_html[:row_html.index("</tr>")]
    assert "hol-onvif" in row_html and "/admin/cameras/add" not in row_html


def test_a_wrong_password_is_said_under_its_field_and_nothing_is_kept(
        camera: tuple[OnvifCamera, RtspServer], office: Vault) -> None:
    cam, _ = camera
    c = admin(office)
    before = kept(office)
    refused = read(c, f"{HOST}:{cam.port}", password="zle-haslo-9")
    assert refused.status_code == 422
    assert 'id="err-password">Kamera' in refused.text and "odrzuciła" in refused.text
    assert "zle-haslo-9" not in refused.text
    assert kept(office) == before


def test_a_silent_address_is_given_up_on_in_bounded_time(office: Vault) -> None:
    c = admin(office)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        started = time.monotonic()
        refused = read(c, f"127.0.0.1:{listener.getsockname()[1]}")
    assert refused.status_code == 422 and "nie odpowiada" in refused.text
    assert time.monotonic() - started < 4 * cameras_find.READ_TIMEOUT_S


def test_a_sanitary_room_without_consent_is_refused_and_the_reading_kept_for_the_fix(
        camera: tuple[OnvifCamera, RtspServer], office: Vault) -> None:
    cam, _ = camera
    c = admin(office)
    step2 = read(c, f"{HOST}:{cam.port}")
    before = kept(office)
    form = {"csrf": csrf_in(step2.text), "token": token_in(step2.text), "name": "wc-1",
            "zone": zone_id(office, "łazienka"), "purposes": "property",
            "notice_date": "2026-01-01", "signage_date": "2026-01-10", "record": "Profile_Main",
            "live": "-"}
    refused = c.post("/admin/cameras/add", data=form)
    assert refused.status_code == 422 and 'id="err-form"' in refused.text
    assert "22" in refused.text
    assert kept(office) == before
    fixed = c.post("/admin/cameras/add", data={**form, "zone": zone_id(office, "hol parter"),
                                               "csrf": csrf_in(refused.text)})
    assert fixed.status_code == 303
    with office.reading() as s:
        device = s.execute(select(CameraDevice)).scalar_one()
    assert device.live_profile is None  # "-": the recorded stream is watched


def test_a_residents_room_is_refused_whatever_the_purposes_and_nothing_is_kept(
        camera: tuple[OnvifCamera, RtspServer], office: Vault) -> None:
    """Issue 66 item 1: the page refuses by the register's own rule — a care home's residents'
    room stays closed with every purpose checked and the Code's exception given."""
    cam, _ = camera
    c = admin(office)
    step2 = read(c, f"{HOST}:{cam.port}")
    assert 'name="purposes" value="public_order"' in step2.text
    assert "(art. 9a ustawy o samorządzie gminnym)" in step2.text
    before = kept(office)
    refused = c.post("/admin/cameras/add", data={
        "csrf": csrf_in(step2.text), "token": token_in(step2.text), "name": "pokoj-3",
        "zone": zone_id(office, "pokój mieszkalny 3 😴 — Żaneta"),
        "purposes": list(office.policy.video.purposes),
        "unrecognisable_reason": "maska prywatności 🔒", "notice_date": "2026-01-01",
        "signage_date": "2026-01-10", "record": "Profile_Main", "live": "-"})
    assert refused.status_code == 422
    assert "Kamera w strefie rodzaju „pokój mieszkalny” jest niedozwolona bez wyjątków" in \
        refused.text.replace("\u00a0", " ")
    for p in office.policy.video.purposes:  # what was ticked stays ticked
        assert f'name="purposes" value="{p}" checked' in refused.text
    assert kept(office) == before


@pytest.mark.parametrize("field,value,said", [
    ("name", "", "Podaj nazwę kamery."),
    ("zone", "999999", "Nie ma takiej strefy."),
    ("zone", "hol", "Nie ma takiej strefy."),
    ("zone", "²", "Nie ma takiej strefy."),  # a digit to str.isdigit, not to int()
    ("zone", "9" * 30, "Nie ma takiej strefy."),
    ("purposes", "", "Wybierz co najmniej jeden cel monitoringu."),
    ("purposes", "work_supervision", "nie jest celem monitoringu"),
    ("notice_date", "1.1.2026", "Nieprawidłowa data"),
    ("segment_seconds", "0", "od 0,5 do 600"),
    ("record", "Profile_9", "nie ma profilu"),
])
def test_bad_register_fields_are_each_said_and_nothing_is_stored(
        camera: tuple[OnvifCamera, RtspServer], office: Vault, field: str, value: str,
        said: str) -> None:
    cam, _ = camera
    c = admin(office)
    step2 = read(c, f"{HOST}:{cam.port}")
    before = kept(office)
    form = {"csrf": csrf_in(step2.text), "token": token_in(step2.text), "name": "k-1",
            "zone": zone_id(office, "hol parter"), "purposes": office.policy.video.purposes[0],
            "notice_date": "2026-01-01", "signage_date": "2026-01-10", "record": "Profile_Main",
            "live": "Profile_Sub", field: value}
    refused = c.post("/admin/cameras/add", data=form)
    assert refused.status_code == 422 and said in refused.text.replace("\u00a0", " ")
    assert kept(office) == before


def test_a_reading_belongs_to_its_session_and_expires(
        camera: tuple[OnvifCamera, RtspServer], office: Vault,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cam, _ = camera
    mine = admin(office)
    step2 = read(mine, f"{HOST}:{cam.port}")
    token = token_in(step2.text)
    other = TestClient(mine.app, client=("127.0.0.1", 50001), follow_redirects=False)
    login(other, "adm", USER_PASSWORD)
    form = {"token": token, "name": "k-1", "zone": zone_id(office, "hol parter"),
            "purposes": office.policy.video.purposes[0], "record": "Profile_Main"}
    before = kept(office)
    stolen = other.post("/admin/cameras/add", data={
        **form, "csrf": csrf_in(other.get("/admin/cameras/find").text)})
    assert stolen.status_code == 409 and "Odczyt kamery wygasł" in stolen.text
    monkeypatch.setattr(cameras_find, "PENDING_S", 0.0)
    late = read(mine, f"{HOST}:{cam.port}")
    expired = mine.post("/admin/cameras/add", data={**form, "token": token_in(late.text),
                                                    "csrf": csrf_in(late.text)})
    assert expired.status_code == 409
    assert kept(office) == before


@pytest.mark.parametrize("method,path", [("get", "/admin/cameras/find"),
                                         ("post", "/admin/cameras/find"),
                                         ("get", "/admin/cameras/add?address=10.0.0.5"),
                                         ("post", "/admin/cameras/read"),
                                         ("post", "/admin/cameras/add")])
def test_only_the_administrator_reaches_the_pages(office: Vault, method: str,
                                                  path: str) -> None:
    c = signed_in(office, "ola")
    csrf = csrf_in(c.get("/").text)
    answer = c.get(path) if method == "get" else c.post(path, data={"csrf": csrf})
    assert answer.status_code == 403


def test_an_answer_from_outside_the_office_networks_is_not_offered(
        camera: tuple[OnvifCamera, RtspServer], office: Vault) -> None:
    cam, _ = camera
    office.config.cameras = CamerasConfig(networks=(ip_network("192.168.10.0/24"),))
    c = admin(office)
    page = c.get("/admin/cameras/find")
    found = c.post("/admin/cameras/find", data={
        "csrf": csrf_in(page.text), "interface": "127.0.0.1", "timeout": "2",
        "user": "admin", "password": CAMERA_PASSWORD})
    address = f"http://{HOST}:{cam.port}/onvif/device_service"
    assert 'id="outside"' in found.text and address in found.text
    assert f"/admin/cameras/add?address={address}" not in found.text.replace("%3A", ":") \
        .replace("%2F", "/")


def test_a_typed_address_outside_the_office_networks_is_never_asked(office: Vault) -> None:
    c = admin(office)
    before = kept(office)
    refused = read(c, "203.0.113.7")
    assert refused.status_code == 422 and "poza sieciami urzędu" in refused.text
    assert CAMERA_PASSWORD not in refused.text
    assert kept(office) == before


def test_a_camera_whose_only_stream_is_h265_is_told_live_view_may_not_play(
        office: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 47: an H.265-only camera (no lighter H.264 profile) is recorded as it is, and the
    add page says, before it is added, that a browser may not play its live view and what to
    set in the camera — not a silent black tile later."""
    from kustosz.onvif.address import OnvifAddress
    from kustosz.onvif.device import CameraFacts, DeviceFacts, StreamProfile
    from kustosz.web import cameras_find

    def h265_only(where: OnvifAddress, *_args: object) -> CameraFacts:
        return CameraFacts(where, DeviceFacts("Make", "H265-1", "1.0", "SN-265", ""),
                           (StreamProfile("main", "main", "H265", 3840, 2160, 25.0, 8192,
                                          f"rtsp://{HOST}:554/main"),), None)

    monkeypatch.setattr(cameras_find, "read_camera", h265_only)
    step2 = read(admin(office), f"http://{HOST}:8000/onvif/device_service")
    assert step2.status_code == 200, step2.text
    warning = step2.text.split('id="live-said"')[1].split("</p>")[0]
    assert step2.text.count('class="warning" id="live-said" role="status"') == 1
    assert "strumień nagrywany w H265, którego przeglądarka może nie odtworzyć" in warning
    assert "ustaw w kamerze strumień pomocniczy H.264" in warning
