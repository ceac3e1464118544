"""Issue 12's walk of the roles the main browser test does not act as, in a real Chromium, with
the vault opened from a RELATIVE data folder (as `make demo` and the README's `--data
demo-data` do): the administrator adds a person and keeps the workstation allow-list, the head
of the office authorises her, she signs in with her one-time password, chooses her own and
plays a recording; the secretariat adds an employee by hand, imports Excel's Polish CSV
(Windows-1250) and prints a declaration as PDF; the data protection officer downloads the
registers. Every step through the pages a person uses, nothing through the API."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR, _free_port
from web_helpers import PASSWORD, Material, both_vault, make_material

from kustosz.access import accounts, employees
from kustosz.access.users import add_user
from kustosz.db.custody import User
from kustosz.web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

NEW_PASSWORD = "Nowe-hasło-operatora-7"


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Material]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    monkeypatch.chdir(tmp_path)
    vault = both_vault(Path("vault"))  # relative, as `kustosz serve --data demo-data`
    assert vault.root.is_absolute() and vault.root == tmp_path / "vault"
    m = make_material(vault, Path("material"))
    with vault.transaction() as s:
        for name in ("informatyk", "burmistrz"):
            u = s.query(User).filter(User.name == name).one()
            accounts.set_password(s, u, PASSWORD, "test")
        iod = add_user(s, "iod", "Iwona Dąbrowska", ["dpo"], "test",
                       title="Inspektor Ochrony Danych")
        accounts.set_password(s, iod, PASSWORD, "test")
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/"), m
    finally:
        web.stop()
        vault.close()


def _pdf_text(body: bytes, tmp: Path, name: str) -> str:
    assert body.startswith(b"%PDF-"), body[:40]
    path = tmp / f"{name}.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def submit(page: Page, selector: str) -> None:
    """Click a form's button and wait until the server's answer has loaded.

    A click returns once the navigation starts; reading the body then can catch the next
    page half parsed, its header only (CI of d625764 did).
    """
    with page.expect_navigation():
        page.click(selector)


def test_every_role_in_the_browser_from_a_relative_data_folder(
        office: tuple[str, Material], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, m = office
    shots = SHOTS_DIR or tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tz = m.vault.policy.timezone
    errors: list[str] = []

    def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
        page.context.clear_cookies()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", password)
        submit(page, "button[type=submit]")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(locale="pl-PL")
        context.add_init_script(REPORT_VIOLATIONS)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text} {msg.location}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)

        # the administrator adds a person; her one-time password is shown once
        sign_in(page, "informatyk")
        page.goto(f"{base}/admin/users")
        page.fill("#f-name", "operator1")
        page.fill("#f-display_name", "Tomasz Lis")
        page.fill("#f-title", "strażnik miejski")
        page.check("form[action='/admin/users'] input[name=roles][value=viewer]")
        submit(page, "form[action='/admin/users'] button.primary")
        shown = page.inner_text("body")
        found = re.search(r"hasło jednorazowe \(pokazane tylko teraz\): (\S+)", shown)
        assert found, shown
        one_time = found.group(1)
        assert "Tomasz Lis" in page.inner_text("table")
        page.screenshot(path=str(shots / "18-uzytkownicy.png"), full_page=True)
        # the workstation allow-list: the office network plus this workstation, saved
        page.goto(f"{base}/admin/settings")
        page.fill("#f-allowlist", "127.0.0.1\n192.168.10.0/24")
        submit(page, "form[action='/admin/settings'] button.primary")
        page.goto(f"{base}/admin/settings")
        assert "192.168.10.0/24" in page.input_value("#f-allowlist")

        # the head of the office authorises her to play back one camera
        sign_in(page, "burmistrz")
        page.goto(f"{base}/authorisations")
        page.select_option("#f-holder", "operator1")
        page.check("input[name=actions][value=playback]")
        page.check("input[name=sources][value=cam-hol]")
        now = datetime.now(tz)
        page.fill("#f-valid_from", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-valid_to", (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#f-basis", "obsługa monitoringu wizyjnego")
        submit(page, "form[action='/authorisations'] button.primary")
        assert "Tomasz Lis" in page.inner_text("table")

        # she signs in with the one-time password, must choose her own, then plays a recording
        sign_in(page, "operator1", one_time)
        page.wait_for_url("**/account/password**")
        page.fill("#f-current", one_time)
        page.fill("#f-new", NEW_PASSWORD)
        page.fill("#f-again", NEW_PASSWORD)
        page.click("form[action='/account/password'] button")
        page.wait_for_url(lambda url: "/account/password" not in url)
        fmt = "%Y-%m-%dT%H:%M:%S"
        page.goto(f"{base}/media/start?action=playback&source=cam-hol"
                  f"&from={m.window[0].astimezone(tz).strftime(fmt)}"
                  f"&to={m.window[1].astimezone(tz).strftime(fmt)}")
        page.fill("#f-purpose", "sprawdzenie zdarzenia na parkingu")
        page.fill("#f-case_ref", "SM.5510.2.2026")
        page.select_option("#f-witness", "user:zastepca")  # 002 zał.5 §7.7: in someone's presence
        submit(page, "button[type=submit]")
        assert "/view/" in page.url, page.inner_text("main")
        page.evaluate("document.getElementById('player').play()")
        page.wait_for_function("() => document.getElementById('player').currentTime > 1.0",
                               timeout=20000)

        # the secretariat: one employee by hand, Excel's Polish CSV, the declaration as PDF
        sign_in(page, "informatyk")
        page.goto(f"{base}/employees")
        page.fill("#f-full_name", "Grażyna Żak")
        page.fill("#f-position", "inspektor")
        page.fill("#f-unit", "Wydział Spraw Obywatelskich")
        page.fill("#f-starts_on", "2026-03-02")
        submit(page, "form[action='/employees/add'] button")
        assert "Grażyna Żak" in page.inner_text("body")
        csv = (";".join(employees.COLUMNS) + "\n"
               "Łucja Gęślicka;sekretarka;Sekretariat;2026-04-01;K-17\n").encode("cp1250")
        page.set_input_files("#f-file", files=[{"name": "pracownicy.csv",
                                                "mimeType": "text/csv", "buffer": csv}])
        submit(page, "form[action='/employees/import'] button")
        assert "Łucja Gęślicka" in page.inner_text("body")
        page.screenshot(path=str(shots / "19-pracownicy.png"), full_page=True)
        row = page.locator("tr", has_text="Łucja Gęślicka")
        href = row.locator("a[href$='/declaration']").get_attribute("href")
        assert href
        pdf = page.request.get(base + href)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "Łucja Gęślicka" in _pdf_text(pdf.body(), tmp_path, "declaration")

        # the data protection officer downloads the registers (PDF and CSV)
        sign_in(page, "iod")
        page.goto(f"{base}/registers")
        form = page.locator("form[action='/registers/copies.pdf']")
        with page.expect_download() as dl:  # the CSV is an attachment
            form.locator("button", has_text="CSV (Excel)").click()
        csv_text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
        assert m.copy_number in csv_text
        start_day = form.locator("input[name=start]").input_value()
        end_day = form.locator("input[name=end]").input_value()
        pdf = page.request.get(f"{base}/registers/copies.pdf?start={start_day}&end={end_day}")
        assert pdf.status == 200
        text = _pdf_text(pdf.body(), tmp_path, "copies-register")
        assert "Rejestr kopii" in text and m.copy_number in text
        page.wait_for_timeout(300)
        browser.close()
    assert errors == []
