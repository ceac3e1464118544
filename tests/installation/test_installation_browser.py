"""An installation's office in a real browser (Debian's chromium through Playwright, the app's
CSP in force): the installation's list at /, an office's sign-in under /o/<slug>/, its page
naming the office it acts for and the switch to the other, at 1280 px and at 390 px (the
folded menu) — screenshots kept for a person to look at (KUSTOSZ_SCREENSHOTS names a folder,
else the test's own). Then the switch really leads to the other office's sign-in, and the
first office's session is still there when the person comes back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.installation.install_helpers import installation
from tests.installation.web_install import GMINA, MOPS, TOWN, Served, served
from tests.web.web_helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=pl-PL"]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 860}
SHOTS_ENV = os.environ.get("KUSTOSZ_SCREENSHOTS")

pytestmark = pytest.mark.slow


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    with installation(tmp_path, "sqlite", monkeypatch) as inst, served(inst) as made:
        yield made


def test_an_office_page_names_its_office_and_switches(web: Served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV).resolve() if SHOTS_ENV else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    base = web.base
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env={**os.environ, "LANGUAGE": "pl"})
        context = browser.new_context(viewport=DESK, locale="pl-PL")
        page = context.new_page()
        page.set_default_timeout(15000)
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda msg: problems.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        page.goto(f"{base}/")
        assert page.locator("#offices a").all_inner_texts() == [MOPS, TOWN]
        assert GMINA in page.inner_text("h1")
        page.screenshot(path=str(shots / "67-instalacja-urzedy-1280.png"))
        page.click(f"#office-{web.a}")
        page.wait_for_url(f"{base}/o/{web.a}/login")
        page.fill("#f-username", "anna")
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/o/{web.a}/")
        assert page.inner_text("#acting-for") == f"Urząd: {TOWN}"
        page.click("#office-switch summary")
        switch = page.locator("#office-switch .more-links a")
        assert switch.all_inner_texts() == [MOPS, "Wszystkie urzędy instalacji"]
        page.screenshot(path=str(shots / "67-urzad-przelacznik-1280.png"))
        # at a phone's width: the office's name and the switch stay in the header
        page.set_viewport_size(PHONE)
        page.goto(f"{base}/o/{web.a}/")
        acting = page.locator("#acting-for").bounding_box()
        summary = page.locator("#office-switch summary").bounding_box()
        assert acting is not None and summary is not None
        assert acting["x"] >= 0 and acting["x"] + acting["width"] <= PHONE["width"] + 1
        assert summary["x"] + summary["width"] <= PHONE["width"] + 1
        page.click("#office-switch summary")
        page.screenshot(path=str(shots / "67-urzad-przelacznik-390.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        # the switch leads to the other office's own sign-in: its session is its own
        page.click(f"#office-switch .more-links a:text('{MOPS}')")
        page.wait_for_url(f"{base}/o/{web.b}/login?next=/")
        assert "Logowanie" in page.content() and "anna" not in page.inner_text("header")
        page.goto(f"{base}/o/{web.a}/")  # and office A's sign-in is still there
        assert page.inner_text("#acting-for") == f"Urząd: {TOWN}"
        cookies = {(c["name"], c["path"]) for c in context.cookies()}
        assert ("kustosz_session", f"/o/{web.a}/") in cookies
        assert not [c for c in context.cookies() if c["path"] == "/"]
        browser.close()
    assert problems == []
