"""The PL·EN switch in Debian's Chromium (issue 65 item 6): a person who searched the requests
for a name with Polish letters clicks "EN" and finds the same search in English; and no
`next` an attacker can write leads the browser off the site, as Chromium itself reads the
redirect (it turns "\\" into "/" and drops tabs and newlines, which a server-side check that
only looks for "//" misses)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from test_language_switch import ATTACKS, ENCODED, PERSON
from test_web_browser import ARGS, BROWSER_ENV, CHROMIUM, SHOTS_DIR, _free_port
from web_helpers import PASSWORD, both_vault, user

from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    vault = both_vault(tmp_path_factory.mktemp("lang") / "vault")
    user(vault, "sekretariat", ["custodian"], display="Anna Łęcka")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/")
    finally:
        web.stop()
        vault.close()


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      locale="pl-PL")
        context.set_default_timeout(10000)
        # nothing outside this machine answers: a redirect off the site shows as a failed
        # load at its own address, which the test reads
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                      lambda route: route.abort())
        yield context.new_page()
        browser.close()


def test_a_search_survives_the_switch(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/login")
    page.fill("#f-username", "sekretariat")
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/requests")
    page.fill("#flt-number", "OR.1234.5.2026")
    page.fill("#flt-person", PERSON)
    page.fill("#flt-from", "2026-11-01")
    page.click("#flt-apply")
    page.wait_for_load_state()
    with page.expect_navigation():
        page.click("header .lang a[hreflang=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert urlsplit(page.url).path == "/requests"
    assert page.input_value("#flt-person") == PERSON
    assert page.input_value("#flt-number") == "OR.1234.5.2026"
    assert page.input_value("#flt-from") == "2026-11-01"
    shots = SHOTS_DIR or tmp_path
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(shots / f"65-przelacznik-jezyka-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    with page.expect_navigation():
        page.click("header .lang a[hreflang=pl]")
    assert page.get_attribute("html", "lang") == "pl"
    assert page.input_value("#flt-person") == PERSON


@pytest.mark.parametrize("target", ATTACKS + ENCODED)
def test_chromium_stays_on_the_site(page: Any, base: str, target: str) -> None:
    # an aborted load off the site raises: page.url then says where the browser went
    with contextlib.suppress(Exception):
        page.goto(f"{base}/lang/en?next={quote(target, safe='')}")
    went = urlsplit(page.url)
    assert f"{went.scheme}://{went.netloc}" == base, (target, page.url)
