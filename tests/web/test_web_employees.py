"""Employees and acknowledgments of the monitoring notice (R6.1)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import make_vault, snapshot
from web_helpers import client, csrf_of, session_for, user

from kustosz.db.access import Employee
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

GOOD = ("imie_nazwisko;stanowisko;komorka;data_rozpoczecia;identyfikator\n"
        "Anna Kowalczyk;referent;Biuro Obsługi;2026-01-05;P-1\n"
        "Józef <b>Wójcik</b>;sprzątacz;Administracja;2026-02-01;P-2\n")


def test_import_acknowledge_and_who_is_overdue(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "kadry", ["custodian"], password=None)
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "kadry")
    csrf = csrf_of(sqlite_vault, c)
    before = snapshot(sqlite_vault)["tables"]
    bad = GOOD + "Jan Nowak;kierowca;Transport;wczoraj;P-3\n"
    r = c.post("/employees/import", data={"csrf": csrf},
               files={"file": ("p.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "Wiersz 4" in r.text
    assert snapshot(sqlite_vault)["tables"] == before  # nothing half-saved
    r = c.post("/employees/import", data={"csrf": csrf},
               files={"file": ("p.csv", GOOD.encode(), "text/csv")})
    assert r.status_code == 303
    page = c.get("/employees").text
    assert "<b>2</b> pracowników bez oświadczenia" in page
    assert "Józef &lt;b&gt;Wójcik&lt;/b&gt;" in page
    r = c.post("/employees/1/acknowledge", data={"csrf": csrf, "on": "2026-01-05"})
    assert r.status_code == 303
    page = c.get("/employees").text
    assert "<b>1</b> pracownik bez oświadczenia" in page and "złożone 05.01.2026" in page
    r = c.post("/employees/1/acknowledge", data={"csrf": csrf, "on": "2026-01-06"})
    assert r.status_code == 422 and "już potwierdził" in r.text
    # a new version of the notice: everyone must acknowledge again
    c.post("/employees/version", data={"csrf": csrf, "version": "2026/2"})
    assert "<b>2</b> pracowników bez oświadczenia" in c.get("/employees").text
    r = c.get("/employees/2/declaration")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"


def _signed_in(vault: Vault) -> TestClient:
    user(vault, "kadry", ["custodian"], password=None)
    c = client(vault)
    session_for(vault, c, "kadry")
    return c


def _import(vault: Vault, c: TestClient, body: bytes) -> tuple[int, str]:
    r = c.post("/employees/import", data={"csrf": csrf_of(vault, c)},
               files={"file": ("p.csv", body, "text/csv")})
    return r.status_code, r.text if r.status_code != 303 else c.get(r.headers["location"]).text


HEADER = "imie_nazwisko;stanowisko;komorka;data_rozpoczecia;identyfikator\r\n"
POLISH = "Łukasz Żółć;inspektor;Wydział Spraw Obywatelskich;2026-03-02;P-9\r\n"


def test_import_takes_excel_cp1250_with_semicolons(sqlite_vault: Vault) -> None:
    """R6.1: Excel's Polish 'CSV' (Windows-1250, ';', CRLF) is read with the letters intact."""
    c = _signed_in(sqlite_vault)
    data = (HEADER + POLISH).encode("cp1250")
    assert b"\xa3ukasz \xaf\xf3\xb3\xe6" in data  # real CP1250 bytes, not UTF-8
    status, page = _import(sqlite_vault, c, data)
    assert status == 303 and "Łukasz Żółć" in page and "Wydział Spraw Obywatelskich" in page


def test_import_takes_utf8_with_bom_and_commas(sqlite_vault: Vault) -> None:
    """R6.1: UTF-8 with Excel's BOM and ',' as separator; the header is still recognised."""
    c = _signed_in(sqlite_vault)
    text = (HEADER + POLISH).replace(";", ",")
    status, page = _import(sqlite_vault, c, b"\xef\xbb\xbf" + text.encode())
    assert status == 303 and "Łukasz Żółć" in page and "Wczytano 1 pracownika" in page


def test_import_refuses_unknown_encodings_naming_the_line(sqlite_vault: Vault) -> None:
    """R6.1: bytes that are neither UTF-8 nor Polish CP1250 get a Polish error naming the first
    bad line, and nothing is imported."""
    c = _signed_in(sqlite_vault)
    csrf_of(sqlite_vault, c)
    before = snapshot(sqlite_vault)["tables"]
    cases = {
        "utf-16": ((HEADER + POLISH).encode("utf-16"), "Wiersz 1"),
        # 0x81 and 0x98 are undefined in CP1250 and invalid as UTF-8
        "neither": ((HEADER + "Anna Nowak;ref;BO;2026-01-05;P-1\r\n").encode()
                    + b"J\x81n \x98;ref;BO;2026-01-05;P-2\r\n", "Wiersz 3"),
        # valid CP1250 but not Polish: Russian in CP1251
        "cp1251": ((HEADER + "Иван Петров;ref;BO;2026-01-05;P-3\r\n").encode("cp1251"),
                   "Wiersz 2"),
    }
    for name, (body, line) in cases.items():
        status, page = _import(sqlite_vault, c, body)
        assert status == 422, name
        assert f"{line}: nieznane kodowanie znaków" in page, name
        assert snapshot(sqlite_vault)["tables"] == before, name


def test_add_one_employee_by_form(sqlite_vault: Vault) -> None:
    """R6.1: one employee by hand; every bad field is named at once, what was typed stays,
    nothing is saved; the good form is audited like the import."""
    c = _signed_in(sqlite_vault)
    csrf = csrf_of(sqlite_vault, c)
    before = snapshot(sqlite_vault)
    bad = {"csrf": csrf, "full_name": "  ", "position": "x" * 201, "unit": "Wydział <i>A</i>",
           "starts_on": "jutro", "external_id": "P-7"}
    r = c.post("/employees/add", data=bad)
    assert r.status_code == 422
    assert "Podaj imię i nazwisko." in r.text
    assert "Podaj datę dopuszczenia do pracy" in r.text
    assert "najwyżej 200 znaków (podano 201)" in r.text
    assert 'value="Wydział &lt;i&gt;A&lt;/i&gt;"' in r.text and 'value="P-7"' in r.text
    assert snapshot(sqlite_vault) == before
    good = {"csrf": csrf, "full_name": "Łukasz Żółć", "position": "inspektor",
            "unit": "Wydział Spraw Obywatelskich", "starts_on": "2026-03-02",
            "external_id": "P-7"}
    r = c.post("/employees/add", data=good)
    assert r.status_code == 303
    assert "Dodano pracownika: Łukasz Żółć." in c.get(r.headers["location"]).text
    with sqlite_vault.reading() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert last is not None and last.action == "employees.add" and last.actor == "kadry"
    # the same HR id again: refused at its field, nothing added
    before = snapshot(sqlite_vault)
    r = c.post("/employees/add", data={**good, "full_name": "Inna Osoba"})
    assert r.status_code == 422 and "identyfikatorem P-7 już jest" in r.text
    assert 'value="Inna Osoba"' in r.text
    assert snapshot(sqlite_vault) == before


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    """The PDF's words as Ghostscript reads them (a real renderer, not a string search)."""
    src = tmp / "d.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite",
                          "-sOutputFile=-", str(src)], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) is not installed here")
def test_declaration_is_a_pdf_without_the_page_around_it(sqlite_vault: Vault,
                                                           tmp_path: Path) -> None:
    """R6.1, issue 12: the declaration (003 annex 2) is a PDF with the employee's details and
    the notice's version, and none of the web page's navigation or footer."""
    c = _signed_in(sqlite_vault)
    r = c.post("/employees/add", data={
        "csrf": csrf_of(sqlite_vault, c), "full_name": "Łukasz Żółć", "position": "inspektor",
        "unit": "Wydział Spraw Obywatelskich", "starts_on": "2026-03-02", "external_id": ""})
    assert r.status_code == 303
    r = c.get("/employees/1/declaration")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert 'filename="oswiadczenie-1.pdf"' in r.headers["content-disposition"]
    text = _pdf_text(r.content, tmp_path)
    assert "Oświadczenie pracownika" in text and "Łukasz Żółć" in text
    assert "inspektor" in text and "Wydział Spraw Obywatelskich" in text
    assert "(wersja 1)" in text and "czytelny podpis" in text
    for chrome in ("Pulpit", "Wyloguj", "nie są informacją publiczną", "Ctrl+P"):
        assert chrome not in text
    # an employee who is not there: the app's 404 page, not an empty form
    assert c.get("/employees/2/declaration").status_code == 404


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) is not installed here")
def test_declaration_in_miedziana_gora_has_the_regulations_words(tmp_path: Path) -> None:
    """R6.1: where the regulation gives the declaration's text (003 annex 2, Miedziana Góra),
    the PDF carries it: the annex line, the purposes, and a dotted line for a missing position."""
    vault = make_vault(tmp_path / "mg", preset="miedziana-gora")
    try:
        c = _signed_in(vault)
        r = c.post("/employees/add", data={
            "csrf": csrf_of(vault, c), "full_name": "Łukasz Żółć", "position": "",
            "unit": "", "starts_on": "2026-03-02", "external_id": ""})
        assert r.status_code == 303
        text = _pdf_text(c.get("/employees/1/declaration").content, tmp_path)
    finally:
        vault.close()
    assert ("Załącznik nr 2 do Regulaminu funkcjonowania, obsługi i eksploatacji monitoringu "
            "wizyjnego") in text
    assert "przyjmuję do wiadomości, że mój pracodawca stosuje monitoring wizyjny" in text
    assert "ochrony mienia Gminy" in text and "wersja 1" in text
    assert "na stanowisku ....." in text


def test_import_takes_the_dates_a_polish_excel_writes(sqlite_vault: Vault) -> None:
    """R6.1: Excel on a Polish Windows saves dates day first (01.09.2025); they are read as
    such, ISO dates still are, and a month-first or impossible date is refused."""
    c = _signed_in(sqlite_vault)
    data = (HEADER + "Łucja Gęślicka;sekretarka;Sekretariat;01.09.2025;K-1\r\n"
            "Jan Żak;kierowca;Transport;5.1.2026;K-2\r\n"
            "Ewa Róg;referent;BOI;2026-02-03;K-3\r\n").encode("cp1250")
    status, _page = _import(sqlite_vault, c, data)
    assert status == 303
    with sqlite_vault.reading() as s:
        starts = {e.full_name: e.starts_on for e in s.execute(select(Employee)).scalars()}
    assert starts == {"Łucja Gęślicka": date(2025, 9, 1), "Jan Żak": date(2026, 1, 5),
                      "Ewa Róg": date(2026, 2, 3)}


def test_import_names_every_bad_line_at_once_and_saves_nothing(sqlite_vault: Vault) -> None:
    c = _signed_in(sqlite_vault)
    before = snapshot(sqlite_vault)["tables"]
    data = (HEADER + "Anna Nowak;referent;BOI;09.31.2025;P-1\r\n"  # month first: refused
            + POLISH + ";referent;BOI;2026-01-05;P-3\r\n"
            "Ola Lis;referent;BOI;31.02.2026;P-4\r\n").encode("cp1250")
    status, page = _import(sqlite_vault, c, data)
    assert status == 422
    for said in ("Wiersz 2: data rozpoczęcia pracy „09.31.2025”",
                 "Wiersz 4: brak imienia i nazwiska", "Wiersz 5: data rozpoczęcia pracy "
                 "„31.02.2026”", "Nic nie wczytano"):
        assert said in page, said
    assert "Wiersz 3" not in page
    assert snapshot(sqlite_vault)["tables"] == before


def test_a_leaver_is_recorded_by_csv_and_by_the_form_and_leaves_the_lists(
        sqlite_vault: Vault) -> None:
    """Issue 49 item 3: `Employee.ends_on` was honoured but nothing set it. The CSV's optional
    `data_zakonczenia` and the row's own form record a leaver's last working day; from the
    next day the leaver is not counted as without the declaration and is not offered as the
    person present at a viewing (002 zał. 5 §7.6). Bad dates change nothing."""
    from datetime import timedelta

    from kustosz.access.employees import office_today
    from kustosz.access.records import witness_choices

    c = _signed_in(sqlite_vault)
    csrf = csrf_of(sqlite_vault, c)
    today = office_today(sqlite_vault.policy.timezone)
    gone = (today - timedelta(days=3)).isoformat()
    csv = ("imie_nazwisko;stanowisko;komorka;data_rozpoczecia;identyfikator;data_zakonczenia\n"
           f"Anna Kowalczyk;referent;Biuro Obsługi;2026-01-05;P-1;{gone}\n"
           "Jan Nowak;kierowca;Transport;2026-01-05;P-2;\n"
           "Ewa Lis;sekretarka;Sekretariat;2026-01-05;P-3;\n")
    before = snapshot(sqlite_vault)["tables"]
    bad = csv + "Ola Mak;referent;Biuro;2026-03-01;P-4;2026-02-01\nIza Bąk;referent;Biuro;" \
        "2026-03-01;P-5;kiedyś\n"
    r = c.post("/employees/import", data={"csrf": csrf},
               files={"file": ("p.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert "Wiersz 5: data zakończenia pracy 01.02.2026 jest wcześniejsza" in r.text
    assert "Wiersz 6: data zakończenia pracy „kiedyś” nie jest datą" in r.text
    assert snapshot(sqlite_vault)["tables"] == before
    r = c.post("/employees/import", data={"csrf": csrf},
               files={"file": ("p.csv", csv.encode(), "text/csv")})
    assert r.status_code == 303
    page = c.get("/employees").text
    assert "<b>2</b> pracowników bez oświadczenia" in page  # Anna left: not asked
    assert (today - timedelta(days=3)).strftime("%d.%m.%Y") in page
    assert page.count("nie dotyczy — po zakończeniu pracy") == 1

    # the row's form: Jan Nowak leaves yesterday; a day before his start is refused
    with sqlite_vault.reading() as s:
        jan = s.execute(select(Employee).where(Employee.external_id == "P-2")).scalar_one()
    r = c.post(f"/employees/{jan.id}/end", data={"csrf": csrf, "ends_on": "2025-12-31"})
    assert r.status_code == 422 and "jest wcześniejsza niż dopuszczenie do pracy" in r.text
    r = c.post(f"/employees/{jan.id}/end", data={"csrf": csrf, "ends_on": "wczoraj"})
    assert r.status_code == 422 and "Podaj datę zakończenia pracy" in r.text
    yesterday = today - timedelta(days=1)
    r = c.post(f"/employees/{jan.id}/end", data={"csrf": csrf,
                                                  "ends_on": yesterday.isoformat()})
    assert r.status_code == 303
    assert "<b>1</b> pracownik bez oświadczenia" in c.get("/employees").text
    with sqlite_vault.reading() as s:
        offered = [label for _group, choices in witness_choices(s, None)
                   for _ref, label in choices]
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(
            AuditEntry.action == "employees.end"))]
    assert any("Ewa Lis" in o for o in offered)
    assert not any("Anna Kowalczyk" in o or "Jan Nowak" in o for o in offered), offered
    assert actions == ["employees.end"]

    # a file without the column leaves every leaver as recorded
    c.post("/employees/import", data={"csrf": csrf},
           files={"file": ("p.csv", GOOD.encode(), "text/csv")})
    with sqlite_vault.reading() as s:
        anna = s.execute(select(Employee).where(Employee.external_id == "P-1")).scalar_one()
    assert anna.ends_on == today - timedelta(days=3)


@pytest.mark.parametrize(("preset", "footer", "not_said"), [
    ("walbrzych", "oświadczenie pracownika o rejestrowaniu rozmów telefonicznych", "monitoring"),
    ("pleszew", "oświadczenie pracownika o monitoringu", "rozmów telefonicznych")])
def test_the_declaration_speaks_of_what_the_office_records(preset: str, footer: str,
                                                           not_said: str, tmp_path: Path) -> None:
    """Issue 49 item 13: a calls-only office's declaration said "o monitoringu" in its footer."""
    vault = make_vault(tmp_path / preset, preset=preset)
    try:
        c = _signed_in(vault)
        c.post("/employees/add", data={
            "csrf": csrf_of(vault, c), "full_name": "Łukasz Żółć", "position": "referent",
            "unit": "", "starts_on": "2026-03-02", "external_id": ""})
        text = " ".join(_pdf_text(c.get("/employees/1/declaration").content, tmp_path).split())
    finally:
        vault.close()
    assert footer in text and not_said not in text, text
