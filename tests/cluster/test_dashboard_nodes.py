"""The dashboard's section of recorder nodes: shown when two or more nodes share the database,
in Polish, naming each node's cameras, lines and shared work and what has no node; and in a
real browser (Debian's chromium), under the app's CSP, as a screenshot."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from kustosz.cluster import nodes
from kustosz.db.leases import Leases
from kustosz.vault import Vault
from kustosz.web.server import WebServer
from tests.web.web_helpers import PASSWORD, both_vault, client, login, user

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def office(tmp_path: Path, pg_database: str) -> Vault:
    vault = both_vault(tmp_path / "vault", pg_database)
    user(vault, "iod", ["dpo"])
    return vault


def _two_nodes(vault: Vault) -> None:
    nodes.register(vault.engine, "rejestrator-ratusz", 15, host="srv-ratusz", pid=101)
    nodes.register(vault.engine, "rejestrator-mops", 15, host="srv-mops", pid=202)
    a = Leases(vault.engine, "rejestrator-ratusz")
    b = Leases(vault.engine, "rejestrator-mops")
    a.ensure(["camera:hol", "camera:parking", "camera:wejście", "phone:centrala",
              "singleton:scheduler", "singleton:listeners"])
    a.claim(["camera:hol", "singleton:scheduler"], 2)
    b.claim(["camera:parking", "phone:centrala", "singleton:listeners"], 3)


def test_dashboard_shows_nodes_only_when_there_are_several(office: Vault) -> None:
    c = client(office)
    login(c, "iod")
    assert 'id="nodes"' not in c.get("/").text  # no nodes
    nodes.register(office.engine, "jedyny", 15)
    assert 'id="nodes"' not in c.get("/").text  # one node: nothing to compare
    _two_nodes(office)
    page = c.get("/").text
    assert "Węzły rejestratorów" in page
    assert "rejestrator-ratusz" in page and "srv-mops" in page
    assert "usuwanie po terminie i zadania okresowe" in page and "odbiór poczty i zdarzeń" in page
    assert 'id="without-node"' in page and "wejście" in page


def test_viewer_sees_no_nodes(office: Vault) -> None:
    _two_nodes(office)
    user(office, "ola", ["viewer"])
    c = client(office)
    login(c, "ola")
    assert "Węzły rejestratorów" not in c.get("/").text


@pytest.mark.slow
def test_nodes_section_in_a_real_browser(office: Vault, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    _two_nodes(office)
    shots = Path(os.environ.get("KUSTOSZ_SCREENSHOTS") or tmp_path / "screenshots").resolve()
    shots.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = WebServer(office, "127.0.0.1", port)
    web.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--lang=pl-PL"])
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="pl-PL")
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda msg: problems.append(msg.text)
                    if "Content Security Policy" in msg.text else None)
            base = web.url.rstrip("/")
            page.goto(f"{base}/login")
            page.fill("#f-username", "iod")
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            section = page.locator("#nodes")
            assert section.is_visible()
            box = section.bounding_box()
            assert box is not None and box["width"] > 400
            section.screenshot(path=str(shots / "pulpit-wezly.png"))
            browser.close()
    finally:
        web.stop()
    assert problems == []
    assert (shots / "pulpit-wezly.png").stat().st_size > 5000
