"""Issue 30 item 4 in a real browser (Debian's chromium through Playwright, the app's CSP in
force): the head of the office logs in and the dashboard shows the approved request that was
never copied — the tile and the list with the day it became overdue. The screenshot goes to
KUSTOSZ_SCREENSHOTS when set (else a temporary folder)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import make_vault
from tests.custody.custody_helpers import people, record, setup_camera

from kustosz.access import accounts
from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import User
from kustosz.web.server import WebServer

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Bardzo-tajne-hasło-1"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_overdue_copy_is_on_the_dashboard(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    vault = make_vault(tmp_path / "vault")
    setup_camera(vault)
    people(vault)
    tz = vault.policy.timezone
    today = datetime.now(UTC).astimezone(tz).date()
    event = datetime.combine(today - timedelta(days=25), time(12), tzinfo=tz)
    record(vault, "cam-hol", event - timedelta(seconds=1), 1, tmp_path / "segs")
    decided = event + timedelta(days=2)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="interested", material="video", requester="Marek Zieliński (kierowca)",
            received_on=decided.date(), event_date=event.date(), purpose="szkoda na parkingu",
            approx_time="12:00", place="Ratusz/hol parter", description="otarcie drzwi"),
            "test", now=decided).id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=decided.date(),
               actor="test", keyed_by="burmistrz", now=decided)
        boss = s.execute(select(User).where(User.name == "burmistrz")).scalar_one()
        accounts.set_password(s, boss, PASSWORD, "test")
    since = (decided.date() + timedelta(days=15)).strftime("%d.%m.%Y")
    shots = Path(os.environ["KUSTOSZ_SCREENSHOTS"]).resolve() if os.environ.get(
        "KUSTOSZ_SCREENSHOTS") else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        base = web.url.rstrip("/")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--lang=pl-PL"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="pl-PL")
            page.set_default_timeout(15000)
            page.goto(f"{base}/")
            page.fill("#f-username", "burmistrz")
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            tile = page.locator("#overdue-copies")
            assert tile.is_visible() and tile.locator("b").inner_text() == "1"
            assert "bez kopii dłużej niż 14 dni" in tile.inner_text()
            card = page.locator("#overdue-copy-list")
            assert card.is_visible()
            row = card.locator("tr.error")
            assert row.count() == 1 and since in row.inner_text()
            assert f"nr {rid}" in row.inner_text() and "Marek Zieliński" in row.inner_text()
            tile.click()  # the tile leads to the list
            assert card.bounding_box() is not None
            page.screenshot(path=str(shots / "30-pulpit-wniosek-bez-kopii.png"), full_page=True)
            browser.close()
    finally:
        web.stop()
        vault.close()
