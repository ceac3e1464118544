"""The dead camera on a phone (issue #50 items 1 and 2), in a real browser (Debian's chromium
through Playwright, the app's CSP in force): for every role that watches, at 390×844, the
alarm about it comes right after the page's heading and is inside the first screen, without
scrolling; a viewer not authorised for that camera is not told of it; the operator goes from
the alarm to the live view's purpose form with the camera chosen; /cameras draws and lists
its open gap. The pages are saved as screenshots (KUSTOSZ_SCREENSHOTS names the folder)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from test_dead_camera import kill_camera
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR
from tests.a11y.a11y_site import AXE, AXE_RUN
from web_helpers import PASSWORD, authorise, both_vault, make_material, user

from kustosz.access import accounts
from kustosz.db.custody import User
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}
# who watches or is told: the oversight roles (informatyk is the administrator and custodian)
# and the operator and the viewer authorised for the dead camera
WATCHING = ("informatyk", "burmistrz", "iod", "kontrola", "sekretarz", "straznik", "ola")


@dataclass
class Site:
    url: str
    since_pl: str  # when cam-inne stopped, as the timeline says it ("12:42")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("dead")
    vault = both_vault(tmp / "vault")
    make_material(vault, tmp / "material")  # cam-hol records, cam-inne has nothing stored
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    since = max(now - timedelta(hours=2),
                now.astimezone(vault.policy.timezone).replace(hour=0, minute=1))
    kill_camera(vault, "cam-inne", since)
    with vault.transaction() as s:
        for u in s.execute(select(User)).scalars():
            accounts.set_password(s, u, PASSWORD, "test")
    for name, roles in (("iod", ["dpo"]), ("kontrola", ["auditor"]),
                        ("sekretarz", ["supervisor"]), ("straznik", ["operator"]),
                        ("ola", ["viewer"]), ("ewa", ["viewer"])):
        user(vault, name, roles)
    authorise(vault, "straznik", ["live"], ["cam-inne"])
    authorise(vault, "ola", ["live", "playback"], ["cam-inne", "cam-hol"])
    authorise(vault, "ewa", ["live", "playback"], ["cam-hol"])
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield Site(web.url.rstrip("/"), f"{since.astimezone(vault.policy.timezone):%H:%M}")
    finally:
        web.stop()
        vault.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = SHOTS_DIR or tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _signed_in(browser: Browser, site: Site, name: str, viewport: dict[str, int],
               problems: list[str]) -> Page:
    context = browser.new_context(viewport=viewport, locale="pl-PL")
    context.add_init_script(REPORT_VIOLATIONS)
    if AXE.exists():  # npm ci: the WCAG rules on the alarms and the gaps too
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
    return page


def _axe(page: Page) -> list[object]:
    return list(page.evaluate(AXE_RUN)) if AXE.exists() else []


def test_the_dead_camera_first_on_every_watching_phone(site: Site, browser: Browser,
                                                        shots: Path) -> None:
    problems: list[str] = []
    for name in WATCHING:
        page = _signed_in(browser, site, name, PHONE, problems)
        first = page.locator("#alarms li").first
        assert "Kamera „cam-inne” nie nagrywa od" in first.inner_text(), name
        # right after the heading: nothing else of the page is read before it
        assert page.evaluate(
            "document.querySelector('#content h1').nextElementSibling.id") == "alarms", name
        box = first.bounding_box()
        assert box is not None, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (name, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (name, box)
        assert page.evaluate("window.scrollY") == 0
        color = first.evaluate("e => getComputedStyle(e).color")
        assert color == "rgb(198, 40, 40)", (name, color)  # --gap, besides the words
        if name in ("informatyk", "ola"):
            page.screenshot(path=str(shots / f"50-pulpit-{name}-390.png"))
            assert _axe(page) == [], name
        page.context.close()
    page = _signed_in(browser, site, "informatyk", {"width": 1280, "height": 900}, problems)
    assert page.locator("#alarms").bounding_box()["y"] < page.locator(".tiles").bounding_box()["y"]
    page.screenshot(path=str(shots / "50-pulpit-informatyk-1280.png"))
    page.context.close()
    page = _signed_in(browser, site, "ewa", PHONE, problems)  # authorised for cam-hol only
    assert "cam-inne" not in page.inner_text("main")
    page.context.close()
    assert problems == []


def test_from_the_alarm_to_the_live_view_form(site: Site, browser: Browser) -> None:
    problems: list[str] = []
    page = _signed_in(browser, site, "straznik", PHONE, problems)
    link = page.locator("#alarms li").first.get_by_role("link", name="Podgląd na żywo")
    box = link.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    link.click()
    page.wait_for_url("**/media/start?action=live&source=cam-inne")
    form = page.locator("form[action='/media/start']")
    assert "Kamera: cam-inne" in form.inner_text()
    assert form.locator("input[name=action]").input_value() == "live"
    assert form.locator("input[name=source]").input_value() == "cam-inne"
    assert form.locator("[name=purpose]").count() == 1  # the purpose is still asked
    page.context.close()
    assert problems == []


def test_the_open_gap_on_the_timeline(site: Site, browser: Browser, shots: Path) -> None:
    problems: list[str] = []
    page = _signed_in(browser, site, "ola", {"width": 1280, "height": 900}, problems)
    page.goto(f"{site.url}/cameras")
    row = page.locator(".timeline-row", has=page.locator(".tl-name", has_text="cam-inne"))
    assert "nie nagrywa od" in row.locator(".tl-name").inner_text()
    gap = row.locator(".timeline .gap")
    assert gap.count() == 1 and gap.bounding_box() is not None
    listed = page.locator("ul.gaps li.error")
    assert listed.count() == 1
    text = listed.inner_text()
    assert text == (f"Przerwa w nagraniu od {site.since_pl} (przyczyna: kamera nieosiągalna "
                    "w sieci) — trwa"), text
    page.screenshot(path=str(shots / "50-kamery-martwa-1280.png"), full_page=True)
    assert _axe(page) == []
    page.set_viewport_size(PHONE)
    page.reload()
    page.screenshot(path=str(shots / "50-kamery-martwa-390.png"), full_page=True)
    page.context.close()
    assert problems == []
