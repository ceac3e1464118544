"""Employees and acknowledgments of the monitoring notice (R6.1)."""

from __future__ import annotations

from tests.conftest import snapshot
from web_helpers import client, csrf_of, session_for, user

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
    assert "Oświadczenie pracownika" in c.get("/employees/2/declaration").text
