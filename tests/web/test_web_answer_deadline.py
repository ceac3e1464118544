"""Issue 17 item 1 in the browser's pages: a data subject's request shows its deadline
(art. 12 ust. 3 RODO) on its page and on the dashboard; the extension form records the reason
and the day the person was told, once, within the first month; a bad form changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import snapshot
from tests.office_day import office_today
from web_helpers import Material, csrf_of, signed_in

from kustosz.custody.answer_due import EXTENDED, MONTH
from kustosz.custody.requests import RequestSpec, register_request


def _subject(m: Material, days_ago: int) -> int:
    received = office_today() - timedelta(days=days_ago)
    with m.vault.transaction() as s:
        return register_request(s, m.vault.policy, RequestSpec(
            kind="data_subject", material="video", requester="Jan Żółkiewski",
            received_on=received, event_date=received - timedelta(days=1),
            purpose="dostęp do nagrań z moim wizerunkiem", description="przechodziłem przez hol",
            cameras=["cam-hol"], approx_time="12:00", margin_minutes=1), "test",
            now=datetime.now(UTC)).id


def _d(day: object) -> str:
    return day.strftime("%d.%m.%Y")  # type: ignore[attr-defined]


def test_the_deadline_on_the_request_page_and_the_dashboard(sqlite_material: Material) -> None:
    m = sqlite_material
    fresh, old = _subject(m, 3), _subject(m, 40)
    today = office_today()
    c = signed_in(m.vault, "informatyk")
    page = c.get(f"/requests/{fresh}").text
    due = MONTH.last_day(today - timedelta(days=3))
    assert f"Odpowiedź do {_d(due)}" in page and "art. 12 ust. 3 RODO" in page
    assert f'action="/requests/{fresh}/extend"' in page
    late = c.get(f"/requests/{old}").text
    assert "termin minął" in late and f'action="/requests/{old}/extend"' not in late
    dash = c.get("/").text
    table = dash[dash.index('id="subject-deadlines"'):]
    assert table.index(f"nr {old}") < table.index(f"nr {fresh}")  # the nearest deadline first
    assert "po terminie" in table and _d(due) in table
    listed = c.get("/requests").text
    assert f"odpowiedź do {_d(due)}" in listed and "po terminie" in listed
    from datetime import date as _date

    from kustosz.custody import registers

    with m.vault.reading() as s:
        reg = registers.disclosures(s, m.vault.policy, _date(2000, 1, 1), today)
    remarks = " ".join(row[-1] for row in reg.rows)
    assert f"odpowiedź do {_d(due)} (art. 12 ust. 3 RODO)" in remarks
    # Other kinds of request have no such deadline.
    assert 'id="answer-deadline"' not in c.get("/requests/1").text


def test_extending_by_the_form(sqlite_material: Material) -> None:
    m = sqlite_material
    rid = _subject(m, 5)
    today = office_today()
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post(f"/requests/{rid}/extend", data={"csrf": csrf_of(m.vault, c), "reason": " ",
                                                "told_on": "jutro"})
    assert r.status_code == 422 and "Podaj przyczynę przedłużenia." in r.text
    assert "Nieprawidłowa data" in r.text
    assert set(re.findall(r'name="([\w-]+)"[^>]*aria-invalid="true"', r.text)) >= {
        "reason", "told_on"}
    r = c.post(f"/requests/{rid}/extend", data={
        "csrf": csrf_of(m.vault, c), "reason": "liczba żądań",
        "told_on": (today + timedelta(days=2)).isoformat()})
    assert r.status_code == 422 and "między dniem otrzymania wniosku" in r.text
    assert 'value="liczba żądań"' in r.text or "liczba żądań</textarea>" in r.text
    assert snapshot(m.vault) == before
    r = c.post(f"/requests/{rid}/extend", data={
        "csrf": csrf_of(m.vault, c), "reason": "skomplikowany charakter żądania",
        "told_on": today.isoformat()}, follow_redirects=True)
    due = EXTENDED.last_day(today - timedelta(days=5))
    assert r.status_code == 200 and f"Termin odpowiedzi przedłużono do {_d(due)}." in r.text
    assert "Przyczyna: skomplikowany charakter żądania" in r.text
    assert f'action="/requests/{rid}/extend"' not in r.text  # once only
    again = c.post(f"/requests/{rid}/extend", data={
        "csrf": csrf_of(m.vault, c), "reason": "x", "told_on": today.isoformat()})
    assert again.status_code == 422 and "przedłużono już" in again.text


def test_a_viewer_cannot_extend(sqlite_material: Material) -> None:
    m = sqlite_material
    rid = _subject(m, 1)
    from web_helpers import user

    user(m.vault, "ogladajacy", ["viewer"])
    c = signed_in(m.vault, "ogladajacy")
    before = snapshot(m.vault)
    r = c.post(f"/requests/{rid}/extend", data={"csrf": csrf_of(m.vault, c), "reason": "x",
                                                "told_on": office_today().isoformat()})
    assert r.status_code == 403
    assert snapshot(m.vault) == before


def test_the_extension_notice(sqlite_material: Material, tmp_path: object) -> None:
    """The notice prints the new due date and the reason; refused before an extension."""
    import subprocess

    m = sqlite_material
    rid = _subject(m, 4)
    c = signed_in(m.vault, "informatyk")
    r = c.get(f"/requests/{rid}/extension-notice.pdf")
    assert r.status_code == 409 and "nie został przedłużony" in r.text
    today = office_today()
    c.post(f"/requests/{rid}/extend", data={"csrf": csrf_of(m.vault, c),
                                            "reason": "skomplikowany charakter żądania",
                                            "told_on": today.isoformat()})
    page = c.get(f"/requests/{rid}").text
    assert f'href="/requests/{rid}/extension-notice.pdf"' in page
    r = c.get(f"/requests/{rid}/extension-notice.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "notice.pdf"  # type: ignore[operator]
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = " ".join(text.split())
    due = EXTENDED.last_day(today - timedelta(days=4))
    assert "Zawiadomienie" in flat and f"do dnia {_d(due)}" in flat
    assert "skomplikowany charakter żądania" in flat and "art. 12 ust. 3" in flat
    assert "Jan Żółkiewski" in flat and "Prezesa Urzędu Ochrony Danych Osobowych" in flat
    assert c.get("/requests/999999/extension-notice.pdf").status_code == 404
