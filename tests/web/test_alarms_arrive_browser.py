"""An alarm reaches an open page (issue 65 item 3): a real `serve` (run_serve: recorders,
notifier, web app) records the tests' RTSP camera (GStreamer) with the real ffmpeg; the
camera is killed; serve raises camera_down; the dashboard and /cameras, opened in Debian's
chromium before the kill and never reloaded, show the alarm within 10 s of the row being
raised. The change is announced once in the polite live region (not at every refresh), the
focus stays where the person left it, and the phone (390 px) and desktop screenshots are
saved. The camera's "down since" is one time on both pages and in the recorders' table."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR
from tests.a11y.a11y_site import AXE, AXE_RUN
from tests.cameras.camera_helpers import register_camera, stored, wait_for
from tests.custody.custody_helpers import people
from tests.support.rtsp import RtspServer, gst_available, gst_skip_reason
from web_helpers import PASSWORD, authorise, user

from kustosz.db.cameras import Gap
from kustosz.db.models import Alert
from kustosz.ingest.camera.recorder import RecorderOptions
from kustosz.vault import Vault

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.skipif(not gst_available(), reason=gst_skip_reason()),
              pytest.mark.slow]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# the alarm is raised this long after the camera's last segment (serve --down-alert-after):
# short, the test is about the page, not the grace
FAST = RecorderOptions(backoff_initial_s=0.5, backoff_max_s=2.0, down_alert_after_s=4)
WITHIN_S = 10.0  # the bound from the row raised to the page showing it
# counts what the page's live region says and every change made to it
WATCH_REGION = """
window.__said = [];
window.__loaded = performance.timeOrigin;
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("alarms-news");
  if (!region) { return; }
  new MutationObserver(() => { window.__said.push(region.textContent.trim()); })
    .observe(region, {childList: true, characterData: true, subtree: true});
});
"""


# The browser's Notification API as the page sees it, permission granted, every notification
# the page shows recorded (headless Chromium shows none a test could read)
FAKE_NOTIFICATIONS = """
window.__notified = [];
class FakeNotification {
  constructor(title, options) { window.__notified.push({title: title, ...(options || {})}); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
}
window.Notification = FakeNotification;
"""


@dataclass
class Site:
    url: str
    vault: Vault
    camera: RtspServer
    source_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(sqlite_web_vault: Vault) -> Iterator[Site]:
    from kustosz.cameras.register import add_site, add_zone
    from kustosz.cli.serve import run_serve

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    v = sqlite_web_vault
    people(v)
    with v.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
    user(v, "dyzurna", ["operator"], display="Józefa Żółć")
    user(v, "kontrola", ["auditor"])
    port = _free_port()
    with RtspServer(audio=False) as srv:
        cam = register_camera(v, "wejscie", srv.url())
        authorise(v, "dyzurna", ["live"], ["wejscie"])
        stop, ready = threading.Event(), threading.Event()
        serve = threading.Thread(target=run_serve, args=(v, stop), kwargs={
            "options": FAST, "web": ("127.0.0.1", port),
            "on_ready": lambda _pool: ready.set()})
        serve.start()
        try:
            assert ready.wait(60), "serve did not get ready"
            wait_for(lambda: len(stored(v, cam.source_id)) >= 1, 30, "a first segment")
            yield Site(f"http://127.0.0.1:{port}", v, srv, cam.source_id)
        finally:
            stop.set()
            serve.join(60)


@pytest.fixture
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _open(browser: Browser, site: Site, name: str, path: str, viewport: dict[str, int],
          problems: list[str], notifications: bool = False) -> Page:
    context = browser.new_context(viewport=viewport, locale="pl-PL")
    context.add_init_script(REPORT_VIOLATIONS)
    context.add_init_script(WATCH_REGION)
    if notifications:
        context.add_init_script(FAKE_NOTIFICATIONS)
    if AXE.exists():
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(20000)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if msg.type == "error" else None)
    page.goto(f"{site.url}/login")
    page.fill("#f-username", name)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    if path != "/":
        page.goto(f"{site.url}{path}")
    return page


def _raised(site: Site) -> Alert | None:
    with site.vault.reading() as s:
        return s.execute(select(Alert).where(Alert.kind == "camera_down",
                                             Alert.source_id == site.source_id,
                                             Alert.cleared_at.is_(None))).scalars().first()


def _gap_start(site: Site) -> datetime:
    with site.vault.reading() as s:
        return s.execute(select(Gap.start_at).where(
            Gap.source_id == site.source_id, Gap.end_at.is_(None))).scalar_one()


def _left_s(raised: Alert) -> float:
    """Seconds left of the issue's bound, counted from when the row was raised."""
    return WITHIN_S - (datetime.now(UTC) - raised.raised_at).total_seconds()


def test_an_open_dashboard_and_cameras_page_show_the_new_alarm(site: Site, browser: Browser,
                                                                 tmp_path: Path) -> None:
    shots = SHOTS_DIR or tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    phone = _open(browser, site, "dyzurna", "/", PHONE, problems, notifications=True)
    # notifications on this device: offered to the operator, turned on from the keyboard
    button = phone.get_by_role("button", name="Włącz powiadomienia o alarmach na tym urządzeniu")
    button.focus()
    phone.keyboard.press("Enter")
    state = phone.locator("#alarm-notify-state")
    state.filter(has_text="gdy strona Kustosza jest otwarta").wait_for()
    assert phone.get_by_role("button", name="Wyłącz powiadomienia na tym urządzeniu").is_visible()
    assert not button.is_visible()
    desk = _open(browser, site, "kontrola", "/", DESKTOP, problems)
    cameras = _open(browser, site, "dyzurna", "/cameras", DESKTOP, problems)
    for page in (phone, desk):
        assert page.locator("#alarms li", has_text="wejscie").count() == 0, page.url
    # where the person is: the focus must stay there when the list changes
    phone.locator(".lang a").first.focus()
    assert phone.evaluate("document.activeElement.closest('.lang') !== null")
    loaded = {id(p): p.evaluate("window.__loaded") for p in (phone, desk, cameras)}

    site.camera.stop()  # the camera dies
    raised = wait_for(lambda: _raised(site), 60, "serve to raise camera_down")
    assert isinstance(raised, Alert)
    for page in (phone, desk, cameras):
        page.locator("#alarms li", has_text="wejscie").wait_for(
            state="visible", timeout=max(_left_s(raised), 0.5) * 1000)
        assert page.evaluate("window.__loaded") == loaded[id(page)], "the page was reloaded"

    # shown as the device's notification, under the alarm's own tag (a push of the same
    # alarm replaces it, never doubles it)
    notified = phone.evaluate("window.__notified")
    assert len(notified) == 1, notified
    assert "Kamera „wejscie” nie nagrywa od" in notified[0]["body"]
    assert notified[0]["tag"] == f"kustosz-alarm-{raised.id}"
    # announced once, politely; not again at the next refreshes
    region = phone.locator("#alarms-news")
    assert region.get_attribute("aria-live") == "polite"
    said = phone.evaluate("window.__said")
    assert any("wejscie" in s for s in said), said
    assert phone.evaluate("document.activeElement.closest('.lang') !== null")
    count = len([s for s in said if s])
    time.sleep(12)  # two more refreshes at least: nothing changed, nothing is said
    assert len([s for s in phone.evaluate("window.__said") if s]) == count

    # one "down since" everywhere: the open gap's start, to the minute on the pages
    since = _gap_start(site).astimezone(site.vault.policy.timezone)
    alarm = phone.locator("#alarms li", has_text="wejscie").inner_text()
    assert f"nie nagrywa od {since:%d.%m.%Y %H:%M}" in alarm, alarm
    mark = cameras.locator(".timeline-row .tl-name", has_text="wejscie").inner_text()
    assert f"nie nagrywa od {since:%H:%M}" in mark, mark
    desk.reload()  # the recorders' table is part of the page, not of the live list
    row = desk.locator("tr", has=desk.locator("td", has_text=re.compile("^wejscie$")))
    assert f"{since:%d.%m.%Y %H:%M:%S}" in row.inner_text(), row.inner_text()

    phone.screenshot(path=str(shots / "65-alarm-na-zywo-390.png"))
    desk.screenshot(path=str(shots / "65-alarm-na-zywo-1280.png"))
    cameras.screenshot(path=str(shots / "65-kamery-alarm-1280.png"))
    if AXE.exists():
        for page in (phone, cameras):
            assert page.evaluate(AXE_RUN) == [], page.url
    for page in (phone, desk, cameras):
        page.context.close()
    assert problems == []
