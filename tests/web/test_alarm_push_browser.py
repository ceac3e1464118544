"""The service worker of alarm notifications (static/alarms_sw.js; issue 65 item 3) in real
Chromium: the dashboard of a role that watches offers Web Push with the vault's VAPID key, the
worker registers under the app's CSP, and a push message as the vault sends it (delivered
through the DevTools protocol: a headless browser has no push service to reach) becomes the
device's notification — the title, the alarm's words, the alarm's own tag — and an all-clear
of the same alarm replaces it rather than adding another."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from test_dead_camera import office
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS
from web_helpers import PASSWORD

from kustosz.vault import Vault
from kustosz.web.alarm_push import notification
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow
# the worker's scope is /static/ (it controls no page): asked by its registration, not .ready
NOTIFICATIONS = ("navigator.serviceWorker.getRegistration('/static/')"
                 ".then(r => r.getNotifications()).then(ns => "
                 "ns.map(n => ({title: n.title, body: n.body, tag: n.tag})))")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(sqlite_web_vault: Vault) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    v = sqlite_web_vault
    office(v)
    v.close()
    config = v.root / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + '\n[alerts.push]\n'
                      'contact = "mailto:dyzur@um.example.pl"\n', "utf-8")
    vault = Vault.open(v.root)
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/")
    finally:
        web.stop()
        vault.close()


def _wait(page: Page, script: str, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_push_becomes_the_devices_notification(site: str) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(locale="pl-PL")
        context.add_init_script(REPORT_VIOLATIONS)
        context.grant_permissions(["notifications"], origin=site)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{site}/login")
        page.fill("#f-username", "informatyk")
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")
        key = page.locator("#alarm-notify").get_attribute("data-key")
        assert key and len(key) == 87  # 65 octets, base64url: the vault's VAPID public key
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated",
               lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        scope = page.evaluate("navigator.serviceWorker.register('/static/alarms_sw.js')"
                              ".then(r => r.scope)")
        assert scope == f"{site}/static/"
        deadline = time.monotonic() + 20
        while not any(r["scopeURL"] == scope for r in registrations):
            assert time.monotonic() < deadline, registrations
            page.wait_for_timeout(200)
        reg = next(r["registrationId"] for r in registrations if r["scopeURL"] == scope)
        # a push delivered while the worker still installs is dropped, not queued: on a busy
        # machine the registration is reported long before its worker becomes active
        _wait(page, "navigator.serviceWorker.getRegistration('/static/').then(r => "
                    "!!(r && r.active && r.active.state === 'activated'))",
              "the worker's activation")
        said = "Kamera „cam-inne” nie nagrywa od 29.11.2026 03:43 (przyczyna: kamera " \
               "nieosiągalna w sieci)."
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": site, "registrationId": reg,
            "data": notification("start", said, [7], "pl").decode("utf-8")})
        shown = _wait(page, NOTIFICATIONS, "the notification")
        assert shown == [{"title": "Kustosz: alarm", "body": said, "tag": "kustosz-alarm-7"}]
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": site, "registrationId": reg,
            "data": notification("clear", said, [7], "pl").decode("utf-8")})
        _wait(page, NOTIFICATIONS.replace("ns.map", "ns.filter(n => n.title.includes('ustał'))"
                                          ".map"), "the all-clear")
        shown = page.evaluate(NOTIFICATIONS)
        assert [n["title"] for n in shown] == ["Kustosz: alarm ustał"], shown  # replaced
        browser.close()
    assert problems == []
