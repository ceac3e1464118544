"""Issue 31 item 4: the documentation is a MkDocs + Material site. `mkdocs build --strict` passes
with every internal link and anchor checked, the theme loads nothing from the internet, the CLI
reference is what `kustosz … --help` prints (never hand-copied) and the API reference holds every
operation of the OpenAPI schema.

Issue 50 item 7: the built site works opened from the disk (file://…/index.html, as the README
says) and served: its menu, with the six role guides, leads to pages and not to folder listings,
and its search finds a page and opens it."""

from __future__ import annotations

import functools
import html
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from typer.testing import CliRunner

from kustosz.cli import app
from kustosz.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
SAFETY_MS = 30_000
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]
BUILD_ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
# A plain terminal of 80 columns without colour, no vault named by the environment: the page
# says its help texts are what such a terminal shows.
TERMINAL = {"COLUMNS": "80", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
UNSET = ("TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "KUSTOSZ_DATA")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [*MKDOCS, "--site-dir", str(out)],
        cwd=ROOT,
        env=BUILD_ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def normal(text: str) -> str:
    """Help text without the terminal's padding: trailing spaces and blank edge lines."""
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def printed_help(path: list[str]) -> str:
    """`kustosz PATH --help` in this process, as on the plain terminal."""
    env: dict[str, str | None] = {**TERMINAL, **dict.fromkeys(UNSET)}
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="kustosz", env=env)
    assert result.exit_code == 0, result.output
    return normal(result.output)


def subcommands(help_text: str) -> list[str]:
    """The names in the Commands panel of a help text (continuation lines start blank)."""
    if "╭─ Commands" not in help_text:
        return []
    panel = help_text.split("╭─ Commands", 1)[1].split("╰", 1)[0]
    return [m.group(1) for m in re.finditer(r"^│ (\S+)", panel, re.M)]


def every_command() -> dict[str, str]:
    """Every command reachable through the printed help alone (not the app's internals)."""
    found: dict[str, str] = {}
    todo: list[list[str]] = [[]]
    while todo:
        path = todo.pop(0)
        text = printed_help(path)
        found[" ".join(["kustosz", *path])] = text
        todo += [[*path, name] for name in subcommands(text)]
    return found


def page_blocks(page: Path) -> dict[str, str]:
    """Heading text → the code block under it, from the built HTML."""
    text = page.read_text("utf-8")
    blocks = {}
    for m in re.finditer(
        r'<h2 id="[^"]*">(.*?)<a class="headerlink".*?</h2>\s*'
        r'<div class="highlight"><pre>(.*?)</pre>',
        text,
        re.S,
    ):
        code = re.sub(r"<[^>]+>", "", m.group(2))
        blocks[html.unescape(m.group(1)).strip()] = normal(html.unescape(code))
    return blocks


def test_the_site_builds_strictly_and_loads_nothing_from_the_internet(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    for name in (
        "index.html",
        "operations/s3.html",
        "security.html",
        "reference/cli.html",
        "reference/api.html",
        "benchmarks.html",
    ):
        assert (site / name).is_file(), name
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for page in pages:
        text = page.read_text("utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
        assert not remote.search(text), f"{page} loads {remote.search(text).group(0)}"  # type: ignore[union-attr]
    assert '<html lang="pl"' in (site / "index.html").read_text("utf-8")


def test_a_broken_anchor_or_link_fails_the_strict_build(tmp_path: Path) -> None:
    """The site's own validation settings refuse a link to a missing anchor and to a missing
    page (without them MkDocs only logs the anchor at INFO and the build passes)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    config.pop("hooks"), config.pop("nav")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Start\n\n## Here\n\n[ok](other.md#there)\n", "utf-8")
    (docs / "other.md").write_text("# Other\n\n## There\n\n[ok](index.md#here)\n", "utf-8")
    config["docs_dir"] = str(docs)
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), "utf-8")
    run = [*MKDOCS, "-f", str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "out")]
    ok = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    (docs / "other.md").write_text("# Other\n\n[bad](index.md#nowhere)\n", "utf-8")
    bad = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "does not contain an anchor '#nowhere'" in bad.stderr

    (docs / "other.md").write_text("# Other\n\n[bad](gone.md)\n", "utf-8")
    bad = subprocess.run(run, env=BUILD_ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "'gone.md', but the target is not found" in bad.stderr


def test_the_cli_reference_is_what_help_prints(site: Path) -> None:
    page = page_blocks(site / "reference" / "cli.html")
    printed = every_command()
    assert len(printed) > 100, "the walk through the help texts found too few commands"
    assert sorted(page) == sorted(printed)
    for command, text in printed.items():
        assert page[command] == text, command


@pytest.mark.parametrize(
    "path", [[], ["retention"], ["retention", "shorten", "approve"], ["serve"]]
)
def test_the_real_program_prints_the_same_help(site: Path, path: list[str]) -> None:
    """What the page holds is what the installed `kustosz` prints on such a terminal."""
    exe = shutil.which("kustosz", path=str(Path(sys.executable).parent)) or "kustosz"
    env = {k: v for k, v in os.environ.items() if k not in UNSET} | TERMINAL
    done = subprocess.run(
        [exe, *path, "--help"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    page = page_blocks(site / "reference" / "cli.html")
    assert page[" ".join(["kustosz", *path])] == normal(done.stdout)


def test_the_api_reference_holds_every_operation_of_the_schema(site: Path) -> None:
    text = html.unescape((site / "reference" / "api.html").read_text("utf-8"))
    schema = create_app(None).openapi()  # type: ignore[arg-type]
    operations = [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]
    assert len(operations) > 20
    for method, path in operations:
        assert re.search(rf">{method} <code>{re.escape(path)}</code>", text), (method, path)
    for name in schema["components"]["schemas"]:
        assert f">{name}<" in text, name
    assert "swagger" not in text.lower()


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    """The README says what Kustosz is, the two commands first, the install and where the
    documentation is; everything else lives in the site."""
    text = (ROOT / "README.md").read_text("utf-8")
    assert len(text.splitlines()) <= 150
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block and text.index("```sh") < 100
    commands = [line.split()[0:2] for line in first_block.group(1).splitlines() if line[:1] != " "]
    assert commands == [["make", "demo"], ["make", "test"]]
    assert "apt install ./kustosz_*.deb" in text and "make docs" in text
    assert "](docs/index.md)" in text


# -- the built site in a browser: from the disk, as the README says to open it, and served -------

CHROMIUM = "/usr/bin/chromium"
ROLE_GUIDES = {
    "guides/administrator.html": "Administrator systemu",
    "guides/kierownik.html": "Kierownik jednostki",
    "guides/sekretariat.html": "Sekretariat",
    "guides/iod.html": "Inspektor Ochrony Danych",
    "guides/przegladajacy.html": "Osoba upoważniona do przeglądania nagrań",
    "guides/komisja.html": "Komisja niszcząca",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--lang=pl-PL"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(params=["file", "http"])
def home(request: pytest.FixtureRequest, site: Path) -> str:
    """The home page's address: file://…/index.html, or the same site served over HTTP."""
    if request.param == "file":
        return (site / "index.html").as_uri()
    base: str = request.getfixturevalue("served")
    return f"{base}/index.html"


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="pl-PL")
    # a safety net, each wait is for a condition: a slow host took over 5 s to click (CI)
    page.set_default_timeout(SAFETY_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # ERR_ABORTED is a load the page itself left behind by going to the next page
    page.on(
        "requestfailed",
        lambda r: (
            errors.append(f"{r.url}: {r.failure}") if r.failure != "net::ERR_ABORTED" else None
        ),
    )
    # the office's computer may have no internet: anything the site fetches from it fails here
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page.goto(url)
    return page, errors


def _heading(page: Page) -> str:
    return page.locator("article h1").first.inner_text().replace("¶", "").strip()


def test_the_menu_leads_to_every_role_guide_and_to_the_install_page(
    browser: Browser, home: str
) -> None:
    """The six role guides are in the menu, and a click lands on the page itself, not on the
    'Index of …/install/' listing a browser shows for a folder opened from the disk."""
    page, errors = _open(browser, home)
    menu = page.locator("nav.md-nav--primary")
    menu.get_by_role("link", name="Pierwsza instalacja", exact=True).click()
    page.wait_for_load_state()
    assert "Index of" not in page.locator("body").inner_text(), page.url
    assert page.url.endswith("/install.html"), page.url
    assert _heading(page) == "Pierwsza instalacja / First install"
    for target, title in ROLE_GUIDES.items():  # from page to page, as a reader goes
        menu.get_by_role("link", name=title, exact=True).click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/{target}"), (title, page.url)
        assert _heading(page) == f"{title} — pierwszy dzień"
    assert errors == []
    page.close()


def test_the_search_finds_a_page_and_its_result_opens_it(browser: Browser, home: str) -> None:
    from playwright.sync_api import expect

    page, errors = _open(browser, home)
    query = page.locator("input.md-search__input")
    query.click()
    # Material says "Inicjowanie wyszukiwania" until its index is loaded (and drops what is typed
    # before); a search that cannot start, as from the disk without the index script, stays there
    # (building the index took over 5 s on a slow host: CI, 2026-11-30)
    expect(page.locator(".md-search-result__meta")).to_have_text("Zacznij pisać, aby szukać",
                                                                 timeout=SAFETY_MS)
    query.press_sequentially("komisja niszcząca")  # keys, as typed: Material reads keyup
    result = page.locator("a.md-search-result__link").first
    # the results of a prefix ("ko", ?h=ko) may show first on a busy machine: wait for the
    # whole query's
    expect(result).to_have_attribute("href", re.compile(r"[?&]h=komisja"), timeout=SAFETY_MS)
    href = result.get_attribute("href") or ""
    assert "guides/komisja.html" in href, href
    result.click()
    page.wait_for_load_state()
    assert "/guides/komisja.html" in page.url, page.url
    assert _heading(page) == "Komisja niszcząca — pierwszy dzień"
    assert errors == []
    page.close()
