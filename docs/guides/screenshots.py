"""Regenerate the screenshots of the per-role guides (docs/guides/img/*.png).

Runs the real `kustosz demo` on a throw-away folder, then walks each role's first day in
Debian's Chromium (headless, 1280 px wide) through the pages that person uses, in the order
the office works: the administrator, the secretariat registers a request, the head decides,
the secretariat makes and hands over the copy, the viewer plays a recording, the commission
destroys a copy, the data protection officer checks the registers; then the head and the DPO
open the accountability report (the demo lived last month through and made its report). Too
slow for the test suite; run it by hand when a page changes:

    .venv/bin/python docs/guides/screenshots.py            # all images
    .venv/bin/python docs/guides/screenshots.py --keep     # leave the demo folder for a look
    .venv/bin/python docs/guides/screenshots.py --only reports  # the report's images alone
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, sync_playwright

HERE = Path(__file__).resolve().parent
IMG = HERE / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=pl-PL",
]
WIDTH = 1280
# The demo office (preset pleszew) keeps local time; dates typed into forms are local.
TZ = ZoneInfo("Europe/Warsaw")
NEW_ADMIN_PASSWORD = "Serwerownia-2026-kustosz"
# above this a shot is re-saved with a palette (tests/test_guides.py allows 200 kB)
MAX_BYTES = 150_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo(folder: Path) -> Iterator[tuple[str, str, str]]:
    """`kustosz demo` as a newcomer runs it; yields (base URL, admin's one-time password,
    the demo accounts' password) read from what it prints."""
    kustosz = Path(sys.executable).parent / "kustosz"
    port = _free_port()
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [str(kustosz), "--data", str(folder / "demo-data"), "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=folder,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True).start()
    said, deadline = "", time.monotonic() + 300
    admin = people = None
    while admin is None or people is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"kustosz demo did not start:\n{said}")
        try:
            said += lines.get(timeout=1)
        except queue.Empty:
            continue
        found = re.search(r"password:\s*(\S+)", said)
        people = found.group(1) if found else None
        found = re.search(r"admin / hasło jednorazowe: (\S+)", said)
        admin = found.group(1) if found else None
    try:
        yield f"http://127.0.0.1:{port}", admin, people
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


class Shots:
    def __init__(self, page: Page, base: str, password: str) -> None:
        self.page, self.base, self.password = page, base, password
        self.taken: list[Path] = []
        # the requests the guides register (the demo's past has one of its own before them)
        self.requests: list[int] = []

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, login: str) -> None:
        page = self.page
        page.context.clear_cookies()
        self.go("/login")
        page.fill("#f-username", login)
        page.fill("#f-password", self.password)
        page.click("main button[type=submit]")
        page.wait_for_load_state()

    def submit(self, selector: str) -> None:
        """Click a form's button and stop at once when the page answers with an error: a
        guide must never show a refusal by accident."""
        button = self.page.locator(selector).first
        invalid = button.evaluate(
            "b => [...b.form.elements].filter(e => !e.checkValidity()).map(e => e.name)"
        )
        if invalid:
            raise SystemExit(f"{self.page.url}: {selector}: fields not filled: {invalid}")
        button.click()
        self.page.wait_for_load_state()
        errors = self.page.locator(".error:visible")
        if errors.count():
            raise SystemExit(f"{self.page.url}: {selector} refused: {errors.all_inner_texts()}")

    def card(self, selector: str) -> Locator:
        """The card (section) holding ``selector``: a form with its heading."""
        return self.page.locator(selector).first.locator("xpath=ancestor::section[1]")

    def shot(
        self, name: str, what: Locator | None = None, full: bool = False, height: int | None = None
    ) -> None:
        """One PNG: an element (with a margin), the page's top ``height`` pixels, or the
        whole page."""
        path = IMG / f"{name}.png"
        page = self.page
        page.wait_for_load_state()
        if what is not None:
            what.scroll_into_view_if_needed()
            box = what.bounding_box()
            assert box, name
            y = max(0, box["y"] + page.evaluate("window.scrollY") - 12)
            clip = {"x": 0, "y": y, "width": WIDTH, "height": box["height"] + 24}
            page.screenshot(path=str(path), clip=clip, full_page=True)
        elif height:
            page.screenshot(
                path=str(path),
                clip={"x": 0, "y": 0, "width": WIDTH, "height": height},
                full_page=True,
            )
        else:
            page.screenshot(path=str(path), full_page=full)
        _shrink(path)
        self.taken.append(path)

    def pdf(self, name: str, link: Locator, pages: int = 1) -> None:
        """The PDF behind a link (or a GET form's button), fetched with the page's session;
        its first page as a PNG (``pages`` > 1: that many pages side by side, whole)."""
        url = link.evaluate(
            "e => e.href || (new URL(e.getAttribute('formaction') || "
            "e.form.getAttribute('action'), location) + '?' + "
            "new URLSearchParams(new FormData(e.form)))"
        )
        answer = self.page.request.get(url)
        body = answer.body()
        if not answer.ok or not body.startswith(b"%PDF-"):
            raise SystemExit(f"{url}: {answer.status}, not a PDF")
        path = IMG / f"{name}.png"
        if pages > 1:
            _pdf_pages_png(body, path, pages)
        else:
            _pdf_png(body, path)
        _shrink(path)
        self.taken.append(path)


def _pdf_pages_png(pdf: bytes, path: Path, pages: int) -> None:
    """The first ``pages`` pages side by side, each whole (a report's page is its mark, its
    header and footer as much as its text), on a grey ground like a PDF viewer's."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-f", "1", "-l", str(pages), "-scale-to", "760", str(source),
             str(Path(tmp) / "page")],
            check=True,
        )
        shots = [Image.open(p).convert("RGB") for p in sorted(Path(tmp).glob("page-*.png"))]
        gap = 24
        width = sum(im.width for im in shots) + gap * (len(shots) + 1)
        height = max(im.height for im in shots) + 2 * gap
        sheet = Image.new("RGB", (width, height), (210, 210, 210))
        x = gap
        for im in shots:
            sheet.paste(im, (x, gap))
            x += im.width + gap
        sheet.save(path, optimize=True)


def _pdf_png(pdf: bytes, path: Path) -> None:
    """The document's first page as the guides show it: the paper the office prints."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-scale-to",
                "1100",
                "-singlefile",
                str(source),
                str(path.with_suffix("")),
            ],
            check=True,
        )
    from PIL import Image, ImageOps

    # down to the last line of text above the footer: a page is mostly white below it
    with Image.open(path) as im:
        page = im.convert("L")
    body = page.crop((0, 0, page.width, int(page.height * 0.92)))
    box = ImageOps.invert(body).point(lambda v: 255 if v > 40 else 0).getbbox()
    if box:
        page.crop((0, 0, page.width, min(page.height, box[3] + 40))).save(path, optimize=True)


def _shrink(path: Path) -> None:
    """Fewer colours when a page shot is large: text stays sharp, the file small."""
    if path.stat().st_size <= MAX_BYTES:
        return
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def administrator(s: Shots, admin_password: str) -> None:
    page = s.page
    page.context.clear_cookies()
    s.go("/login")
    page.fill("#f-username", "admin")
    page.fill("#f-password", admin_password)
    s.shot("administrator-01-logowanie", height=420)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.fill("#f-current", admin_password)
    page.fill("#f-new", NEW_ADMIN_PASSWORD)
    page.fill("#f-again", NEW_ADMIN_PASSWORD)
    s.shot("administrator-02-nowe-haslo", height=560)
    s.submit("main button.primary")
    s.go("/admin/first-day")
    s.shot("administrator-03-pierwszy-dzien", full=True)
    s.go("/admin/users")
    page.fill("#f-name", "k.mazur")
    page.fill("#f-display_name", "Katarzyna Mazur")
    page.fill("#f-title", "strażnik miejski")
    page.check("form[action='/admin/users'] input[name=roles][value=operator]")
    page.check("form[action='/admin/users'] input[name=roles][value=viewer]")
    s.shot("administrator-04-nowy-uzytkownik", s.card("form[action='/admin/users']"))
    s.submit("form[action='/admin/users'] button.primary")
    s.shot("administrator-05-haslo-jednorazowe", height=440)
    s.go("/admin/settings")
    page.fill("#f-allowlist", "127.0.0.1\n10.0.5.0/24")
    s.shot("administrator-06-stanowiska", s.card("form[action='/admin/settings']"))
    s.submit("form[action='/admin/settings'] button.primary")
    s.go("/admin/alerts")
    page.check("input[name=email_on]")
    page.fill("#f-email_host", "smtp.pleszew.example.pl")
    page.fill("#f-email_port", "587")
    page.select_option("#f-email_security", "starttls")
    page.fill("#f-email_from", "kustosz@pleszew.example.pl")
    page.fill("#f-email_to", "informatyk@pleszew.example.pl\niod@pleszew.example.pl")
    s.shot("administrator-07-powiadomienia", height=900)


def _wait_until(page: Page, check: str, timeout: float = 60.0) -> None:
    """Poll ``check`` (a JS function) in the page: wait_for_function would eval a string,
    which the page's CSP refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(check):
        if time.monotonic() > deadline:
            raise SystemExit(f"{page.url}: still not {check}")
        page.wait_for_timeout(200)


def _now() -> datetime:
    return datetime.now(TZ)


def secretariat_registers(s: Shots) -> None:
    """Two requests: the police's (decided, copied and handed over) and an internal one whose
    copy the commission destroys later."""
    page = s.page
    s.sign_in("sekretariat")
    s.shot("sekretariat-01-pulpit", height=560)
    incident = _now() - timedelta(hours=2)
    for kind, camera, who, what, why, ref in (
        (
            "authority",
            "hol-parter",
            "Komenda Powiatowa Policji w Pleszewie, asp. Jan Nowak",
            "Uszkodzenie drzwi wejściowych w holu na parterze",
            "postępowanie w sprawie o wykroczenie",
            "RSD-214/26",
        ),
        (
            "internal",
            "wejscie-glowne",
            "Wydział Organizacyjny, Sekretarz Miasta",
            "Skarga interesanta na obsługę przy wejściu głównym",
            "postępowanie wyjaśniające w sprawie skargi",
            "OR.1510.3.2026",
        ),
    ):
        s.go("/requests")
        page.select_option("#f-kind", kind)
        page.select_option("#f-material", "video")
        page.fill("#f-requester", who)
        page.fill("#f-received_on", _now().date().isoformat())
        page.fill("#f-event_date", incident.date().isoformat())
        page.fill("#f-approx_time", incident.strftime("%H:%M"))
        page.select_option("#f-camera", camera)
        page.fill("#f-description", what)
        page.fill("#f-purpose", why)
        page.fill("#f-case_ref", ref)
        if kind == "authority":
            page.fill("#f-contact", "kpp.pleszew@policja.example.pl")
            s.shot("sekretariat-02-rejestracja-wniosku", s.card("#f-kind"))
        s.submit("form[action='/requests'] button.primary")
        found = re.search(r"/requests/(\d+)", page.url)
        if found is None:
            raise SystemExit(f"{page.url}: the registered request's page did not open")
        s.requests.append(int(found.group(1)))
        if kind == "authority":
            s.shot("sekretariat-03-wniosek-zarejestrowany", height=700)
    s.go("/requests")
    s.shot("sekretariat-04-wnioski", page.locator("table").last)


def head_decides(s: Shots) -> None:
    page = s.page
    s.sign_in("kierownik")
    s.shot("kierownik-01-pulpit", height=420)
    for n in s.requests:
        s.go(f"/requests/{n}")
        page.check("input[name=agree][value=yes]")
        if n == s.requests[0]:
            s.shot("kierownik-02-decyzja", s.card("input[name=agree]"))
        s.submit("form[action$='/decide'] button.primary")
        if n == s.requests[0]:
            s.shot("kierownik-03-zgoda-zapisana", height=620)
    s.go("/authorisations")
    page.select_option("#f-holder", "k.mazur")
    page.check("input[name=actions][value=live]")
    page.check("input[name=actions][value=playback]")
    page.check("input[name=sources][value=hol-parter]")
    page.check("input[name=sources][value=wejscie-glowne]")
    now = _now()
    page.fill("#f-valid_from", now.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-valid_to", now.replace(year=now.year + 1).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-basis", "zakres czynności strażnika miejskiego")
    s.shot("kierownik-04-upowaznienie", s.card("#f-holder"))
    s.submit("form[action='/authorisations'] button.primary")
    s.shot("kierownik-05-upowaznienia", page.locator("table").first)
    s.go("/commission")
    s.shot("kierownik-06-komisja", height=560)


def secretariat_copies(s: Shots) -> None:
    page = s.page
    s.sign_in("sekretariat")
    for n in s.requests:
        s.go(f"/requests/{n}")
        if n == s.requests[0]:
            s.shot("sekretariat-05-sporzadz-kopie", s.card("form[action$='/copy']"))
        page.click("form[action$='/copy'] button.primary")
        page.wait_for_selector("text=Kopia nr", timeout=120_000)
    s.go(f"/requests/{s.requests[0]}")
    page.fill("#f-receiver", "asp. Jan Nowak, Komenda Powiatowa Policji w Pleszewie")
    page.fill("#f-medium", "pendrive szyfrowany")
    s.shot("sekretariat-06-przekazanie", s.card("#f-receiver"))
    s.submit("form[action$='/handover'] button")
    s.shot("sekretariat-07-dokumenty", page.locator("#dokumenty"))
    s.pdf(
        "sekretariat-08-protokol-przekazania",
        page.locator("#dokumenty a:has-text('protokół przekazania')").first,
    )
    s.go("/employees")
    page.fill("#f-full_name", "Magdalena Wróbel")
    page.fill("#f-position", "referent")
    page.fill("#f-unit", "Wydział Organizacyjny")
    page.fill("#f-starts_on", _now().date().isoformat())
    s.submit("form[action='/employees/add'] button")
    s.shot("sekretariat-09-pracownicy", height=640)
    s.go("/registers")
    s.shot("sekretariat-10-rejestry", height=560)


def viewer(s: Shots) -> None:
    page = s.page
    s.sign_in("przegladajacy")
    s.shot("przegladajacy-01-pulpit", page.locator("section:has(h2:text('Moje upoważnienia'))"))
    s.go("/cameras")
    s.shot("przegladajacy-02-kamery", height=620)
    # the camera the police's request names, not the simulated one still recording
    page.click("a.button[href*='action=playback'][href*='source=hol-parter']")
    page.wait_for_load_state()
    page.fill("#f-purpose", "wyjaśnienie uszkodzenia drzwi w holu (wniosek Policji)")
    page.fill("#f-case_ref", "RSD-214/26")
    page.fill("#f-request_id", str(s.requests[0]))
    if page.locator("#f-witness option").count() > 1:
        page.select_option("#f-witness", index=1)
    s.shot("przegladajacy-03-cel-dostepu", s.card("#f-purpose"))
    page.click("main button[type=submit]")
    page.wait_for_selector("video", timeout=60_000)
    # all of it loaded and paused: ending the session while the player still fetches would
    # leave a refused segment in the access log the DPO's guide shows
    _wait_until(
        page,
        "() => { const v = document.querySelector('video'); return "
        "v.readyState === 4 && v.buffered.length > 0 && "
        "v.buffered.end(0) >= v.duration - 0.1; }",
    )
    # a second into the clip and paused: the picture and the recording's time, no spinner
    page.evaluate("() => document.querySelector('video').play()")
    _wait_until(page, "() => document.querySelector('video').currentTime >= 1")
    page.evaluate("() => document.querySelector('video').pause()")
    s.shot("przegladajacy-04-odtwarzanie", full=True)
    s.submit("form[action$='/end'] button")


def commission(s: Shots) -> None:
    page = s.page
    for member, step in (("komisja1", "01"), ("komisja2", "02")):
        s.sign_in(member)
        s.go("/copies")
        form = page.locator("form.destroy").first
        number = form.locator("input[name=number]").get_attribute("value") or ""
        form.locator("input[name=confirm]").fill(number)
        if form.locator("textarea[name=reason]").count():
            form.locator("textarea[name=reason]").fill(
                "postępowanie wyjaśniające zakończone, kopia nie jest już potrzebna"
            )
        if step == "01":
            s.shot("komisja-01-kopie", full=True)
        else:
            s.shot("komisja-02-drugie-potwierdzenie", page.locator("table#list"))
        form.locator("button.danger").click()
        page.wait_for_load_state()
    s.shot("komisja-03-zniszczona", page.locator("table#list"))
    s.pdf("komisja-04-protokol-zniszczenia", page.locator("a:has-text('Protokół zniszczenia')"))


def dpo(s: Shots) -> None:
    page = s.page
    s.sign_in("iod")
    s.shot("iod-01-pulpit", full=True)
    s.go("/access-log")
    s.shot("iod-02-rejestr-dostepu", height=620)
    s.go("/registers")
    s.pdf("iod-03-rejestr-udostepnionych", page.locator("form button:text-is('PDF')").first)
    s.go("/authorisations")
    s.shot("iod-04-upowaznienia", page.locator("table").first)
    s.go("/employees")
    s.shot("iod-05-pracownicy", height=520)


def reports(s: Shots) -> None:
    """The accountability report: the page as the head opens it (last month's report made by
    the demo, the next one announced), two pages of that report's PDF; then the DPO makes a
    draft of the month so far and opens its PDF, marked on every page."""
    page = s.page
    s.sign_in("kierownik")
    s.go("/reports")
    s.shot("kierownik-07-sprawozdania", full=True)
    s.pdf("kierownik-08-sprawozdanie-pdf", page.locator("#list a[href$='.pdf']").first, pages=2)
    s.sign_in("iod")
    s.go("/reports")
    s.submit("form[action='/reports/so-far'] button")
    if "/jobs/" in page.url:  # longer than the route waits: the job's page leads back
        page.wait_for_selector("a[href^='/reports']", timeout=120_000)
        s.go("/reports")
    s.shot("iod-06-sprawozdanie-wstepne", page.locator("#wstepne"))
    s.pdf("iod-07-sprawozdanie-wstepne-pdf", page.locator("#wstepne a[href$='.pdf']"), pages=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the demo folder")
    parser.add_argument("--only", choices=["reports"],
                        help="only these images (the accountability report's: the rest of "
                        "the walk is not needed for them)")
    options = parser.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="kustosz-guides-"))
    try:
        with demo(folder) as (base, admin_password, password), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(
                locale="pl-PL", timezone_id=str(TZ), viewport={"width": WIDTH, "height": 800}
            )
            s = Shots(context.new_page(), base, password)
            if options.only != "reports":
                administrator(s, admin_password)
                secretariat_registers(s)
                head_decides(s)
                secretariat_copies(s)
                viewer(s)
                commission(s)
                dpo(s)
            reports(s)
            browser.close()
        for path in s.taken:
            print(f"{path.relative_to(HERE)}  {path.stat().st_size // 1000} kB")
    finally:
        if options.keep:
            print(f"demo folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
