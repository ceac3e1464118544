"""Issue 50 item 6: the root font was fixed at 15 px, so a person who set a larger font in
the browser's settings (low vision, a phone held at arm's length) got 15 px all the same.
Debian's chromium with its default font size set to 24 px in the profile's preferences, as
the settings page writes it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from test_web_browser import ARGS, CHROMIUM
from tests.conftest import make_vault

from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _root_px(url: str, profile: Path, default_px: int | None) -> float:
    from playwright.sync_api import sync_playwright

    (profile / "Default").mkdir(parents=True)
    if default_px is not None:
        (profile / "Default" / "Preferences").write_text(json.dumps(
            {"webkit": {"webprefs": {"default_font_size": default_px}}}))
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = context.new_page()
            page.goto(f"{url}/login")
            return float(page.evaluate(
                "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"))
        finally:
            context.close()


def test_the_pages_follow_the_browsers_font_size(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    vault = make_vault(tmp_path / "vault")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        url = web.url.rstrip("/")
        assert _root_px(url, tmp_path / "plain", None) == 15.0  # as before, by default
        assert _root_px(url, tmp_path / "large", 24) == 22.5  # the person's setting counts
    finally:
        web.stop()
        vault.close()
