"""The playback page in a real browser (Debian's Chromium, the app's CSP in force) shows what
the camera reported over the period (issue 34 item 4: motion, inputs) on its timeline and as a
list, and each entry's button plays the recording from that moment; the page passes axe-core
(WCAG 2.1 AA) at 1280 and 320 px with the list on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.a11y.a11y_site import Findings, check, new_context, playwright_or_skip, sign_in
from tests.conftest import make_vault
from tests.custody.custody_helpers import people, record, setup_camera
from tests.support.onvif_camera import free_port
from tests.web.web_helpers import authorise, user

from kustosz.cameras import onvif_events
from kustosz.cameras.onvif_clock import Target
from kustosz.db.models import Source
from kustosz.onvif.address import parse_address
from kustosz.onvif.events import CameraEvent
from kustosz.vault import Vault
from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Vault, datetime]]:
    playwright_or_skip()
    vault = make_vault(tmp_path / "vault")
    people(vault)
    setup_camera(vault, "cam-hol")
    user(vault, "ola", ["viewer"])
    authorise(vault, "ola", ["playback"], sources=["cam-hol"])
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    record(vault, "cam-hol", start, 8, tmp_path / "seg")  # 16 s of picture
    with vault.reading() as s:
        sid = s.execute(select(Source.id).where(Source.name == "cam-hol")).scalar_one()
    target = Target(sid, "cam-hol", parse_address("10.0.0.5"), "admin")
    onvif_events.take(vault, target, [
        CameraEvent("motion", True, start + timedelta(seconds=9), "tns1:VideoSource/Motion"),
        CameraEvent("motion", False, start + timedelta(seconds=12), "tns1:VideoSource/Motion")])
    web = WebServer(vault, "127.0.0.1", free_port())
    web.start()
    try:
        yield web.url.rstrip("/"), vault, start
    finally:
        web.stop()
        vault.close()


def test_the_viewer_jumps_to_what_the_camera_reported(
        served: tuple[str, Vault, datetime], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from tests.web.test_web_browser import ARGS, BROWSER_ENV, CHROMIUM
    base, vault, start = served
    tz = vault.policy.timezone
    findings = Findings()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        page = new_context(browser).new_page()
        sign_in(page, base, "ola")
        fmt = "%Y-%m-%dT%H:%M"
        page.goto(f"{base}/media/start?action=playback&source=cam-hol"
                  f"&from={start.astimezone(tz).strftime(fmt)}"
                  f"&to={(start + timedelta(minutes=1)).astimezone(tz).strftime(fmt)}")
        page.fill("#f-purpose", "sprawdzenie ruchu zgłoszonego przez kamerę")
        if page.locator("#f-case_ref").count():
            page.fill("#f-case_ref", "OR.1.2026")
        if page.locator("#f-witness").count():
            page.select_option("#f-witness", index=1)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "/view/" in page.url, page.inner_text("main")
        marks = page.locator("#marks li")
        assert marks.count() == 1
        assert "ruch w obrazie" in marks.inner_text()
        assert page.locator(".timeline.big .mark").count() == 1
        page.wait_for_function("() => window.kustoszHls && window.kustoszHls.levels.length"
                               " && window.kustoszHls.levels[0].details", timeout=20000)
        page.click("#marks button.jump")
        page.wait_for_function("() => document.getElementById('player')"
                               ".getAttribute('data-jumped')", timeout=10000)
        at = page.evaluate("() => document.getElementById('player').currentTime")
        assert 7.5 <= at <= 10.5, at  # 9 s into the recording, as a part boundary allows
        check(page, "odtwarzanie ze zdarzeniami kamery", findings, tmp_path, "marks")
        browser.close()
    assert not findings.problems, "\n".join(findings.problems)
