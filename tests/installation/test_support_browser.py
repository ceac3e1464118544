"""The support page in a real browser (issue 67 item 2): an office's head, by keyboard alone,
finds „Dostęp serwisowy” in the menu, grants the installation's administrator support access
with a reason in Polish and an emoji, sees it in force and revokes it. axe-core's WCAG A/AA
rules and reflow at 1280 and 320 px on each state; screenshots at 1280 and 390 px kept for a
person to look at (KUSTOSZ_SCREENSHOTS names a folder, else the test's own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.a11y.a11y_site import Findings, check, new_context, playwright_or_skip
from tests.installation.install_helpers import installation
from tests.installation.web_install import Served, served
from tests.web.web_helpers import PASSWORD, user

from kustosz.access import support

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=pl-PL"]
PHONE = {"width": 390, "height": 844}
REASON = "Wymiana dysku w rejestratorze 💾 — zgłoszenie ŻÓŁĆ-7"

pytestmark = pytest.mark.slow


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    playwright_or_skip()
    with installation(tmp_path, "sqlite", monkeypatch) as inst, served(inst) as made:
        vault = made.vaults[made.a]
        with vault.transaction() as s:  # served() grants for its tests; this one starts bare
            current = support.in_force(s)
            assert current is not None
            support.revoke(s, current.id, "kierownik")
        user(vault, "wojt", ["approver"], display="Wójt Łukasz Źrebiec")
        yield made


def test_the_head_grants_and_revokes_support_by_keyboard(web: Served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ["KUSTOSZ_SCREENSHOTS"]).resolve() \
        if os.environ.get("KUSTOSZ_SCREENSHOTS") else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    base, findings = f"{web.base}/o/{web.a}", Findings()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env={**os.environ, "LANGUAGE": "pl"})
        page = new_context(browser).new_page()
        page.goto(f"{base}/login")
        page.fill("#f-username", "wojt")
        page.fill("#f-password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        # by keyboard: "Więcej" opens, and its link to the support page is reached by Tab
        page.focus("#main-nav details.more summary")
        page.keyboard.press("Enter")
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.textContent.trim()") == \
                    "Dostęp serwisowy":
                break
        else:
            raise AssertionError("Tab never reached „Dostęp serwisowy” in the menu")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/admin/support")
        assert "nie ma teraz dostępu" in page.inner_text("main")
        check(page, "support page, none granted", findings, shots, "67-dostep-serwisowy-brak")
        page.set_viewport_size({"width": 1280, "height": 860})
        page.focus("#f-reason")
        page.keyboard.type(REASON)
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "f-hours"
        page.keyboard.press("Control+A")
        page.keyboard.type("2")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the button „Udziel dostępu”
        page.wait_for_selector("p.flash")
        assert "Udzielono dostępu serwisowego." in page.inner_text("p.flash")
        main = page.inner_text("main")
        assert REASON in main and "Dostęp serwisowy jest udzielony do" in main
        check(page, "support page, granted", findings, shots, "67-dostep-serwisowy-udzielony")
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(shots / "67-dostep-serwisowy-udzielony-390.png"),
                        full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.set_viewport_size({"width": 1280, "height": 860})
        page.focus("form.inline button")
        page.keyboard.press("Enter")  # „Odwołaj”
        page.wait_for_selector("p.flash")
        assert "Odwołano dostęp serwisowy." in page.inner_text("p.flash")
        assert "odwołany" in page.inner_text("main")
        browser.close()
    assert findings.problems == [], findings.problems
