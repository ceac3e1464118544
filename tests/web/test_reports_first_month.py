"""Issue 65 item 4: the reports' page from a vault's first day. In its first month it says when
the first report comes ("Pierwsze sprawozdanie powstanie 1.12.2026 za listopad 2026."), in
Polish and in English, and never beside it that every past month's report is made; in its
second month, before last month's report, it says that one is due; it offers a draft of the
month so far, made as a job, marked "WSTĘPNE, NIEPEŁNE — stan na …", downloaded on record and
refused by `report verify` as a final report. The page and the vault's first entry run on a
frozen clock (tests/clock_helpers.freeze), on the days a date rule breaks: the 1st just after
midnight, the last day just before it, 29 February, New Year's Eve, the night summer time
ends, a Sunday."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from tests.clock_helpers import freeze
from web_helpers import both_vault, client, session_for, user

from kustosz.db.models import AuditEntry
from kustosz.report import store, verify
from kustosz.vault import Vault
from kustosz.web.reports_pages import DOWNLOADED

WARSAW = ZoneInfo("Europe/Warsaw")
NOMINATIVE = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
              "wrzesień", "październik", "listopad", "grudzień")
ENGLISH = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
PAGE = "kustosz.web.reports_pages"
LOG = "kustosz.audit.log"  # the vault's first entry: when it began
CONTRADICTION = "Sprawozdania za wszystkie minione miesiące są już sporządzone."


def _text(html: str) -> str:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).replace("&#39;", "'").split())


def _first_of_next(day: datetime) -> str:
    y, m = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return f"1.{m:02d}.{y}"


def _vault_begun(tmp_path: Path, at: datetime, monkeypatch: pytest.MonkeyPatch) -> Vault:
    freeze(monkeypatch, at, LOG)
    vault = both_vault(tmp_path / "vault")
    for login, roles in (("iod", ["dpo"]), ("kontrola", ["auditor"]), ("ochrona", ["viewer"])):
        user(vault, login, roles, display="Józef Żółć 🙂" if login == "iod" else None)
    return vault


DAYS = [datetime(2025, 11, 1, 0, 5, tzinfo=WARSAW),  # a Saturday, just after midnight
        datetime(2025, 8, 31, 23, 58, tzinfo=WARSAW),  # a Sunday, the last minutes of a month
        datetime(2024, 2, 29, 12, 0, tzinfo=WARSAW),
        datetime(2025, 2, 28, 23, 59, tzinfo=WARSAW),
        datetime(2025, 12, 31, 23, 59, tzinfo=WARSAW),
        datetime(2025, 10, 26, 2, 30, tzinfo=WARSAW)]  # the night summer time ends


@pytest.mark.parametrize("today", DAYS, ids=lambda d: d.isoformat())
def test_a_first_month_page_says_when_the_first_report_comes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, today: datetime) -> None:
    vault = _vault_begun(tmp_path, today - timedelta(minutes=3), monkeypatch)
    freeze(monkeypatch, today, PAGE)
    try:
        c = client(vault)
        session_for(vault, c, "iod")
        page = c.get("/reports")
        assert page.status_code == 200, page.text
        said = _text(page.text)
        month = f"{NOMINATIVE[today.month - 1]} {today.year}"
        due = _first_of_next(today)
        assert f"Pierwsze sprawozdanie powstanie {due} za {month}." in said, said
        assert "Nie sporządzono jeszcze żadnego sprawozdania." in said
        assert CONTRADICTION not in said and "Następne" not in said and "r.." not in said
        assert (f"Nie ma jeszcze minionego miesiąca do sprawozdania: skarbiec działa od "
                f"{today.day}.{today.month:02d}.{today.year}.") in said
        assert f"Za {month} możesz sporządzić sprawozdanie wstępne" in said
        assert 'action="/reports/so-far"' in page.text and "<select" not in page.text
        c.cookies.set("kustosz_lang", "en", domain="testserver.local")
        english = _text(c.get("/reports").text)
        assert (f"The first report will be made on {due}, for {ENGLISH[today.month - 1]} "
                f"{today.year}.") in english, english
        assert "The reports of all past months are made." not in english
        assert "There is no past month to report on yet" in english
        assert f"For {ENGLISH[today.month - 1]} {today.year} you can make a draft" in english
    finally:
        vault.close()


def test_the_second_month_says_last_months_report_is_due(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Begun 31 October just before midnight; on 1 November at 00:10 October's report is due
    (serve makes it from 00:00), the next is November's on 1 December; October is offered."""
    vault = _vault_begun(tmp_path, datetime(2025, 10, 31, 23, 50, tzinfo=WARSAW), monkeypatch)
    freeze(monkeypatch, datetime(2025, 11, 1, 0, 10, tzinfo=WARSAW), PAGE)
    try:
        c = client(vault)
        session_for(vault, c, "iod")
        said = _text(c.get("/reports").text)
        assert ("Sprawozdanie za październik 2025 jeszcze nie powstało; Kustosz sporządza je "
                "sam od 1.11.2025. Następne sprawozdanie powstanie 1.12.2025 za listopad "
                "2025.") in said, said
        assert "Pierwsze" not in said and CONTRADICTION not in said
        assert '<option value="2025-10">' in c.get("/reports").text
    finally:
        vault.close()


def _given(vault: Vault) -> list[tuple[str, str]]:
    with vault.reading() as s:
        return [(e.actor, e.details) for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == DOWNLOADED).order_by(AuditEntry.seq)).scalars()]


@pytest.mark.parametrize("role", ["iod", "kontrola"])
def test_the_month_so_far_is_made_marked_and_never_a_final_report(
        sqlite_web_vault: Vault, tmp_path: Path, role: str) -> None:
    vault = sqlite_web_vault
    for login, roles in (("iod", ["dpo"]), ("kontrola", ["auditor"])):
        user(vault, login, roles)
    c = client(vault)
    csrf = session_for(vault, c, role)
    made = c.post("/reports/so-far", data={"csrf": csrf})
    assert made.status_code == 303, made.text
    page = c.get(made.headers["location"])
    said = _text(page.text)
    assert "Sporządzono sprawozdanie wstępne za" in said
    found = re.search(r"WSTĘPNE, NIEPEŁNE — stan na (\d\d\.\d\d\.\d{4} \d\d:\d\d)", said)
    assert found, said
    label = re.search(r'href="/reports/so-far/(\d{4}-\d\d)\.pdf"', page.text)
    assert label, page.text
    [draft] = store.drafts(vault, label.group(1))
    assert store.made(vault) == []  # a draft is never on the shelf of reports
    pdf = c.get(f"/reports/so-far/{label.group(1)}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "sprawozdanie-wstepne-" in pdf.headers["content-disposition"]
    for n, p in enumerate(PdfReader(io.BytesIO(pdf.content)).pages, 1):
        text = " ".join((p.extract_text() or "").split())
        assert f"SPRAWOZDANIE WSTĘPNE, NIEPEŁNE — stan na {found.group(1)}" in text, n
    bundle = c.get(f"/reports/so-far/{label.group(1)}.zip")
    assert bundle.status_code == 200
    packed = tmp_path / "draft.zip"
    packed.write_bytes(bundle.content)
    assert "manifest.json" in zipfile.ZipFile(packed).namelist()
    verdict = verify.verify(packed)
    assert not verdict.ok and verdict.problems == [verify.DRAFT_PROBLEM]
    assert verify.verify(packed, draft=True).ok
    given = _given(vault)
    assert [a for a, _ in given] == [role, role]
    assert all(f'"draft_as_of":"{draft.as_of.isoformat()}"' in d for _, d in given), given
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "DRAFT, INCOMPLETE — as of" in _text(c.get("/reports").text)


def test_a_viewer_gets_no_draft(sqlite_web_vault: Vault) -> None:
    vault = sqlite_web_vault
    user(vault, "iod", ["dpo"])
    user(vault, "ochrona", ["viewer"])
    c = client(vault)
    session_for(vault, c, "iod")
    csrf_iod = c.get("/reports").text.split('name="csrf" value="')[1].split('"')[0]
    assert c.post("/reports/so-far", data={"csrf": csrf_iod}).status_code == 303
    found = re.search(r'href="/reports/so-far/(\d{4}-\d\d)\.pdf"', c.get("/reports").text)
    assert found
    label = found.group(1)
    other = client(vault)
    csrf = session_for(vault, other, "ochrona")
    assert other.post("/reports/so-far", data={"csrf": csrf}).status_code == 403
    for path in (f"/reports/so-far/{label}.pdf", f"/reports/so-far/{label}.zip"):
        assert other.get(path).status_code == 403, path
    assert [a for a, _ in _given(vault)] == []
