"""The documentation site's accessibility, as for the app (issue 65 item 6): every page of the
built site passes axe-core's WCAG 2.0/2.1 A and AA rules at 1280 and 390 px with no rule
switched off (it failed on the footer's contrast, on links told from the text by colour only,
and on scrolling tables the keyboard could not reach), and no link of any page points at a
folder — opened from the disk (file://, as the README says) a folder is a listing, and the
logo of every page was `href="."`. The site is built once into a temporary folder and read
from the disk; axe-core comes from node_modules, as in tests/a11y."""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.test_docs_site import BUILD_ENV, CHROMIUM, MKDOCS, ROOT, _QuietHandler

pytestmark = pytest.mark.slow

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})
AXE_RUN = """() => axe.run(document, {runOnly: {type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
  .then(r => r.violations.map(v => ({id: v.id, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))"""
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"
# the scrolling boxes around wide tables: whether each scrolls, and what the keyboard finds
SCROLLERS = """() => [...document.querySelectorAll(".md-typeset__scrollwrap")].map(e => ({
  scrolls: e.scrollWidth > e.clientWidth, tabindex: e.getAttribute("tabindex"),
  role: e.getAttribute("role"), label: e.getAttribute("aria-label") || ""}))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([*MKDOCS, "--site-dir", str(out)], cwd=ROOT, env=BUILD_ENV,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and (name == "href" or (name == "src" and tag != "img")):
                self.found.append(value)


def _pages(site: Path) -> list[Path]:
    """The site's pages (search/ holds the offline search's frame, not a page)."""
    return sorted(p for p in site.rglob("*.html") if "search" not in p.parts)


def test_no_link_points_at_a_folder_from_the_disk(site: Path) -> None:
    """Every relative href and src of every page names a file that is there: never "",
    ".", "..", nor anything ending in "/" (a folder's listing from the disk). 404.html is
    left out: a web server answers with it for any address, so its links start at the
    site's root ("/index.html") and it is never opened from the disk."""
    bad = []
    pages = [p for p in _pages(site) if p.name != "404.html"]
    assert len(pages) > 30
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text("utf-8"))
        for href in parser.found:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("#"):
                continue  # another site, mailto:, or a place on this page
            path = unquote(parts.path)
            target = (page.parent / path).resolve()
            if path in (".", "..") or path.endswith(("/", "/.", "/..")) or not target.is_file():
                bad.append(f"{page.relative_to(site)}: {href}")
    assert bad == [], "\n".join(bad[:40])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `npm ci --ignore-scripts` (make test runs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--lang=pl-PL"])
        yield launched
        launched.close()


def _context(browser: Any) -> Any:
    context = browser.new_context(viewport=WIDTHS[0], locale="pl-PL")
    context.add_init_script(path=str(AXE))
    context.set_default_timeout(15000)
    return context


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site over HTTP, for 404.html (its links start at the root)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_page_passes_axe_at_1280_and_390_px(site: Path, browser: Any,
                                                  served: str) -> None:
    context = _context(browser)
    page = context.new_page()
    problems = []
    for path in _pages(site):
        page.goto(f"{served}/404.html" if path.name == "404.html" else path.as_uri())
        for viewport in WIDTHS:
            page.set_viewport_size(viewport)
            # the drawer and the menu move in on a resize: judged where they come to rest
            page.wait_for_function(SETTLED)
            for v in page.evaluate(AXE_RUN):
                problems.append(f"{path.relative_to(site)} at {viewport['width']} px: "
                                f"{v['id']} ({v['help']}): {v['targets']}")
    context.close()
    assert problems == [], "\n".join(problems)


def test_a_scrolling_table_is_reached_and_named_by_the_keyboard(site: Path,
                                                               browser: Any) -> None:
    """The compatibility page's wide tables scroll inside their box: each such box is a Tab
    stop, with a name, and shows where the focus is."""
    context = _context(browser)
    page = context.new_page()
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        page.goto((site / "compatibility.html").as_uri())
        page.wait_for_function(SETTLED)
        boxes = page.evaluate(SCROLLERS)
        scrolling = [b for b in boxes if b["scrolls"]]
        if viewport["width"] < 400:  # on the phone the wide tables do scroll
            assert len(scrolling) >= 2, boxes
        for box in boxes:
            if box["scrolls"]:
                assert box["tabindex"] == "0" and box["role"] == "region", box
                assert box["label"].startswith("Tabela: "), box
            else:  # nothing to scroll: no Tab stop of its own
                assert box["tabindex"] is None and box["role"] is None, box
        reached = []
        for _ in range(400):
            page.keyboard.press("Tab")
            now = page.evaluate("""() => { const e = document.activeElement;
              const s = getComputedStyle(e);
              return {box: e.classList.contains("md-typeset__scrollwrap"),
                      ring: parseFloat(s.outlineWidth) > 0 && s.outlineStyle !== "none",
                      body: e === document.body}; }""")
            if now["body"]:
                break
            if now["box"]:
                assert now["ring"], "a table's box shows no focus ring"
                reached.append(now)
        assert len(reached) == len(scrolling), (viewport, len(reached), scrolling)
    context.close()


def test_the_logo_leads_to_the_home_page_from_the_disk(site: Path, browser: Any) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto((site / "guides" / "iod.html").as_uri())
    with page.expect_navigation():
        page.click("header a.md-logo")
    assert page.url == (site / "index.html").as_uri(), page.url
    assert "Index of" not in page.inner_text("body")
    context.close()
