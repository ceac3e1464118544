"""Issue 34's newcomer, in a real browser (Debian's Chromium through Playwright, the app's CSP in
force): the administrator opens "Kamery", follows "Znajdź i dodaj kamery", searches the office's
network, finds the third-party virtual ONVIF camera (ipycam, at a loopback address of its own),
adds it — its credentials typed once, the recorded and live streams picked in the table, the
register's questions answered — and sees the register filled with its make, model and serial.
No URL is typed anywhere. Each page on the way passes axe-core (WCAG 2.1 AA) at 1280 and 320 px
and reflows; screenshots are kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.a11y.a11y_site import Findings, check, new_context, playwright_or_skip, sign_in
from tests.conftest import make_vault
from tests.support.onvif_camera import OnvifCamera, cameras_on_loopback, free_port, ipycam_available
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from tests.web.web_helpers import user

from kustosz.cameras.register import add_site, add_zone
from kustosz.db.cameras import Camera, CameraDevice
from kustosz.vault import Vault
from kustosz.web.server import WebServer

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ipycam_available(), reason="ipycam is not installed"),
              pytest.mark.skipif(not gst_available(), reason=gst_skip_reason())]
HOST = "127.0.0.6"  # a loopback address of its own (other tests' cameras answer probes too)
CAMERA_PASSWORD = "kamera-haslo-6"
SERIAL = "PL-NOWA-0006"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Vault, OnvifCamera, RtspServer]]:
    playwright_or_skip()
    vault = make_vault(tmp_path / "vault")
    cameras_on_loopback(vault)
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    user(vault, "informatyk", ["administrator"], display="Jan Informatyk")
    web = WebServer(vault, "127.0.0.1", free_port())
    web.start()
    try:
        with RtspServer(mounts=2, audio=False) as rtsp, \
                OnvifCamera(rtsp.port, password=CAMERA_PASSWORD, serial=SERIAL, host=HOST,
                            discovery=True) as cam:
            yield web.url.rstrip("/"), vault, cam, rtsp
    finally:
        web.stop()
        vault.close()


def test_a_newcomer_adds_the_onvif_camera_in_the_browser_without_typing_a_url(
        served: tuple[str, Vault, OnvifCamera, RtspServer], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, vault, cam, rtsp = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    findings = Findings()
    address = f"http://{HOST}:{cam.port}/onvif/device_service"
    with sync_playwright() as p:
        from tests.web.test_web_browser import ARGS, BROWSER_ENV, CHROMIUM
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        page = new_context(browser).new_page()
        sign_in(page, base, "informatyk")
        page.goto(f"{base}/cameras")
        page.click("#find-cameras")
        page.wait_for_url("**/admin/cameras/find")
        check(page, "znajdź kamery", findings, shots, "cameras-find")

        page.select_option("#f-interface", "127.0.0.1")
        page.fill("#f-timeout", "2")
        page.fill("#f-user", "admin")
        page.fill("#f-password", CAMERA_PASSWORD)
        with page.expect_navigation():
            page.click("#find-run")
        row = page.locator("#found tr", has_text=address)
        assert row.count() == 1, page.inner_text("main")
        assert SERIAL in row.inner_text() and "PythonCam VirtualCam-1" in row.inner_text()
        check(page, "znalezione kamery", findings, shots, "cameras-found")

        with page.expect_navigation():
            row.get_by_role("link", name="Dodaj").click()
        assert page.input_value("#f-address") == address  # carried, not typed
        page.fill("#f-user", "admin")
        page.fill("#f-password", CAMERA_PASSWORD)
        with page.expect_navigation():
            page.click("#read-camera")
        assert SERIAL in page.inner_text("#device")
        assert page.is_checked("#record-1") and page.is_checked("#live-2")  # main; sub
        check(page, "dodaj kamerę, krok 2", findings, shots, "cameras-add")

        page.fill("#f-name", "hol-onvif")
        page.select_option("#f-zone", label="Ratusz — hol parter (korytarz)")
        page.locator("#f-purposes input[type=checkbox]").first.check()
        page.fill("#f-notice_date", "2026-01-01")
        page.fill("#f-signage_date", "2026-01-10")
        with page.expect_navigation():
            page.click("#add-camera")
        assert "/cameras" in page.url
        main = page.inner_text("main")
        assert "Kamerę dodano do rejestru" in main
        assert "PythonCam VirtualCam-1" in main and SERIAL in main
        check(page, "kamery z kamerą ONVIF", findings, shots, "cameras-register")
        browser.close()
    assert not findings.problems, "\n".join(findings.problems)
    with vault.reading() as s:
        camera = s.execute(select(Camera)).scalar_one()
        device = s.get(CameraDevice, camera.source_id)
    assert camera.url == f"rtsp://{HOST}:{rtsp.port}/cam1"
    assert device is not None and device.serial == SERIAL
    assert device.live_url == f"rtsp://{HOST}:{rtsp.port}/cam2"
