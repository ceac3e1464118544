"""In a real browser (Debian's chromium through Playwright), with the vault opened from a
RELATIVE data folder (as `make demo` does): log in, place a hold, decide a request, play a
recording after stating the purpose (the video really advances), and take screenshots of the
main pages into docs/screenshots/. Then the secretariat's custody paperwork (issue 12 item 3):
a request with a period, the head's decision, the copy, its handover with the protocol and the
receipt downloaded as PDFs, and the destruction by two commission members before the copy's
time, with the reason the destruction protocol states."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from tests.custody.custody_helpers import record
from web_helpers import (
    PASSWORD,
    Material,
    Monitoring,
    authorise,
    both_vault,
    make_material,
    make_monitoring,
)

from kustosz.access import accounts, employees
from kustosz.access.users import add_user
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy, User
from kustosz.db.models import Hold
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FloatRect, Page

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=pl-PL"]
# Chromium on Linux takes its interface language, and with it how a date field shows its
# value, from LANGUAGE (its --lang only on Windows); with Debian's chromium-l10n the fields read
# 25.11.2026, 05:30 as an office's browser shows them, not the US 11/25/2026, 05:30 AM.
BROWSER_ENV = {**os.environ, "LANGUAGE": "pl"}
# The suite must not rewrite tracked files: screenshots go to a temporary folder unless
# KUSTOSZ_SCREENSHOTS names one (`KUSTOSZ_SCREENSHOTS=docs/screenshots` refreshes the README's).
SHOTS_ENV = os.environ.get("KUSTOSZ_SCREENSHOTS")
# Resolved now: the tests change into their own folder (a relative data folder, as `make demo`).
SHOTS_DIR = Path(SHOTS_ENV).resolve() if SHOTS_ENV else None

pytestmark = pytest.mark.slow

# Runs before each page's own scripts (CDP, outside the page's CSP) and reports every CSP
# violation on the console, where the test collects it with Chromium's own CSP messages.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + e.blockedURI +
                " " + (e.sample || ""));
});
"""


def _boxes(page: Page, selector: str) -> list[FloatRect]:
    boxes = []
    for item in page.locator(selector).all():
        box = item.bounding_box()
        assert box is not None, f"{selector} is not rendered"
        boxes.append(box)
    return boxes


def _assert_timeline_drawn(page: Page, timeline: str, gaps: bool = False) -> None:
    """Every recording (and gap) segment has a rendered width and lies inside its timeline:
    positions and widths really reached the page under its CSP."""
    (bar,) = _boxes(page, f"{timeline} >> nth=0")
    kinds = (".rec", ".gap") if gaps else (".rec",)
    for kind in kinds:
        segments = _boxes(page, f"{timeline} >> nth=0 >> {kind}")
        assert segments, f"no {kind} segment on {page.url}"
        for box in segments:
            assert box["width"] > 0, (kind, box)
            assert bar["x"] - 1 <= box["x"], (kind, box, bar)
            assert box["x"] + box["width"] <= bar["x"] + bar["width"] + 1, (kind, box, bar)
    if gaps:  # each gap is placed where nothing was recorded, not piled up at the left edge
        recs = _boxes(page, f"{timeline} >> nth=0 >> .rec")
        for gap in _boxes(page, f"{timeline} >> nth=0 >> .gap"):
            for rec in recs:  # 3 px: the 0.2 % minimum width of a very short segment
                overlap = (min(gap["x"] + gap["width"], rec["x"] + rec["width"])
                           - max(gap["x"], rec["x"]))
                assert overlap < 3, (gap, rec)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[tuple[str, Material, Monitoring]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    monkeypatch.chdir(tmp_path)
    vault = both_vault(Path("vault"))  # relative, as `kustosz serve --data demo-data`
    assert vault.root == tmp_path / "vault"
    m = make_material(vault, Path("material"))
    mon = make_monitoring(vault)
    now = datetime.now(UTC)
    tz = vault.policy.timezone
    with vault.transaction() as s:
        boss = s.execute(select(User).where(User.name == "burmistrz")).scalar_one()
        boss.roles = sorted({*boss.roles, "dpo"})
        accounts.set_password(s, boss, PASSWORD, "test")
        for name in ("informatyk", "komisja1", "komisja2"):  # secretariat and commission
            accounts.set_password(s, s.execute(select(User).where(User.name == name))
                                  .scalar_one(), PASSWORD, "test")
        add_user(s, "iod", "Iwona Dąbrowska", ["dpo"], "test", title="Inspektor Ochrony Danych")
        register_request(s, vault.policy, RequestSpec(
            kind="interested", material="video", requester="Marek Zieliński (kierowca)",
            received_on=now.astimezone(tz).date(), event_date=now.astimezone(tz).date(),
            purpose="uszkodzenie samochodu na parkingu", description="otarcie drzwi",
            cameras=["cam-hol"], start=now - timedelta(hours=2, minutes=1),
            end=now - timedelta(hours=1, minutes=59)), "test")
    with vault.transaction() as s:  # for the printable declaration (003 annex 2)
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\n"
                             "Jan Kowalski;referent;Wydział Finansowy;2026-01-05;E-1\n", "test")
    authorise(vault, "burmistrz", ["playback", "listening", "calls"],
              sources=["cam-hol", "centrala"], by="zastepca")
    authorise(vault, "iod", ["playback", "listening"], kinds=["camera", "phone"],
              by="burmistrz")
    authorise(vault, "burmistrz", ["mail", "events"], sources=["dziennik", "siem"],
              by="zastepca")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/"), m, mon
    finally:
        web.stop()
        vault.close()


def test_in_a_real_browser(site: tuple[str, Material, Monitoring], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, m, mon = site
    SHOTS = SHOTS_DIR or tmp_path / "screenshots"
    SHOTS.mkdir(parents=True, exist_ok=True)
    tz = m.vault.policy.timezone
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS,
                                    env=BROWSER_ENV)
        # The app's CSP stays in force (no bypass_csp): an office's browser enforces it, and a
        # test that switched it off drew timelines that real users saw blank. The probes below
        # are arrow functions: Playwright calls those, a bare expression it would eval (refused).
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="pl-PL")
        page.set_default_timeout(15000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        violations: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text or "CSP violation" in msg.text
                else None)
        page.goto(f"{base}/")
        assert "/login" in page.url
        page.screenshot(path=str(SHOTS / "01-logowanie.png"))
        page.fill("#f-username", "burmistrz")
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert "Pulpit" in page.content()
        page.screenshot(path=str(SHOTS / "02-pulpit.png"), full_page=True)

        # place a hold
        page.goto(f"{base}/holds")
        page.check("input[name=sources][value=cam-inne]")
        start = (datetime.now(tz) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        end = (datetime.now(tz) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        page.fill("#f-from", start)
        page.fill("#f-to", end)
        page.fill("#f-basis", "Pismo Komendy Powiatowej Policji z dnia dzisiejszego")
        page.fill("#f-case_ref", "RSD-77/26")
        page.click("text=Zabezpiecz nagranie >> nth=-1")
        page.wait_for_selector(".flash")
        with m.vault.reading() as s:
            assert s.execute(select(Hold).where(Hold.case_ref == "RSD-77/26")).first()
        page.screenshot(path=str(SHOTS / "03-zabezpieczenia.png"), full_page=True)

        # decide the waiting request
        page.goto(f"{base}/requests")
        page.screenshot(path=str(SHOTS / "04-wnioski.png"), full_page=True)
        page.click("td.status-registered >> xpath=.. >> a")
        page.check("input[name=agree][value=yes]")
        page.click("text=Zapisz decyzję")
        page.wait_for_selector(".flash")
        assert "wyrażam zgodę" in page.content()
        page.screenshot(path=str(SHOTS / "05-wniosek-decyzja.png"), full_page=True)

        page.goto(f"{base}/cameras?day={m.old[0].start_at.astimezone(tz).date().isoformat()}")
        _assert_timeline_drawn(page, ".timeline[title='cam-hol']")
        hours = [b["x"] for b in _boxes(page, ".hours span")]
        assert len(hours) == 9 and hours == sorted(set(hours)), hours  # 00:00 … 24:00 spread
        page.screenshot(path=str(SHOTS / "06-kamery-os-czasu.png"), full_page=True)

        # playback after stating the purpose
        fmt = "%Y-%m-%dT%H:%M:%S"
        page.goto(f"{base}/media/start?action=playback&source=cam-hol"
                  f"&from={m.window[0].astimezone(tz).strftime(fmt)}"
                  f"&to={m.window[1].astimezone(tz).strftime(fmt)}")
        page.click("button[type=submit]")  # nothing stated: the browser asks for each field
        assert page.locator("#f-purpose:invalid").count() == 1
        assert page.locator("#f-witness:invalid").count() == 1 and "/media/start" in page.url
        page.fill("#f-purpose", "wyjaśnienie zdarzenia na parkingu")
        page.fill("#f-case_ref", "OR.1431.5.2026")
        page.select_option("#f-witness", "user:zastepca")
        page.screenshot(path=str(SHOTS / "07-cel-dostepu.png"), full_page=True)
        page.click("button[type=submit]")
        page.wait_for_url("**/view/**")
        page.evaluate("document.getElementById('player').play()")
        page.wait_for_function("() => document.getElementById('player').currentTime > 1.0",
                               timeout=20000)
        page.wait_for_function(
            "() => document.getElementById('walltime').textContent.trim() !== '—'", timeout=10000)
        _assert_timeline_drawn(page, ".timeline.big", gaps=True)
        page.screenshot(path=str(SHOTS / "08-odtwarzanie.png"), full_page=True)

        page.goto(f"{base}/access-log")
        assert "wyjaśnienie zdarzenia na parkingu" in page.content()
        page.screenshot(path=str(SHOTS / "09-rejestr-dostepu.png"), full_page=True)
        page.goto(f"{base}/authorisations")
        page.screenshot(path=str(SHOTS / "10-upowaznienia.png"), full_page=True)
        page.goto(f"{base}/copies")
        page.screenshot(path=str(SHOTS / "11-kopie.png"), full_page=True)
        # the call register: the line, then the period and the case, then its calls
        page.goto(f"{base}/calls")
        page.click("a.button:has-text('Przeglądaj wykaz')")
        day = m.call.start_at.astimezone(tz)
        page.fill("#f-from", (day - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-to", (day + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-purpose", "skarga na obsługę interesanta")
        page.fill("#f-case_ref", "SKO.152.3.2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/media/*/calls")
        assert "600100200" in page.inner_text("#results")
        page.screenshot(path=str(SHOTS / "12-rozmowy.png"), full_page=True)
        page.click("a.button:has-text('Odsłuch')")
        page.fill("#f-purpose", "skarga na obsługę interesanta")
        page.fill("#f-case_ref", "SKO.152.3.2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/view/**")
        page.wait_for_function("() => document.getElementById('audio').duration > 0", timeout=10000)
        page.fill("#f-breach", "Groźby wobec pracownika Biura Obsługi Interesanta")
        page.fill("#f-actions", "Zawiadomienie Policji")
        page.screenshot(path=str(SHOTS / "13-odsluch-protokol.png"), full_page=True)
        page.click("text=Zapisz i drukuj protokół")
        page.wait_for_selector(".flash")
        assert "Drukuj (PDF)" in page.content()

        # mail metadata: the period and the case first, then searches swapped in by htmx
        page.goto(f"{base}/mail")
        page.click("a.button:has-text('Przeglądaj')")
        page.fill("#f-from", mon.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-to", mon.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-purpose", "podejrzenie wysłania danych osobowych poza urząd")
        page.fill("#f-case_ref", "BI.0123.4.2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/media/*/mail")
        assert "Sprawy rodzinne" in page.content() and "Zamówienie" in page.content()
        page.fill("#f-person", "kowalska")
        page.click("button:has-text('Szukaj')")
        page.wait_for_function(
            "() => !document.getElementById('results').textContent.includes('Sprawy rodzinne')")
        assert "Zamówienie nr 17/2026" in page.inner_text("#results")
        page.screenshot(path=str(SHOTS / "14-poczta.png"), full_page=True)
        page.goto(f"{base}/media/start?action=events&source=siem"
                  f"&from={mon.window[0].astimezone(tz).strftime(fmt)}"
                  f"&to={mon.window[1].astimezone(tz).strftime(fmt)}")
        page.fill("#f-purpose", "incydent: nośnik USB w kadrach")
        page.fill("#f-case_ref", "BI.0123.5.2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/media/*/events")
        page.select_option("#f-category", "device_security")
        page.click("button:has-text('Szukaj')")
        page.wait_for_function(
            "() => !document.getElementById('results').textContent.includes('pc-ksiegowosc-02')")
        assert "Kingston" in page.inner_text("#results")
        page.screenshot(path=str(SHOTS / "15-zdarzenia.png"), full_page=True)
        page.goto(f"{base}/employees")
        # the declaration is a PDF like every other document (issue 12), not a printed page
        href = page.get_attribute("a[href$='/declaration'] >> nth=0", "href")
        pdf = page.request.get(base + href)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")

        _secretariat(browser, page, base, m, SHOTS, tmp_path, errors)
        # CSP reports reach the console a moment after the page is parsed: let the last
        # page's arrive before the browser closes
        page.wait_for_timeout(500)
        browser.close()
    assert errors == []
    assert violations == []


RECEIVER = "asp. Ewa Łęcka, KPP Pleszew"
EARLY = "Policja cofnęła wniosek; postępowanie umorzone"


def _person(browser: Browser, base: str, name: str, errors: list[str]) -> Page:
    """Another person at another computer: a fresh browser context, signed in by the form."""
    page = browser.new_context(viewport={"width": 1280, "height": 860},
                               locale="pl-PL").new_page()
    page.set_default_timeout(15000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#f-username", name)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _pdf(page: Page, base: str, href: str | None, tmp: Path) -> str:
    """Download a linked PDF as the browser does and read it back with pdftotext."""
    assert href, "no link"
    r = page.request.get(base + href)
    assert r.status == 200 and r.headers["content-type"] == "application/pdf", (href, r.status)
    body = r.body()
    assert body.startswith(b"%PDF-")
    path = tmp / "downloaded.pdf"
    path.write_bytes(body)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", text)


def _secretariat(browser: Browser, head: Page, base: str, m: Material, shots: Path,
                 tmp: Path, errors: list[str]) -> None:
    """The secretariat's walk: request with a period → decision → copy → handover with its
    protocol and receipt → destruction before time by two commission members → protocol."""
    tz = m.vault.policy.timezone
    desk = _person(browser, base, "informatyk", errors)  # the secretariat's custodian
    desk.goto(f"{base}/requests")
    assert desk.locator("#f-requester[required]").count() == 1
    assert "pole wymagane" in desk.inner_text("form[action='/requests']")
    # a recording of three minutes ago, which no other hold keeps: it can be destroyed with
    # its copy (a copy covers only the past, issue 29 item 1: the period asked for, to the
    # minute after it, is over before the copy is ordered)
    seen = datetime.now(UTC).replace(second=10, microsecond=0) - timedelta(minutes=3)
    [rec] = record(m.vault, "cam-hol", seen, 1, tmp / "walk")
    start, end = rec.start_at.astimezone(tz), rec.end_at.astimezone(tz)
    desk.select_option("#f-kind", "authority")
    desk.select_option("#f-material", "video")
    desk.fill("#f-requester", "Komenda Powiatowa Policji w Pleszewie")
    desk.fill("#f-received_on", datetime.now(tz).date().isoformat())
    desk.fill("#f-event_date", start.date().isoformat())
    desk.fill("#f-period_from", (start - timedelta(minutes=1)).strftime("%H:%M"))
    desk.fill("#f-period_to", (end + timedelta(minutes=1)).strftime("%H:%M"))
    desk.select_option("#f-camera", "cam-hol")
    desk.fill("#f-description", "kradzież roweru sprzed wejścia do ratusza")
    desk.fill("#f-purpose", "postępowanie przygotowawcze w sprawie kradzieży")
    desk.fill("#f-case_ref", "RSD-101/26")
    desk.click("form[action='/requests'] button")
    desk.wait_for_url(re.compile(r".*/requests/\d+\?"))
    rid = int(re.search(r"/requests/(\d+)", desk.url).group(1))  # type: ignore[union-attr]
    assert "Wniosek nr" in desk.content()

    head.goto(f"{base}/requests/{rid}")  # the head of the office decides, from his account
    head.check("input[name=agree][value=yes]")
    head.click("text=Zapisz decyzję")
    head.wait_for_selector(".flash")

    desk.goto(f"{base}/requests/{rid}")
    desk.click("text=Sporządź kopię")
    desk.wait_for_selector(".flash")
    with m.vault.reading() as s:
        number = s.execute(select(Copy.number).where(Copy.request_id == rid)).scalar_one()
    assert f"Sporządzono kopię nr {number}" in desk.inner_text(".flash")
    desk.fill("#f-receiver", RECEIVER)
    desk.fill("#f-medium", "pendrive, ZIP szyfrowany")
    desk.click("text=Zapisz przekazanie")
    desk.wait_for_url(re.compile(r".*handed=\d+"))
    assert "Wydrukuj protokół przekazania" in desk.inner_text(".flash")
    desk.screenshot(path=str(shots / "16-wniosek-dokumenty.png"), full_page=True)
    protocol = _pdf(desk, base, desk.get_attribute(".notice a[href$='/protocol.pdf']", "href"),
                    tmp)
    assert protocol.count("Protokół przekazania") == 2 and "Egzemplarz nr 2 z 2" in protocol
    assert number in protocol and RECEIVER in protocol
    receipt = _pdf(desk, base, desk.get_attribute(".notice a[href$='/receipt.pdf']", "href"),
                   tmp)
    assert "Pokwitowanie" in receipt and number in receipt and RECEIVER in receipt
    desk.context.close()

    # the commission destroys the copy before its keep-until date: the reason is asked for
    row = f"form.destroy:has(input[name=number][value='{number}'])"
    for member, button in (("komisja1", "Pierwsze potwierdzenie"),
                           ("komisja2", "Drugie potwierdzenie")):
        k = _person(browser, base, member, errors)
        k.goto(f"{base}/copies")
        k.fill(f"{row} input[name=confirm]", number)
        if member == "komisja1":
            reason = k.locator(f"{row} textarea[name=reason]")
            assert reason.get_attribute("required") is not None
            assert "przed upływem okresu przechowywania" in k.inner_text(row)
            reason.fill(EARLY)
            k.screenshot(path=str(shots / "17-kopie-zniszczenie.png"), full_page=True)
        k.click(f"{row} button:has-text('{button}')")
        k.wait_for_selector(".flash")
        if member == "komisja2":
            assert f"Kopia nr {number} zniszczona" in k.inner_text(".flash")
            text = _pdf(k, base, k.get_attribute(
                f"a[href='/copies/{number}/destruction.pdf']", "href"), tmp)
            assert "Protokół zniszczenia" in text and number in text
            assert "Zniszczenie przed terminem" in text and EARLY in text
            k.goto(f"{base}/requests/{rid}")
            assert k.locator(f"a[href='/copies/{number}/destruction.pdf']").count() == 1
        k.context.close()
