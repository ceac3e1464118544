"""Reflow and WCAG at the edges a real office reaches (issue 33's bad inputs): the longest
camera name the register takes (100 characters with no space to break at), an office whose
name runs to a long line, and one camera's day of 2000 segments with 300 gaps in it. At 320 px
the cameras page, its timeline's text alternative and the player still never scroll sideways,
and axe-core finds nothing at 320 or 1280 px. The segments are real files of one short
MPEG-TS clip stored through the intake; Debian's Chromium with the app's CSP."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from a11y_site import (
    AXE_RUN,
    CHROMIUM,
    NARROW,
    REFLOW,
    WIDE,
    WIDEST,
    Findings,
    check,
    new_context,
    playwright_or_skip,
    through_start_form,
)
from test_web_browser import ARGS, BROWSER_ENV, _free_port
from tests.custody.custody_helpers import segment_bytes, setup_camera
from web_helpers import PASSWORD, authorise, both_vault

from kustosz.access import accounts
from kustosz.access.users import add_user
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault
from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow

LONG_CAMERA = "kamera" + "x" * 94  # the register's limit: 100 characters, nothing to break at
LONG_OFFICE = ("Urząd Miasta i Gminy Wielkopolskiej Miejscowości o Bardzo Długiej Nazwie "
               "Własnej z Siedzibą w Starostwie Powiatowym")
SEGMENTS, GAPS = 2000, 300


def long_day(vault: Vault, tmp: Path) -> date:
    """2000 two-second segments of one camera, from noon of yesterday in the office's time,
    with 300 gaps of five seconds spread through them; returns that day. A day wholly in the
    past: "two hours before now" fell on the day before the cameras page's today when the
    suite ran between midnight and half past three in Warsaw (a CI run at 23:40 UTC)."""
    data = segment_bytes(2)
    tz = vault.policy.timezone
    day = datetime.now(tz).date() - timedelta(days=1)
    start = datetime.combine(day, time(12), tz).astimezone(UTC)
    gap_every = SEGMENTS // GAPS
    t = start
    tmp.mkdir()
    for i in range(SEGMENTS):
        if i and i % gap_every == 0 and i // gap_every <= GAPS:
            t += timedelta(seconds=5)
        path = tmp / f"{i:05d}.ts"
        path.write_bytes(data)
        ingest_file(vault, LONG_CAMERA, path, t, t + timedelta(seconds=2))
        t += timedelta(seconds=2)
    assert t.astimezone(tz).date() == day  # the whole run on the one page asked for
    return day


def test_long_names_and_a_crowded_day_reflow_at_320_px(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync_api = playwright_or_skip()
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "vault"
    vault = both_vault(root)
    vault.close()
    with (root / "kustosz.toml").open("a") as f:
        f.write(f'\n[policy.office]\nname = "{LONG_OFFICE}"\n')
    vault = Vault.open(root)
    assert vault.policy.office_name == LONG_OFFICE
    setup_camera(vault, LONG_CAMERA)
    with vault.transaction() as s:
        u = add_user(s, "ogladajacy", "Osoba przeglądająca", ["viewer"], "test")
        accounts.set_password(s, u, PASSWORD, "test")
        add_user(s, "zastepca", "Anna Nowak", ["approver"], "test")
    authorise(vault, "ogladajacy", ["playback"], sources=[LONG_CAMERA], by="zastepca")
    day = long_day(vault, tmp_path / "segments")
    findings = Findings()  # the screenshots stay in tmp_path, to look at after a failure
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
            context = new_context(browser)
            page = context.new_page()
            base = web.url.rstrip("/")
            page.goto(f"{base}/login")
            page.fill("#f-username", "ogladajacy")
            page.fill("#f-password", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.goto(f"{base}/cameras?day={day.isoformat()}")
            assert LONG_CAMERA in page.inner_text("main")
            assert LONG_OFFICE in page.inner_text("header")
            check(page, "/cameras (a long day)", findings, tmp_path, "cameras")
            # the timeline's text alternative, opened: every segment run and gap, still
            # inside the page at 320 px
            page.locator("details.tl-table summary").first.click()
            rows = page.locator("details.tl-table[open] tbody tr").count()
            assert rows >= GAPS, rows
            for viewport in (NARROW, WIDE):
                page.set_viewport_size(viewport)
                assert page.evaluate(AXE_RUN) == [], viewport
            page.set_viewport_size(NARROW)
            page.screenshot(path=str(tmp_path / "cameras-table-320.png"), full_page=True)
            scroll, inner = page.evaluate(REFLOW)
            assert scroll <= inner, (scroll, inner, page.evaluate(WIDEST))
            page.set_viewport_size(WIDE)
            with page.expect_navigation():
                page.click("main a[href*='action=playback'] >> nth=0")
            through_start_form(page, "OR.1234.9.2026")
            assert "/view/" in page.url, page.inner_text("main")[:500]
            check(page, "/view (a long day)", findings, tmp_path, "view")
            context.close()
            browser.close()
    finally:
        web.stop()
        vault.close()
    assert findings.problems == [], "\n".join(findings.problems)
