"""WCAG 2.4.7 Focus visible on the pages with date and time fields (issue 65 item 6): a date
field is several Tab stops in Chromium — its day, month and year, and the calendar button
inside the field's own shadow tree. That last stop left the field with no focus ring (the
field itself is not :focus then, only :focus-within), 8 stops on the requests page. Every
Tab stop of each page, from the top to the footer, with the keyboard alone in Debian's
Chromium, must show an outline or a box-shadow; and a date field's ring is photographed at
1280 and 390 px, for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from a11y_site import CHROMIUM, new_context, playwright_or_skip, sign_in
from test_web_browser import ARGS, BROWSER_ENV, SHOTS_DIR, _free_port
from web_helpers import both_vault, user

from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow

# the focused element, whether the focus is on the calendar button inside a date field (the
# browser's own closed shadow tree: the field is then :focus-within but not :focus), and
# whether a focus indicator is drawn on the element Tab reached
STOP = """() => { const e = document.activeElement;
  const s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), type: e.type || "", id: e.id || "",
          name: e.name || "",
          inner: e.matches(":focus-within") && !e.matches(":focus") ? "picker" : "",
          footer: e.closest("footer") !== null,
          ring: (parseFloat(s.outlineWidth) > 0 && s.outlineStyle !== "none"
                 && s.outlineColor !== "rgba(0, 0, 0, 0)")
                || (s.boxShadow !== "" && s.boxShadow !== "none")}; }"""
DATES = ("date", "datetime-local", "time")
# (who, page): each has date or time fields in its forms
PAGES = [("sekretariat", "/requests"), ("sekretariat", "/holds"),
         ("sekretariat", "/employees"), ("admin1", "/admin/users")]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    vault = both_vault(tmp_path_factory.mktemp("rings") / "vault")
    user(vault, "sekretariat", ["custodian"], display="Józef Żółć")
    user(vault, "admin1", ["administrator"], display="Anna Łęcka")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/")
    finally:
        web.stop()
        vault.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = playwright_or_skip()
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                     env=BROWSER_ENV)
        yield launched
        launched.close()


def walk_tabs(page: Any, most: int = 400) -> list[dict[str, Any]]:
    """Every Tab stop from the top of the page to the end of its footer."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    stops: list[dict[str, Any]] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        now: dict[str, Any] = page.evaluate(STOP)
        if now["tag"] == "body" or (stops and now["footer"] is False and stops[-1]["footer"]):
            return stops  # past the last stop: Tab left the page (or wrapped to its top)
        stops.append(now)
    raise AssertionError(f"more than {most} Tab stops on {page.url}")


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_every_tab_stop_shows_a_focus_ring(browser: Any, base: str, who: str,
                                           path: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, base, who)
    page.goto(base + path)
    stops = walk_tabs(page)
    dated = [s for s in stops if s["tag"] == "input" and s["type"] in DATES]
    assert dated, f"{path}: Tab reached no date or time field: {stops}"
    # the field's own stops (day, month, year) and its calendar button, each a Tab stop
    assert any(s["inner"] == "picker" for s in dated), f"{path}: no calendar button: {dated}"
    bare = [f"{s['tag']}[type={s['type']}]#{s['id'] or s['name']} {s['inner']}"
            for s in stops if not s["ring"]]
    assert bare == [], f"{path}: {len(bare)} of {len(stops)} Tab stops show no focus ring: " \
        f"{bare}"
    context.close()


def test_the_date_fields_ring_as_seen(browser: Any, base: str, tmp_path: Path) -> None:
    """The requests page's search, focus on the "from" field's calendar button (the stop
    that had no ring), at 1280 and 390 px: screenshots for a person to look at."""
    shots = SHOTS_DIR or tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, base, "sekretariat")
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/requests")
        page.focus("#flt-from")
        for _ in range(6):  # day, month, year, then the calendar button
            now = page.evaluate(STOP)
            if now["inner"] == "picker":
                break
            page.keyboard.press("Tab")
        assert now["ring"], now
        page.screenshot(path=str(shots / f"65-pole-daty-fokus-{width}.png"))
    context.close()
