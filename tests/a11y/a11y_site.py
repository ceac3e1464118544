"""The accessibility checks' office and crawl, shared by test_a11y.py and screenshots.py: a
vault with material of every kind, a person in each role, and the pages each role reaches from
its menu plus one level below, visited in Debian's Chromium with the app's CSP in force."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

# The web tests' helpers import each other by their bare names (pytest puts tests/web on the
# path when it collects those files) and the other tests' helpers as tests.<folder>: this
# folder reuses them the same way, run alone under pytest or as a script.
REPO = Path(__file__).resolve().parents[2]
for _folder in (REPO, REPO / "tests" / "web"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from test_web_browser import (  # noqa: E402
    ARGS,
    BROWSER_ENV,
    CHROMIUM,
    REPORT_VIOLATIONS,
    _free_port,
)
from tests.custody.custody_helpers import record  # noqa: E402
from web_helpers import (  # noqa: E402
    PASSWORD,
    authorise,
    both_vault,
    make_material,
    make_monitoring,
)

from kustosz.access import accounts  # noqa: E402
from kustosz.access.users import add_user  # noqa: E402
from kustosz.custody.requests import RequestSpec, register_request  # noqa: E402
from kustosz.db.custody import User  # noqa: E402
from kustosz.web.server import WebServer  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from kustosz.vault import Vault

__all__ = ["ARGS", "BROWSER_ENV", "CHROMIUM", "REPORT_VIOLATIONS"]

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
# WCAG 2.0 and 2.1, levels A and AA: what the Polish law (ustawa o dostępności cyfrowej, EN
# 301 549) asks of a public office's application. No rule is switched off.
AXE_RUN = """() => axe.run(document, {runOnly: {type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
  .then(r => r.violations.map(v => ({id: v.id, help: v.help,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))"""
REFLOW = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# the header's menu at 1280 px: its height against its tallest item's (one line: under twice)
MENU_LINES = """() => { const nav = document.getElementById("main-nav");
  if (!nav || nav.offsetParent === null) return [0, 0];
  const items = [...nav.querySelectorAll(":scope > a, :scope > details > summary")];
  return [nav.getBoundingClientRect().height,
          Math.max(...items.map(e => e.getBoundingClientRect().height))]; }"""

# role (as the screenshots name it) -> the user who has it; each user has that one role, so a
# page is seen with exactly the menu that role gets
ROLES: dict[str, tuple[str, list[str]]] = {
    "administrator": ("admin1", ["administrator"]),
    "kierownik": ("burmistrz", ["approver"]),
    "iod": ("iod", ["dpo"]),
    "sekretariat": ("sekretariat", ["custodian"]),
    "operator": ("operator1", ["operator"]),
    "przegladajacy": ("ogladajacy", ["viewer"]),
    "nadzor": ("sekretarz", ["supervisor"]),
}
TOTP_USER = "dwuskladnik"
# not pages: downloads, media, the API, sign-out and language switches (GET, but they act)
SKIP = re.compile(r"^/(logout|lang/|static/|api/|metrics|unlock/|media/(?!start))"
                  r"|\.(pdf|csv|zip|eml|jpg|png|mp4|ts|m3u8|xlsx|json)$|/(get|declaration|pdf)$")
MAX_PAGES = 45  # per role: the menu (at most ~20) and what lies one level below it
MAX_BELOW = 8  # new page kinds taken from one menu page


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    pages: int = 0


@contextlib.contextmanager
def office(tmp: Path) -> Iterator[str]:
    """A served vault with cameras, calls, mail, events, a request, a copy and a person in
    each role; yields the server's base URL."""
    vault = both_vault(tmp / "vault")
    material = make_material(vault, tmp / "material")
    make_monitoring(vault)
    now = datetime.now(UTC)
    tz = vault.policy.timezone
    with vault.transaction() as s:
        for role, (name, roles) in ROLES.items():
            u = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
            if u is None:
                u = add_user(s, name, f"Osoba {role}", roles, "test")
            u.roles = roles
            accounts.set_password(s, u, PASSWORD, "test")
        t = add_user(s, TOTP_USER, "Osoba z kodem", ["viewer"], "test")
        accounts.set_password(s, t, PASSWORD, "test")
        accounts.account_of(s, t).totp_secret = pyotp.random_base32()
        register_request(s, vault.policy, RequestSpec(
            kind="interested", material="video", requester="Marek Zieliński (kierowca)",
            received_on=now.astimezone(tz).date(), event_date=now.astimezone(tz).date(),
            purpose="uszkodzenie samochodu na parkingu", description="otarcie drzwi",
            cameras=["cam-hol"], start=now - timedelta(hours=2, minutes=1),
            end=now - timedelta(hours=1, minutes=59)), "test")
        # the police's request, not yet decided: the keyboard walk decides it, has its copy
        # made and hands it over (the newest request, first on the list)
        register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video",
            requester="Komenda Powiatowa Policji w Pleszewie",
            received_on=now.astimezone(tz).date(),
            event_date=material.window[0].astimezone(tz).date(),
            purpose="postępowanie przygotowawcze", description="kradzież roweru",
            cameras=["cam-hol"], start=material.window[0], end=material.window[1],
            margin_minutes=0), "test")
    authorise(vault, "ogladajacy", ["playback"], sources=["cam-hol"], by="zastepca")
    authorise(vault, "iod", ["playback", "listening", "calls"], kinds=["camera", "phone"],
              by="zastepca")
    authorise(vault, "iod", ["mail", "events"], kinds=["mailbox", "endpoint"], by="zastepca")
    authorise(vault, "operator1", ["live"], sources=["cam-hol"], by="zastepca")
    authorise(vault, "sekretariat", ["export"], kinds=["camera"], by="zastepca")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    base = web.url.rstrip("/")
    _SITES[base] = (vault, tmp / "material")
    try:
        yield base
    finally:
        _SITES.pop(base, None)
        web.stop()
        vault.close()


_SITES: dict[str, tuple[Vault, Path]] = {}


def record_now(base: str) -> None:
    """A segment of cam-hol that ended a moment ago, for a step that opens today's
    `/cameras` and follows its playback link: the walk takes minutes, and the segment
    `make_material` recorded before it is yesterday's once midnight (Warsaw) passed meanwhile
    (a CI run at 22:55 UTC)."""
    vault, folder = _SITES[base]
    record(vault, "cam-hol", datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3),
           1, folder / "seg")


def page_key(path: str) -> str:
    """One page per template: /requests/3 and /requests/7 are the same page to check."""
    parts = [("id" if re.search(r"\d", p) else p) for p in path.strip("/").split("/") if p]
    return "-".join(parts) or "pulpit"


def sign_in(page: Page, base: str, name: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("#f-username", name)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")


def _links(page: Page, base: str, selector: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        selector, "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(page: Page, base: str) -> list[str]:
    """The signed-in role's menu pages (header and footer), then GET links one level below
    them (one of each kind), bounded."""
    page.goto(f"{base}/")
    menu = ["/", *_links(page, base, "header a[href], footer a[href]")]
    seen: dict[str, str] = {}
    for url in menu:
        seen.setdefault(page_key(urlsplit(url).path), url)
    for url in list(seen.values()):
        if len(seen) >= MAX_PAGES:
            break
        response = page.goto(base + url)
        if response is None or response.status != 200:
            continue
        taken = 0
        for below in _links(page, base, "main a[href]"):
            key = page_key(urlsplit(below).path)
            if key in seen or taken >= MAX_BELOW or len(seen) >= MAX_PAGES:
                continue
            seen[key] = below
            taken += 1
    return list(seen.values())


def check(page: Page, label: str, findings: Findings, shots: Path | None = None,
          name: str = "") -> None:
    """axe-core's WCAG 2.0/2.1 A and AA rules at 1280 and at 320 px, and reflow at 320 px
    (WCAG 1.4.10; 320 px is 1280 px at 400 % zoom): the page itself never scrolls sideways,
    nor at 1280 px with its text at 200 % (1.4.4). The page is loaded already."""
    findings.pages += 1
    for viewport in (WIDE, NARROW):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(50)
        width = viewport["width"]
        if shots is not None:
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        for v in page.evaluate(AXE_RUN):
            findings.problems.append(
                f"{label} at {width} px: axe {v['id']} ({v['help']}): {v['targets']}")
        if width == WIDE["width"]:
            menu, item = page.evaluate(MENU_LINES)
            if menu >= 2 * item > 0:
                findings.problems.append(f"{label} at 1280 px: the menu takes more than one "
                                         f"line ({menu} px high, an item {item} px)")
        if width == WIDE["width"]:
            # 1.4.4 Resize text: the text at 200 % (the root size doubled, as the browser's
            # text-only zoom does) still fits, nothing pushed off sideways
            page.evaluate("() => document.documentElement.style.fontSize = '200%'")
            scroll, inner = page.evaluate(REFLOW)
            if shots is not None and name.startswith("administrator-"):  # the widest menu
                page.screenshot(path=str(shots / f"{name}-tekst200.png"))
            page.evaluate("() => document.documentElement.style.fontSize = ''")
            if scroll > inner:
                findings.problems.append(
                    f"{label} at 1280 px with text at 200 %: the page is {scroll} px wide")
        if width == NARROW["width"]:
            scroll, inner = page.evaluate(REFLOW)
            if scroll > inner:
                wide = page.evaluate(WIDEST)
                findings.problems.append(
                    f"{label} at 320 px: the page is {scroll} px wide (reflow); widest: {wide}")


# the elements that stick out past the right edge, to say where a reflow failure comes from
WIDEST = """() => { const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 1 && el.closest("[data-scrolls]") === null) {
      const p = el.parentElement ? el.parentElement.getBoundingClientRect().right : 0;
      if (p <= w + 1) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.split(" ")
          .join(".") : "") + " " + Math.round(r.right));
    }
  }
  return out.slice(0, 6); }"""


def keyboard(page: Page, base: str, findings: Findings, shots: Path | None) -> None:
    """The skip link is the first thing Tab reaches and leads into <main>; the menu folds
    behind its button at 320 px and opens by keyboard; "Więcej" at 1280 px opens by keyboard
    and Escape closes it, focus back on it."""
    def focused() -> str:
        return str(page.evaluate("() => document.activeElement.id || "
                                 "document.activeElement.className || ''"))

    page.set_viewport_size(NARROW)
    page.goto(f"{base}/cameras")
    page.keyboard.press("Tab")
    if focused() != "skip" or not page.is_visible("a.skip"):
        findings.problems.append(f"Tab first reaches {focused()!r}, not a visible skip link")
    page.keyboard.press("Enter")
    if focused() != "content":
        findings.problems.append(f"the skip link leads to {focused()!r}, not to <main>")
    if page.is_visible("#main-nav") or not page.is_visible(".menu-toggle"):
        findings.problems.append("at 320 px the menu is not folded behind its button")
    page.focus(".menu-toggle")
    page.keyboard.press("Enter")
    if not page.is_visible("#main-nav a[href='/requests']") \
            or page.get_attribute(".menu-toggle", "aria-expanded") != "true":
        findings.problems.append("at 320 px Enter on the menu button does not open the menu")
    if shots is not None:
        page.screenshot(path=str(shots / "administrator-menu-otwarte-320.png"), full_page=True)
    page.set_viewport_size(WIDE)
    page.goto(f"{base}/cameras")
    page.focus("details.more summary")
    page.keyboard.press("Enter")
    if not page.is_visible("details.more a[href='/admin/users']"):
        findings.problems.append("at 1280 px Enter on „Więcej” does not open the group")
    if shots is not None:
        page.screenshot(path=str(shots / "administrator-menu-wiecej-1280.png"))
    page.keyboard.press("Escape")
    if page.is_visible("details.more a[href='/admin/users']") \
            or page.evaluate("() => document.activeElement.tagName") != "SUMMARY":
        findings.problems.append("Escape does not close „Więcej” with focus back on it")


# The pages a role reaches only through a form (a POST to /media/start), each from the link a
# person follows: (role, the page with the link, the link, what the page shows then). The
# listening adds its protocol: the form on the player, then /protocols/N.
THROUGH_A_FORM: list[tuple[str, str, str, str]] = [
    ("przegladajacy", "/cameras", "a[href*='action=playback']", "odtwarzanie"),
    ("operator", "/cameras", "a[href*='action=live']", "podglad-biezacy"),
    ("sekretariat", "/copies", "a[href*='action=export']", "wydanie-kopii"),
    ("iod", "/calls", "a[href*='action=calls']", "rozmowy-wyniki"),
    ("iod", "/mail", "a[href*='action=mail']", "poczta-wyniki"),
    ("iod", "/events", "a[href*='action=events']", "zdarzenia-wyniki"),
]


def through_start_form(page: Page, case: str) -> None:
    """The access form filled as a person would: a purpose (typed, or the first on the
    office's list), a case reference, the period searched, a witness where one is required;
    then sent."""
    purpose = page.locator("#f-purpose")
    if purpose.evaluate("e => e.tagName") == "SELECT":
        purpose.select_option(index=1)
    else:
        purpose.fill("sprawdzenie zgłoszenia (test dostępności)")
    if page.locator("#f-case_ref").count():
        page.fill("#f-case_ref", case)
    for field_id, value in (("#f-from", "2000-01-01T00:00"), ("#f-to", "2100-01-01T00:00")):
        if page.locator(field_id).count() and not page.input_value(field_id):
            page.fill(field_id, value)  # a search of every call, mail or event kept
    witness = page.locator("#f-witness")
    if witness.count() and witness.evaluate("e => e.required"):
        witness.select_option(index=1)
    form = page.locator("main form[action='/media/start']")
    invalid = form.evaluate("f => [...f.elements].filter(e => !e.checkValidity())"
                            ".map(e => e.name)")
    assert invalid == [], f"{page.url}: the access form's fields left invalid: {invalid}"
    with page.expect_navigation():
        form.locator("button").click()
    page.wait_for_load_state()


def after_a_form(browser: Any, base: str, findings: Findings, shots: Path | None) -> None:
    """The player (recording, live, a copy's release, a call), the calls, mail and events
    found, and a listening's protocol: each checked like a menu page."""
    for role, start, link, name in THROUGH_A_FORM:
        if start == "/cameras":
            record_now(base)
        context = new_context(browser)
        page = context.new_page()
        sign_in(page, base, ROLES[role][0])
        page.goto(base + start)
        if page.locator(f"main {link}").count() == 0:
            findings.problems.append(f"{role} {start}: no link {link} to follow")
            context.close()
            continue
        with page.expect_navigation():
            page.click(f"main {link} >> nth=0")
        through_start_form(page, "OR.1234.7.2026")
        if "/media/start" in page.url:
            said = page.locator("main .error, main .refusal").all_inner_texts()
            findings.problems.append(f"{role} {start}: the access form was refused: {said}")
            context.close()
            continue
        check(page, f"{role} {urlsplit(page.url).path}", findings, shots, f"{role}-{name}")
        if name == "rozmowy-wyniki":
            listening(page, base, findings, shots)
        context.close()


def listening(page: Page, base: str, findings: Findings, shots: Path | None) -> None:
    """From the calls found: a call listened to, its protocol written, the protocol's page."""
    calls = page.locator("main a[href*='action=listening']")
    if calls.count() == 0:
        findings.problems.append("the calls found offer no call to listen to")
        return
    with page.expect_navigation():
        calls.first.click()
    through_start_form(page, "OR.1234.8.2026")
    check(page, f"iod {urlsplit(page.url).path} (odsłuch)", findings, shots, "iod-odsluch")
    page.fill("#f-breach", "rozmowa z klientem zakończona skargą (test dostępności)")
    with page.expect_navigation():
        page.click("form[action$='/protocol'] button")
    page.wait_for_load_state()
    if "/protocols/" not in page.url:
        findings.problems.append("the listening's protocol was not saved: "
                                 + page.inner_text("main")[:300])
        return
    check(page, f"iod {urlsplit(page.url).path}", findings, shots, "iod-protokol-odsluchu")


def playwright_or_skip() -> Any:
    """Playwright's sync API, with Debian's Chromium and axe-core in place; the test is
    skipped, saying what is missing, where they are not (`make test` installs both)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `npm ci --ignore-scripts` (make test runs it)")
    return pytest.importorskip("playwright.sync_api")


def new_context(browser: Any) -> BrowserContext:
    context: BrowserContext = browser.new_context(viewport=WIDE, locale="pl-PL")
    # CDP scripts run outside the page's CSP: axe-core is in every page the context opens,
    # with no inline <script> the app's policy would (rightly) refuse
    context.add_init_script(path=str(AXE))
    context.add_init_script(REPORT_VIOLATIONS)
    context.set_default_timeout(15000)
    return context


def walk(browser: Any, base: str, findings: Findings, shots: Path | None = None,
         only: set[str] | None = None) -> None:
    """Every role's pages (or those of the roles `only` names), then the login page and its
    second step (TOTP) signed out."""
    for role, (user, _roles) in ROLES.items():
        if only is not None and role not in only:
            continue
        context = new_context(browser)
        page = context.new_page()
        page.on("console", lambda msg, page=page: findings.problems.append(
            f"{page.url}: {msg.text}") if "CSP violation" in msg.text
            or "Content Security Policy" in msg.text else None)
        sign_in(page, base, user)
        if role == "administrator":  # the longest menu: every group of it
            keyboard(page, base, findings, shots)
        for url in crawl(page, base):
            response = page.goto(base + url)
            if response is None or response.status != 200 \
                    or "text/html" not in response.headers.get("content-type", ""):
                continue
            name = f"{role}-{page_key(urlsplit(url).path)}"
            check(page, f"{role} {url}", findings, shots, name)
        context.close()
    if only is None:
        after_a_form(browser, base, findings, shots)
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{base}/login")
    check(page, "/login", findings, shots, "wylogowany-logowanie")
    page.fill("#f-username", TOTP_USER)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#f-totp")
    check(page, "/login (kod TOTP)", findings, shots, "wylogowany-logowanie-totp")
    context.close()
