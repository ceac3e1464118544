"""The clerk's day in a real browser (issue 29 items 5–12; Debian's chromium through
Playwright, the app's CSP in force): "Odtwórz" on a camera with one short clip plays it; a
wrong number in the call search — and a wrong period in the mail and event searches — is said
where the results were, and a refusal after the viewing ended shows its own words there, not a
second page inside the first; a police period across midnight; the copies page with the real
state of each copy and both dates of a period across midnight; people in Polish order by
surname; the registers as Polish Excel opens them; the data protection officer reading a
masked copy's review page without being offered the review. Each page is saved as a screenshot
(KUSTOSZ_SCREENSHOTS names the folder; otherwise a temporary one)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR
from tests.custody.custody_helpers import record, setup_camera
from web_helpers import (
    PASSWORD,
    Material,
    Monitoring,
    authorise,
    both_vault,
    make_material,
    make_monitoring,
    request_of,
    user,
)

from kustosz.access import accounts, employees
from kustosz.collation import person_key
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import User
from kustosz.vault import Vault
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

NAMES = ["Marek Mazur", "Łucja Gęślicka", "Jan Lis", "Ewa Łęcka", "Anna Nowak-Kowalska",
         "Anna Nowakowska", "Piotr Ślusarczyk", "Adam Sowa", "Ewa Źrebiec", "Zofia Zięba",
         "Grażyna Żak", "Celina Ćwik", "Barbara Cichy"]


@dataclass
class Site:
    url: str
    vault: Vault
    m: Material
    mon: Monitoring
    clip: datetime  # the short camera's one clip
    night: str  # a copy whose material runs across midnight
    gone: str  # a destroyed copy
    review: str  # /review/… of a masked copy awaiting review
    night_at: datetime  # the midnight the night copy runs across
    built_on: date  # the office's day the copies were handed over and destroyed on


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy(vault: Vault, start: datetime, seconds: int, tmp: Path) -> str:
    record(vault, "cam-hol", start, seconds // 2, tmp)
    tz = vault.policy.timezone
    now = datetime.now(UTC)
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="Prokuratura Rejonowa w Pleszewie",
            received_on=now.astimezone(tz).date(), event_date=start.astimezone(tz).date(),
            purpose="postępowanie", description="zdarzenie o północy", cameras=["cam-hol"],
            start=start, end=start + timedelta(seconds=seconds), margin_minutes=0),
            "test").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=now.astimezone(tz).date(),
               actor="test", keyed_by="burmistrz")
    return make_copy(vault, rid, by="informatyk", actor="test").number


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("issue29")
    vault = both_vault(tmp / "vault")
    m = make_material(vault, tmp / "material")
    mon = make_monitoring(vault)
    tz = vault.policy.timezone
    # One short clip (2 s, inside one minute) on a camera of its own.
    setup_camera(vault, "cam-krotka")
    clip = (datetime.now(UTC) - timedelta(hours=3)).replace(second=10, microsecond=0)
    record(vault, "cam-krotka", clip, 1, tmp / "short")
    # Yesterday's midnight: the copy of the period across today's would be refused in the
    # first half-minute of the day (its material cannot be complete yet).
    midnight = datetime.combine(datetime.now(tz).date() - timedelta(days=1), time(0), tzinfo=tz)
    night = _copy(vault, midnight - timedelta(seconds=2), 4, tmp / "night")
    gone = _copy(vault, midnight - timedelta(hours=5), 2, tmp / "gone")
    confirm(vault, gone, "komisja1", "test", reason="wniosek cofnięty")
    confirm(vault, gone, "komisja2", "test")
    hand_over(vault, m.copy_number, receiver="asp. Ewa Łęcka, KPP Pleszew", by="informatyk",
              actor="test")
    built_on = datetime.now(tz).date()
    user(vault, "iod", ["dpo"], display="Iwona Dąbrowska")
    user(vault, "kustosz2", ["custodian"], display="Maria Wrona")
    authorise(vault, "kustosz2", ["export"], kinds=["camera"])
    base = (datetime.now(UTC) - timedelta(hours=4)).replace(microsecond=0)
    record(vault, "cam-hol", base, 2, tmp / "subject")
    masked = make_copy(vault, request_of(vault, base, ["cam-hol"], 4), "informatyk", "test")
    assert masked.review_state == "awaiting"
    with vault.transaction() as s:
        for name in ("burmistrz", "informatyk"):
            accounts.set_password(s, s.execute(select(User).where(User.name == name))
                                  .scalar_one(), PASSWORD, "test")
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\n" + "".join(
            f"{n};referent;Wydział Organizacyjny;2026-01-05;E-{i}\n"
            for i, n in enumerate(NAMES)), "test")
    authorise(vault, "burmistrz", ["playback", "listening", "calls"],
              sources=["cam-hol", "cam-krotka", "centrala"], by="zastepca")
    authorise(vault, "burmistrz", ["mail", "events"], sources=["dziennik", "siem"],
              by="zastepca")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield Site(web.url.rstrip("/"), vault, m, mon, clip, night, gone,
                   f"/review/{masked.year}/{masked.seq}", midnight, built_on)
    finally:
        web.stop()
        vault.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = SHOTS_DIR or tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Browsing:
    """A browser whose pages report script errors and CSP violations into ``problems``."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.problems: list[str] = []

    def signed_in(self, name: str, password: str = PASSWORD) -> Page:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900},
                                           locale="pl-PL", accept_downloads=True)
        context.add_init_script(REPORT_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.on("pageerror", lambda e: self.problems.append(str(e)))
        page.on("console", lambda msg: self.problems.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text or "CSP violation" in msg.text
                else None)
        page.goto(f"{self.url}/login")
        page.fill("#f-username", name)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/")
        return page


@pytest.fixture
def browsing(site: Site) -> Iterator[Browsing]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        b = Browsing(browser, site.url)
        yield b
        browser.close()
    assert b.problems == []


def test_play_a_camera_with_one_short_clip(site: Site, browsing: Browsing,
                                           shots: Path) -> None:
    """Item 5: the cameras page's "Odtwórz" gives a period the start form takes, and the
    clip plays."""
    tz = site.vault.policy.timezone
    page = browsing.signed_in("burmistrz")
    page.goto(f"{site.url}/cameras?day={site.clip.astimezone(tz).date().isoformat()}")
    row = page.locator(".timeline-row", has=page.locator(".tl-name", has_text="cam-krotka"))
    page.screenshot(path=str(shots / "29-05-kamery.png"), full_page=True)
    row.locator("a.button", has_text="Odtwórz").click()
    page.wait_for_url("**/media/start?**")
    start, end = page.input_value("#f-from"), page.input_value("#f-to")
    assert start == site.clip.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    assert end == (site.clip + timedelta(minutes=1)).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    page.fill("#f-purpose", "wyjaśnienie zdarzenia w holu")
    page.fill("#f-case_ref", "OR.1431.9.2026")
    page.select_option("#f-witness", "user:zastepca")
    page.click("button[type=submit]")
    page.wait_for_url("**/view/**")
    page.evaluate("() => document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.5",
                           timeout=20000)
    page.screenshot(path=str(shots / "29-05-odtworzenie.png"), full_page=True)


def _search(page: Page) -> None:
    page.click("button:has-text('Szukaj')")
    page.wait_for_selector("#results .error[role=alert]")


def test_every_htmx_search_shows_its_refusal(site: Site, browsing: Browsing,
                                             shots: Path) -> None:
    """Item 6: the server's 422 replaces the old results with its words; after the viewing
    ended, the refusal (403, a whole page) shows its own text in the results, not the menu."""
    tz = site.vault.policy.timezone
    page = browsing.signed_in("burmistrz")
    page.goto(f"{site.url}/calls")
    page.click("a.button:has-text('Przeglądaj wykaz')")
    day = site.m.call.start_at.astimezone(tz)
    page.fill("#f-from", (day - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-to", (day + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-purpose", "skarga na obsługę interesanta")
    page.fill("#f-case_ref", "SKO.152.3.2026")
    page.click("button[type=submit]")
    page.wait_for_url("**/media/*/calls")
    assert "600100200" in page.inner_text("#results")
    page.fill("#f-number", "anonymous")  # no number: any writing is searched
    _search(page)
    results = page.inner_text("#results")
    assert "Nieprawidłowy numer telefonu." in results and "600100200" not in results
    page.screenshot(path=str(shots / "29-06-rozmowy-zly-numer.png"), full_page=True)
    # the same search again with a right number brings the results back
    page.fill("#f-number", "600100200")
    page.click("button:has-text('Szukaj')")
    page.wait_for_function("() => document.getElementById('results')"
                           ".textContent.includes('600100200')")
    # the viewing ended (another tab): the next search is refused — its words, no second menu
    other = page.context.new_page()
    other.goto(page.url)
    other.click("button:has-text('Zakończ przegląd')")
    other.wait_for_load_state()
    other.close()
    page.click("button:has-text('Szukaj')")
    page.wait_for_function("() => document.getElementById('results')"
                           ".textContent.includes('Odmowa dostępu')")
    assert page.locator("#results nav, #results header, #results footer").count() == 0
    assert "600100200" not in page.inner_text("#results")
    page.screenshot(path=str(shots / "29-06-rozmowy-po-zakonczeniu.png"), full_page=True)

    fmt = "%Y-%m-%dT%H:%M"
    a, b = (t.astimezone(tz) for t in site.mon.window)
    for kind, source, shot in (("mail", "dziennik", "29-06-poczta-zly-okres.png"),
                               ("events", "siem", "29-06-zdarzenia-zly-okres.png")):
        page.goto(f"{site.url}/media/start?action={kind}&source={source}"
                  f"&from={a.strftime(fmt)}&to={b.strftime(fmt)}")
        page.fill("#f-purpose", "podejrzenie wysłania danych osobowych poza urząd")
        page.fill("#f-case_ref", "BI.0123.4.2026")
        page.click("button[type=submit]")
        page.wait_for_url(f"**/media/*/{kind}")
        before = page.inner_text("#results")
        assert "Nie znaleziono" not in before
        page.fill("#f-from", (b - timedelta(minutes=10)).strftime(fmt))
        page.fill("#f-to", (a + timedelta(minutes=10)).strftime(fmt))
        _search(page)
        assert page.inner_text("#results").strip() == "Koniec okresu jest przed jego początkiem."
        page.screenshot(path=str(shots / shot), full_page=True)


def test_a_police_period_across_midnight(site: Site, browsing: Browsing, shots: Path) -> None:
    """Item 7: 23:50–00:20 on the event day is registered, and read back with both days."""
    tz = site.vault.policy.timezone
    desk = browsing.signed_in("informatyk")
    desk.goto(f"{site.url}/requests")
    today = datetime.now(tz).date()
    day = today - timedelta(days=1)
    desk.select_option("#f-kind", "authority")
    desk.select_option("#f-material", "video")
    desk.fill("#f-requester", "Komenda Powiatowa Policji w Pleszewie")
    desk.fill("#f-received_on", today.isoformat())
    desk.fill("#f-event_date", day.isoformat())
    desk.fill("#f-period_from", "23:50")
    desk.fill("#f-period_to", "00:20")
    desk.select_option("#f-camera", "cam-hol")
    desk.fill("#f-description", "bójka przed wejściem do ratusza")
    desk.fill("#f-purpose", "postępowanie w sprawie pobicia")
    desk.screenshot(path=str(shots / "29-07-wniosek-formularz.png"), full_page=True)
    desk.click("form[action='/requests'] button")
    desk.wait_for_url(re.compile(r".*/requests/\d+\?"))
    facts = desk.inner_text("dl.facts")
    assert f"{day:%d.%m.%Y} 23:50 – {today:%d.%m.%Y} 00:20" in facts, facts
    desk.screenshot(path=str(shots / "29-07-wniosek-przez-polnoc.png"), full_page=True)


def test_copies_say_what_became_of_them(site: Site, browsing: Browsing, shots: Path) -> None:
    """Item 8: wydana / przechowywana / zniszczona with their dates; both dates of a period
    across midnight."""
    desk = browsing.signed_in("informatyk")
    desk.goto(f"{site.url}/copies")
    today, day = site.built_on, site.night_at.date()  # the days the fixture used
    eve = day - timedelta(days=1)

    def state(number: str) -> str:
        return desk.locator("tr", has=desk.locator(f"td:text-is('{number}')")) \
            .locator("td[class^=copy-]").inner_text()

    assert state(site.m.copy_number).startswith(f"wydana {today:%d.%m.%Y}")
    assert state(site.night).startswith("przechowywana")
    assert state(site.gone) == f"zniszczona {today:%d.%m.%Y}"
    night = desk.locator("tr", has=desk.locator(f"td:text-is('{site.night}')")).inner_text()
    assert f"{eve:%d.%m.%Y} 23:59:58 – {day:%d.%m.%Y} 00:00:02" in night, night
    desk.screenshot(path=str(shots / "29-08-kopie.png"), full_page=True)


def test_people_in_polish_order(site: Site, browsing: Browsing, shots: Path) -> None:
    """Item 9: the employees by surname in Polish order (Ł after L, before M; Ś, Ź, Ż)."""
    desk = browsing.signed_in("informatyk")
    desk.goto(f"{site.url}/employees")
    shown = [n.strip() for n in desk.locator("table tr td:first-child").all_inner_texts()
             if n.strip() in NAMES]
    assert shown == sorted(NAMES, key=person_key)
    assert shown.index("Ewa Łęcka") == shown.index("Jan Lis") + 1
    desk.screenshot(path=str(shots / "29-09-pracownicy.png"), full_page=True)
    desk.goto(f"{site.url}/admin/users")
    people = [n.strip() for n in desk.locator("table tr td:nth-child(2)").all_inner_texts()]
    assert people == sorted(people, key=person_key) and "Łukasz Gęślak" in people
    desk.screenshot(path=str(shots / "29-09-uzytkownicy.png"), full_page=True)


def test_registers_download_as_excel_opens_them(site: Site, browsing: Browsing,
                                                shots: Path) -> None:
    """Item 11: "CSV (Excel)" is UTF-8 with a BOM and ';'; "CSV zwykły" is RFC 4180."""
    desk = browsing.signed_in("informatyk")
    desk.goto(f"{site.url}/registers")
    desk.screenshot(path=str(shots / "29-11-rejestry.png"), full_page=True)
    form = desk.locator("form[action='/registers/copies.pdf']")
    with desk.expect_download() as dl:
        form.locator("button", has_text="CSV (Excel)").click()
    excel = Path(dl.value.path()).read_bytes()
    assert excel.startswith(b"\xef\xbb\xbf\"Nr porz\xc4\x85dkowy kopii\";")
    assert site.m.copy_number.encode() in excel and b"\r\n" in excel
    with desk.expect_download() as dl:
        form.locator("button", has_text="CSV zwykły").click()
    plain = Path(dl.value.path()).read_bytes()
    assert plain.startswith(b"\"Nr porz\xc4\x85dkowy kopii\",")
    # the access register offers both forms too
    desk.goto(f"{site.url}/access-log")
    with desk.expect_download() as dl:
        desk.click("a.button:has-text('Pobierz CSV')")
    assert Path(dl.value.path()).read_bytes().startswith(b"\xef\xbb\xbf\"Od\";\"Do\";")
    with desk.expect_download() as dl:
        desk.click("a:has-text('CSV zwykły (RFC 4180)')")
    assert Path(dl.value.path()).read_bytes().startswith(b"\"Od\",\"Do\",")
    desk.screenshot(path=str(shots / "29-11-rejestr-dostepu.png"), full_page=True)


def test_the_dpo_is_not_offered_the_review(site: Site, browsing: Browsing,
                                           shots: Path) -> None:
    """Item 12: the data protection officer reads the review page without the button the
    review's rule would refuse him; the second custodian has it."""
    with site.vault.transaction() as s:
        for name in ("iod", "kustosz2"):
            accounts.set_password(s, s.execute(select(User).where(User.name == name))
                                  .scalar_one(), PASSWORD, "test")
    dpo = browsing.signed_in("iod")
    dpo.goto(f"{site.url}{site.review}")
    assert dpo.locator("#open-review").count() == 0 and dpo.locator("#approve").count() == 0
    assert "nie może przeglądać kopii" in dpo.inner_text("#not-reviewer")
    dpo.screenshot(path=str(shots / "29-12-przeglad-iod.png"), full_page=True)
    second = browsing.signed_in("kustosz2")
    second.goto(f"{site.url}{site.review}")
    assert second.locator("#open-review").count() == 1
    second.screenshot(path=str(shots / "29-12-przeglad-kustosz.png"), full_page=True)
