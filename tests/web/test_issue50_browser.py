"""Issue 50 item 4, M1 and M3 in a real browser (Debian's chromium through Playwright, the
app's CSP in force; script errors and CSP violations fail the test).

* The job page follows its job without reloading: a marker set in the window survives, focus
  put on a link stays on it through every progress update, the live region's words change with
  each step and say "Gotowe." once, the result's link appears in place; the page came without
  a `Refresh` header. Without scripts the "Odśwież" link is there to press.
* A form sent back with errors (request, password, user) opens with focus on its summary,
  "Błąd: " in the title; a summary link puts focus into its field.
* The header's "⚙" link is found by its name, "Zmiana hasła" / "Change password".

Screenshots of the job page mid-way and of forms with errors at 1280 and 390 px
(KUSTOSZ_SCREENSHOTS names the folder)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR
from tests.a11y.a11y_site import AXE, Findings, check
from tests.conftest import make_vault
from web_helpers import PASSWORD, user

from kustosz import jobs
from kustosz.jobs import JobContext, Threads
from kustosz.vault import Vault
from kustosz.web import jobs_pages
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow
STEPS = 4


class Steps:
    """A job that reports each step and waits for the test before the next."""

    def __init__(self) -> None:
        self.go = threading.Semaphore(0)

    def run(self, ctx: JobContext, steps: int) -> dict[str, int]:
        for step in range(steps):
            ctx.progress(step / steps, f"Krok {step + 1} z {steps}")
            assert self.go.acquire(timeout=120)
        return {"steps": steps}


@dataclass
class Site:
    url: str
    vault: Vault
    steps: Steps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    vault = make_vault(tmp_path / "vault")
    user(vault, "admin", ["administrator", "custodian"], display="Piotr Wiśniewski")
    steps = Steps()
    jobs.register("test.steps", steps.run, title_pl="Sporządzanie kopii nagrań")
    # a kind with a result page and a way back, as a copy has
    monkeypatch.setitem(jobs_pages.DONE, "test.steps", lambda view: (
        "/requests", f"Zrobiono {view.result['steps']} kroki."))
    monkeypatch.setitem(jobs_pages.BACK, "test.steps", lambda view: "/requests")
    jobs.use(vault, Threads(vault).start())
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield Site(web.url.rstrip("/"), vault, steps)
    finally:
        web.stop()
        for _ in range(STEPS + 1):
            steps.go.release()
        jobs.stop(vault, 30)
        jobs.unregister("test.steps")
        vault.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = SHOTS_DIR or tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _signed_in(browser: Browser, site: Site, problems: list[str],
               scripts: bool = True) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL",
                                  java_script_enabled=scripts)
    context.add_init_script(REPORT_VIOLATIONS)
    if AXE.exists():  # `make test` installs it (npm ci)
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(20000)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text or "CSP violation" in msg.text else None)
    page.goto(f"{site.url}/login")
    page.fill("#f-username", "admin")
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    return page


def _live(page: Page) -> str:
    return page.inner_text("#job-said")


def _accessible(page: Page, label: str) -> None:
    """WCAG 2.1 AA by axe-core at 1280 and 320 px, and reflow (issue 33), when installed."""
    if AXE.exists():
        found = Findings()
        check(page, label, found)
        page.set_viewport_size({"width": 1280, "height": 900})
        assert found.problems == [], "\n".join(found.problems)


def _wait_live(page: Page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('job-said').textContent === t", arg=text)


def test_the_job_page_updates_in_place(site: Site, browser: Browser, shots: Path) -> None:
    problems: list[str] = []
    job_id = jobs.defer(site.vault, "test.steps", started_by="admin", steps=STEPS)
    page = _signed_in(browser, site, problems)
    answer = page.goto(f"{site.url}/jobs/{job_id}")
    assert answer is not None and answer.status == 200
    assert "refresh" not in {k.lower() for k in answer.headers}, answer.headers
    live = page.locator("#job-said")
    assert live.get_attribute("role") == "status"
    assert live.get_attribute("aria-live") == "polite"
    _wait_live(page, "Krok 1 z 4")
    # the script follows the job: the no-script link is put away, nothing else changes
    page.wait_for_function("document.getElementById('job-refresh').hidden")
    page.evaluate("""() => {
        window.__notReloaded = true;
        window.__said = [];
        new MutationObserver(() => window.__said.push(
            document.getElementById('job-said').textContent))
            .observe(document.getElementById('job-said'),
                     {childList: true, characterData: true, subtree: true});
    }""")
    back = page.get_by_role("link", name="Wróć do wniosku")
    back.focus()
    focused = "() => document.activeElement && document.activeElement.textContent"
    assert page.evaluate(focused) == "Wróć do wniosku"

    for step in range(2, STEPS + 1):
        site.steps.go.release()
        _wait_live(page, f"Krok {step} z {STEPS}")
        percent = round((step - 1) / STEPS * 100)
        page.wait_for_function("p => document.getElementById('job-bar').value === p",
                               arg=percent)
        assert page.inner_text(".job-percent") == f"{percent}%"
        assert page.evaluate(focused) == "Wróć do wniosku"
        assert page.evaluate("window.__notReloaded === true")
        if step == 3:
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=str(shots / f"50-4-zadanie-w-toku-{width}.png"),
                                full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            _accessible(page, "the job's page mid-way")
            assert page.evaluate(focused) == "Wróć do wniosku"

    site.steps.go.release()  # the last step: done
    _wait_live(page, "Gotowe. Zrobiono 4 kroki.")
    result = page.get_by_role("link", name="Przejdź do wyniku")
    result.wait_for(state="visible")
    assert result.get_attribute("href").startswith("/requests?msg=")
    assert page.evaluate(focused) == "Wróć do wniosku"
    assert page.evaluate("window.__notReloaded === true")
    assert page.url == f"{site.url}/jobs/{job_id}"
    assert page.get_attribute("#job", "data-state") == "done"
    said = page.evaluate("window.__said")
    assert said == ["Krok 2 z 4", "Krok 3 z 4", "Krok 4 z 4", "Gotowe. Zrobiono 4 kroki."], said
    page.screenshot(path=str(shots / "50-4-zadanie-gotowe-1280.png"), full_page=True)
    result.click()
    page.wait_for_url(f"{site.url}/requests?*")
    assert "Zrobiono 4 kroki." in page.inner_text(".flash")
    page.context.close()
    assert problems == []


def test_without_scripts_the_page_has_a_refresh_link(site: Site, browser: Browser) -> None:
    problems: list[str] = []
    job_id = jobs.defer(site.vault, "test.steps", started_by="admin", steps=2)
    page = _signed_in(browser, site, problems, scripts=False)
    answer = page.goto(f"{site.url}/jobs/{job_id}")
    assert answer is not None and "refresh" not in {k.lower() for k in answer.headers}
    again = page.get_by_role("link", name="Odśwież")
    assert again.is_visible()
    site.steps.go.release()
    jobs_said = "Krok 2 z 2"
    for _ in range(100):  # the job's own pace: each press of the link is a fresh look
        again.click()
        page.wait_for_load_state()
        if page.inner_text("#job-said") == jobs_said:
            break
    assert _live(page) == jobs_said
    page.context.close()
    assert problems == []


def _sent_back(page: Page, form: str, button: str) -> int:
    """Send ``form`` as it is filled, past the browser's own checks; the answer's status."""
    page.eval_on_selector(form, "f => { f.noValidate = true; }")
    with page.expect_navigation() as nav:
        page.click(f"{form} {button}")
    answer = nav.value
    assert answer is not None
    return answer.status


def _summary_has_focus(page: Page) -> None:
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_attribute("#error-summary", "role") == "alert"
    assert page.title().startswith("Błąd: "), page.title()


def test_forms_sent_back_focus_their_summary(site: Site, browser: Browser,
                                             shots: Path) -> None:
    problems: list[str] = []
    page = _signed_in(browser, site, problems)

    page.goto(f"{site.url}/requests")
    assert not page.title().startswith("Błąd")
    page.select_option("#f-kind", "authority")
    page.select_option("#f-material", "video")
    assert _sent_back(page, "form[action='/requests']", "button.primary") == 422
    _summary_has_focus(page)
    assert page.get_by_role("heading", name="Formularz zawiera błędy").is_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"50-m3-wniosek-bledy-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    summary_links = page.locator("#error-summary a").all_inner_texts()
    assert "Wnioskodawca (dane): Podaj dane wnioskodawcy." in summary_links, summary_links
    page.locator("#error-summary").get_by_role("link", name="Podaj dane wnioskodawcy.").click()
    assert page.evaluate("document.activeElement.id") == "f-requester"

    page.goto(f"{site.url}/account/password")
    page.fill("#f-current", "zle-haslo-123456")
    page.fill("#f-new", "krótkie")
    page.fill("#f-again", "inne")
    assert _sent_back(page, "form[action='/account/password']", "button") == 422
    _summary_has_focus(page)
    assert page.title().startswith("Błąd: Zmiana hasła")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"50-m3-haslo-bledy-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    _accessible(page, "the password form sent back")

    page.goto(f"{site.url}/admin/users")
    assert _sent_back(page, "form[action='/admin/users']", "button.primary") == 422
    _summary_has_focus(page)
    page.locator("#error-summary").get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.tagName") in ("INPUT", "SELECT", "TEXTAREA")
    page.context.close()
    assert problems == []


def test_the_account_link_has_a_name(site: Site, browser: Browser) -> None:
    problems: list[str] = []
    page = _signed_in(browser, site, problems)
    link = page.get_by_role("link", name="Zmiana hasła", exact=True)
    assert link.count() == 1 and link.get_attribute("href") == "/account/password"
    assert link.inner_text() == "⚙"
    page.goto(f"{site.url}/lang/en?next=/")
    page.wait_for_url(f"{site.url}/")
    link = page.get_by_role("link", name="Change password", exact=True)
    assert link.count() == 1 and link.get_attribute("href") == "/account/password"
    page.context.close()
    assert problems == []
