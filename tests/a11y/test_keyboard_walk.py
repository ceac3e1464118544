"""WCAG 2.1.1 Keyboard and 2.4.7 Focus visible (issue 33): the viewing of a recording, a
request's decision, its copy, its handover and the handover protocol's download done with the
keyboard alone, in Debian's Chromium with the app's CSP. No mouse event at all: only
page.keyboard and focus(); each stop of Tab on the view page shows a focus indicator and has
an accessible name."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import a11y_site
import pytest
from a11y_site import AXE_RUN, CHROMIUM, NARROW, REFLOW, WIDE, new_context, office, record_now
from test_web_browser import ARGS, BROWSER_ENV
from tests.custody.custody_helpers import record
from web_helpers import PASSWORD, authorise

pytestmark = pytest.mark.slow

# what Tab landed on: enough to find it and to say what it was in a failure
FOCUSED = """() => { const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), id: e.id || "", href: e.getAttribute("href") || "",
          text: (e.textContent || "").trim().slice(0, 60),
          inMain: e.closest("main") !== null}; }"""
# a visible focus indicator (2.4.7): an outline or a box-shadow drawn while focused
INDICATOR = """() => { const s = getComputedStyle(document.activeElement);
  return (parseFloat(s.outlineWidth) > 0 && s.outlineStyle !== "none")
    || (s.boxShadow && s.boxShadow !== "none"); }"""
IN_FOOTER = "() => document.activeElement.closest('footer') !== null"
# the accessible name, as far as the markup gives it (4.1.2): aria-label(ledby), a label,
# the content, title or alt
NAME = """() => { const e = document.activeElement;
  const by = e.getAttribute("aria-labelledby");
  const parts = [e.getAttribute("aria-label") || "",
    by ? by.split(" ").map(i => (document.getElementById(i) || {}).textContent || "").join(" ")
       : "",
    e.labels ? [...e.labels].map(l => l.textContent).join(" ") : "",
    e.tagName === "INPUT" ? (e.value || "") : (e.textContent || ""),
    e.getAttribute("title") || "", e.getAttribute("alt") || ""];
  return parts.join(" ").trim(); }"""


def focused(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(FOCUSED)
    return found


def tab_to(page: Any, test: Any, most: int = 150) -> dict[str, Any]:
    """Tab until the focused element passes ``test``; fails if it never does, if focus fell
    to <body> on the way (lost), or if the element reached shows no focus indicator."""
    seen = []
    for _ in range(most):
        page.keyboard.press("Tab")
        now = focused(page)
        # past the page's last stop (the footer) Tab leaves for the browser and comes back
        # at the top: <body> there is the wrap, anywhere else focus was lost
        assert now["tag"] != "body" or not seen or seen[-1].startswith("footer"), \
            f"focus was lost (fell to <body>) after {seen[-3:]} on {page.url}"
        if test(now):
            assert page.evaluate(INDICATOR), f"no visible focus indicator on {now} ({page.url})"
            return now
        seen.append(("footer " if page.evaluate(IN_FOOTER) else "")
                    + f"{now['tag']}#{now['id']} {now['href']} {now['text'][:20]}")
    raise AssertionError(f"Tab never reached the element; went through: {seen}")


def sign_in(page: Any, base: str, name: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.focus("#f-username")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, page.inner_text("main")


def follow(page: Any) -> None:
    """Enter on the focused link or button, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()


def view_recording(page: Any, base: str) -> None:
    record_now(base)  # today's /cameras has a recording though midnight passed since the build
    sign_in(page, base, "ogladajacy")
    tab_to(page, lambda f: f["href"] == "/cameras")
    follow(page)
    assert page.url.endswith("/cameras"), page.url
    # the timeline's text alternative opens by keyboard and passes axe, also at 320 px
    tab_to(page, lambda f: f["tag"] == "summary" and "tabeli" in f["text"])
    page.keyboard.press("Enter")
    table = page.locator("details.tl-table[open] table").first
    assert table.locator("caption").count() == 1
    kinds = table.locator("tbody td:nth-child(3)").all_inner_texts()
    assert "nagranie" in kinds, kinds
    for viewport in (WIDE, NARROW):
        page.set_viewport_size(viewport)
        assert page.evaluate(AXE_RUN) == [], viewport
    scroll, inner = page.evaluate(REFLOW)
    assert scroll <= inner, (scroll, inner)
    page.set_viewport_size(WIDE)
    tab_to(page, lambda f: f["href"].startswith("/media/start?action=playback")
           and "cam-hol" in f["href"])
    follow(page)
    assert "/media/start" in page.url, page.url
    tab_to(page, lambda f: f["id"] == "f-purpose")
    page.keyboard.type("sprawdzenie zgłoszenia o uszkodzeniu samochodu")
    tab_to(page, lambda f: f["id"] == "f-case_ref", 5)
    page.keyboard.type("OR.1234.5.2026")
    tab_to(page, lambda f: f["id"] == "f-witness", 5)
    page.keyboard.press("ArrowDown")  # the first person on the list
    assert page.evaluate("() => document.activeElement.value"), "no witness chosen"
    tab_to(page, lambda f: f["tag"] == "button" and f["inMain"], 5)
    follow(page)
    assert "/view/" in page.url, (page.url, page.inner_text("main")[:500])

    page.focus("#content")
    stops = []
    problems = []
    for _ in range(30):
        page.keyboard.press("Tab")
        now = focused(page)
        if not now["inMain"]:
            break
        stops.append(now)
        label = f"{now['tag']}#{now['id']} {now['text'][:30]!r}"
        if not page.evaluate(INDICATOR):
            problems.append(f"{label}: no visible focus indicator")
        if not page.evaluate(NAME):
            problems.append(f"{label}: no accessible name")
    assert any(s["id"] == "player" for s in stops), \
        f"Tab never reaches the player's controls: {stops}"
    assert problems == [], "\n".join(problems)


def choose(page: Any, value: str, most: int = 30) -> None:
    """A focused <select> set to ``value`` by the arrow keys alone."""
    for _ in range(most):
        if page.evaluate("() => document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the arrows never reached option {value!r}")


def type_date(page: Any, day: date) -> None:
    """A date typed into a focused <input type=date> as a person does in a Polish browser
    (dd.mm.rrrr: the field moves on by itself after each part)."""
    page.keyboard.type(day.strftime("%d%m%Y"))
    assert page.evaluate("() => document.activeElement.value") == day.isoformat(), \
        page.evaluate("() => document.activeElement.value")


def yesterday_at_ten(base: str) -> tuple[date, datetime]:
    """Three segments of cam-hol from 10:00 yesterday (Warsaw): what the walk looks for."""
    vault, folder = a11y_site._SITES[base]
    tz = vault.policy.timezone
    day = datetime.now(tz).date() - timedelta(days=1)
    ten = datetime.combine(day, time(10, 0), tzinfo=tz).astimezone(UTC)
    record(vault, "cam-hol", ten, 3, folder / "yesterday")
    return day, ten


def view_yesterday_at_ten(page: Any, base: str) -> date:
    """The viewer, by keyboard: the cameras' timeline, the day before, its 10:00 hour, and
    cam-hol's recording from there played (issue 50's done-when)."""
    day, _ = yesterday_at_ten(base)
    sign_in(page, base, "ogladajacy")
    tab_to(page, lambda f: f["href"] == "/cameras")
    follow(page)
    tab_to(page, lambda f: f["id"] == "tl-prev")
    follow(page)
    assert f"day={day.isoformat()}" in page.url, page.url
    tab_to(page, lambda f: f["text"] == "10:00" and "zoom=hour" in f["href"])
    follow(page)
    assert "at=10:00" in page.url, page.url
    assert page.inner_text("#tl-window").endswith("10:00–11:00"), page.inner_text("#tl-window")
    tab_to(page, lambda f: "action=playback" in f["href"] and "cam-hol" in f["href"])
    assert f"from={day.isoformat()}T10:0" in focused(page)["href"], focused(page)["href"]
    follow(page)
    tab_to(page, lambda f: f["id"] == "f-purpose")
    page.keyboard.type("sprawdzenie zgłoszenia kradzieży roweru")
    tab_to(page, lambda f: f["id"] == "f-case_ref", 5)
    page.keyboard.type("OR.1234.7.2026")
    tab_to(page, lambda f: f["id"] == "f-witness", 5)
    page.keyboard.press("ArrowDown")
    tab_to(page, lambda f: f["tag"] == "button" and f["inMain"], 5)
    follow(page)
    assert "/view/" in page.url, (page.url, page.inner_text("main")[:500])
    page.focus("#content")
    tab_to(page, lambda f: f["id"] == "player", 30)
    return day


def register_police_request(page: Any, base: str, day: date) -> None:
    """The secretariat, by keyboard: the police's written request for cam-hol at 10:00 of
    ``day`` registered in the form of the requests page."""
    sign_in(page, base, "sekretariat")
    tab_to(page, lambda f: f["href"] == "/requests")
    follow(page)
    tab_to(page, lambda f: f["id"] == "f-kind")
    choose(page, "authority")
    tab_to(page, lambda f: f["id"] == "f-material", 5)
    choose(page, "video")
    tab_to(page, lambda f: f["id"] == "f-requester", 5)
    page.keyboard.type("Komenda Powiatowa Policji w Pleszewie, asp. Ewa Łęcka")
    tab_to(page, lambda f: f["id"] == "f-received_on", 5)
    type_date(page, datetime.now(UTC).astimezone(_tz(base)).date())
    tab_to(page, lambda f: f["id"] == "f-event_date", 5)
    type_date(page, day)
    tab_to(page, lambda f: f["id"] == "f-approx_time", 5)
    page.keyboard.type("10:00")
    tab_to(page, lambda f: f["id"] == "f-camera", 10)
    choose(page, "cam-hol")
    tab_to(page, lambda f: f["id"] == "f-description", 10)
    page.keyboard.type("kradzież roweru sprzed wejścia do urzędu")
    tab_to(page, lambda f: f["id"] == "f-purpose", 5)
    page.keyboard.type("postępowanie przygotowawcze w sprawie kradzieży")
    tab_to(page, lambda f: f["id"] == "f-case_ref", 5)
    page.keyboard.type("RSD-123/26")
    tab_to(page, lambda f: f["tag"] == "button" and "Zarejestruj" in f["text"], 10)
    follow(page)
    assert page.locator("main .error").count() == 0, page.inner_text("main")[:800]
    assert "kradzież roweru sprzed wejścia" in page.inner_text("main"), page.url


def _tz(base: str) -> Any:
    return a11y_site._SITES[base][0].policy.timezone


def newest_request(page: Any, base: str, user: str) -> None:
    """Signed in as ``user``, by Tab and Enter: the requests, then the newest one."""
    sign_in(page, base, user)
    tab_to(page, lambda f: f["href"] == "/requests")
    follow(page)
    tab_to(page, lambda f: f["href"].startswith("/requests/") and f["inMain"]
           and f["href"].rstrip("/").split("/")[-1].isdigit())
    follow(page)


def decide_request(page: Any, base: str) -> None:
    newest_request(page, base, "burmistrz")
    assert "RSD-123/26" in page.inner_text("main"), "not the request the walk registered"
    tab_to(page, lambda f: f["tag"] == "input"
           and page.evaluate("() => document.activeElement.name") == "agree")
    # Tab enters a radio group on its first button; the arrows move within it
    if page.evaluate("() => document.activeElement.value") != "yes":
        page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    assert page.evaluate("() => document.activeElement.checked"), "the radio is not checked"
    tab_to(page, lambda f: f["tag"] == "button" and "decyzj" in f["text"].lower(), 20)
    follow(page)
    assert page.locator("main .error").count() == 0, page.inner_text("main")[:800]
    assert "/requests/" in page.url, page.url
    assert page.locator("form[action$='/decide']").count() == 0, "the decision was not taken"


def copy_and_hand_over(page: Any, base: str, tmp: Path) -> None:
    """The custodian, by keyboard: the decided request, its copy made, handed over to the
    police, and the handover protocol downloaded."""
    newest_request(page, base, "sekretariat")
    request_page = page.url
    tab_to(page, lambda f: f["tag"] == "button" and "Sporządź kopię" in f["text"])
    follow(page)
    if "/jobs/" in page.url:  # a slow machine: the copy's progress page, then its link on
        page.get_by_role("link", name="Przejdź do wniosku i kopii").click(timeout=120_000)
        page.wait_for_url(request_page + "*")
    assert page.url.startswith(request_page), (page.url, page.inner_text("main")[:500])
    assert page.locator("main .error").count() == 0, page.inner_text("main .error")
    tab_to(page, lambda f: f["id"] == "f-receiver")
    page.keyboard.type("asp. Ewa Łęcka, Komenda Powiatowa Policji w Pleszewie")
    tab_to(page, lambda f: f["id"] == "f-medium", 5)
    page.keyboard.type("pendrive nr 3")
    tab_to(page, lambda f: f["tag"] == "button" and "przekazanie" in f["text"].lower(), 5)
    follow(page)
    assert page.locator("main .error").count() == 0, page.inner_text("main")[:800]
    tab_to(page, lambda f: f["href"].endswith("/protocol.pdf"))
    # the protocol opens in the browser (inline, to print) or downloads, as the browser does
    with page.expect_response(lambda r: r.url.endswith("/protocol.pdf")) as got:
        page.keyboard.press("Enter")
    response = got.value
    assert response.status == 200, response.status
    # The file is served inline: Chromium's viewer navigates to it, and that navigation may
    # commit after the response has arrived; waited for, or the next page's goto is cut by it
    # (a loaded fresh clone's run: "interrupted by another navigation to .../protocol.pdf").
    page.wait_for_url(lambda url: url.endswith("/protocol.pdf"), wait_until="commit")
    # Chromium's PDF viewer stands between the page and the file: the file itself, fetched
    # again with the same session, is what was opened
    saved = tmp / "protokol-przekazania.pdf"
    again = page.context.request.get(response.url)
    assert again.headers["content-type"].startswith("application/pdf"), again.headers
    saved.write_bytes(again.body())
    assert saved.read_bytes().startswith(b"%PDF"), saved.read_bytes()[:100]
    assert b"<pdfuaid:part>1</pdfuaid:part>" in saved.read_bytes()


def search_calls(page: Any, base: str) -> None:
    """The calls search answers through htmx into #results: focus stays on the form, never
    dropped to <body> by the swap, and the answer lands in a live region."""
    sign_in(page, base, "iod")
    page.goto(f"{base}/media/start?action=calls&source=centrala"
              "&from=2000-01-01T00:00&to=2100-01-01T00:00")
    tab_to(page, lambda f: f["id"] == "f-purpose")
    page.keyboard.type("sprawdzenie skargi na obsługę")
    tab_to(page, lambda f: f["id"] == "f-case_ref", 5)
    page.keyboard.type("OR.1234.6.2026")
    tab_to(page, lambda f: f["tag"] == "button" and f["inMain"], 5)
    follow(page)
    assert "/calls" in page.url, (page.url, page.inner_text("main .error, main .refusal"))
    assert page.get_attribute("#results", "aria-live") == "polite"
    page.focus("#f-number")
    page.keyboard.type("600")
    with page.expect_response(lambda r: "/calls" in r.url
                              and r.request.headers.get("hx-request") == "true"):
        page.keyboard.press("Enter")
    page.wait_for_timeout(300)  # the swap and htmx's settle step
    assert focused(page)["tag"] != "body", "focus fell to <body> after the htmx swap"
    assert "/calls" in page.url and "/login" not in page.url, page.url


def test_viewing_and_deciding_by_keyboard_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.chdir(tmp_path)

    def with_calls(vault: Any, holder: str, actions: list[str], **kw: Any) -> int:
        # the IOD also reviews the calls list here: the one page whose search answers by htmx
        extra = ["calls"] if holder == "iod" else []
        return authorise(vault, holder, [*actions, *extra], **kw)
    monkeypatch.setattr(a11y_site, "authorise", with_calls)
    with office(tmp_path) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        context = new_context(browser)
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text)
                if "CSP violation" in msg.text else None)
        view_recording(page, base)
        day = view_yesterday_at_ten(page, base)
        register_police_request(page, base, day)
        decide_request(page, base)
        copy_and_hand_over(page, base, tmp_path)
        search_calls(page, base)
        context.close()
        browser.close()
    assert violations == [], violations
