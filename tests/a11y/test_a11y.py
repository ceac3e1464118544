"""WCAG 2.1 AA by machine (issue 33): every page of every role, signed in, and the login page
with its second step, signed out, pass axe-core's WCAG 2.0/2.1 A and AA rules at 1280 px and at
320 px with no violation and no rule switched off, and none scrolls sideways at 320 px (1.4.10
Reflow; a wide data table scrolls inside its own labelled container instead). Debian's
Chromium through Playwright, with the app's CSP in force; axe-core from node_modules (`make
test` runs `npm ci`), never downloaded while the test runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from a11y_site import CHROMIUM, Findings, office, playwright_or_skip, walk
from test_web_browser import ARGS, BROWSER_ENV

pytestmark = pytest.mark.slow


def test_every_page_of_every_role_at_1280_and_320_px(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync_api = playwright_or_skip()
    monkeypatch.chdir(tmp_path)
    findings = Findings()
    with office(tmp_path) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        walk(browser, base, findings)
        browser.close()
    assert findings.pages > 40, findings.pages  # the crawl really reached the roles' pages
    assert findings.problems == [], "\n".join(findings.problems)
