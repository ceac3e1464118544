"""Search and filters of Wnioski, Kopie, Zabezpieczenia and Pracownicy (issue 29 item 14,
kustosz.web.list_filters): the query logic on its own, then each page through the app's own
routes — by number, person, date and state, combined, kept across the page links, and every
bad value said in Polish with the whole list shown (never a 500, never an empty "not found").
The pages in Chromium: test_issue29_item14_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.custody.custody_helpers import record
from web_helpers import Material, both_vault, make_material, signed_in, user

from kustosz.access import employees
from kustosz.custody import holds
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.index.sources import get_source
from kustosz.vault import Vault
from kustosz.web import list_filters
from kustosz.web.list_filters import Facts, ListFilter, fold, matches, number_matches, parse

STATES = {"kept": "przechowywana", "handed": "wydana"}


# -- the query logic ------------------------------------------------------------------------
def test_a_good_filter_is_read_whole() -> None:
    f = parse({"number": " 12 ", "person": "Łęcka", "from": "2026-03-01", "to": "2026-03-31",
               "state": "kept", "page": "3"}, STATES)
    assert f.errors == {} and f.active
    assert (f.number, f.person, f.start, f.end, f.state, f.page) == (
        "12", "Łęcka", date(2026, 3, 1), date(2026, 3, 31), "kept", 3)
    assert parse({}, STATES) == ListFilter(typed={k: "" for k in list_filters.KEYS})
    assert not parse({}, STATES).active


@pytest.mark.parametrize(("params", "key", "words"), [
    ({"from": "2026-13-01"}, "from", "Nieprawidłowa data „2026-13-01” w polu „data od”"),
    ({"to": "15.03.2026"}, "to", "podaj ją jako RRRR-MM-DD"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "to",
     "Data „do” (01.03.2026) jest wcześniejsza niż data „od” (02.03.2026)."),
    ({"state": "zgubiona"}, "state", "Nieznany stan „zgubiona”. Wybierz jeden z listy: "
                                     "przechowywana, wydana."),
    ({"person": "x" * 101}, "person", "Pole „osoba” może mieć najwyżej 100 znaków (podano 101)."),
    ({"number": "9" * 500}, "number", "najwyżej 100 znaków (podano 500)"),
    ({"page": "-1"}, "page", "Nieprawidłowy numer strony „-1”"),
    ({"page": "dwa"}, "page", "podaj liczbę całkowitą od 1"),
    ({"page": "99999999999"}, "page", "Nieprawidłowy numer strony"),
])
def test_bad_input_is_named_and_nothing_is_filtered(params: dict[str, str], key: str,
                                                    words: str) -> None:
    f = parse({"person": "Nowak", **params}, STATES)
    assert words in f.errors[key]
    # refused: not applied at all (no half filter), page 1, what was typed is shown back
    assert not f.active and f.page == 1 and f.person == ""
    assert f.typed["person"] == "Nowak" or key == "person"
    assert matches(f, Facts(numbers=["1"], people=["Kowalski"], state="kept"))


def test_text_matches_without_case_or_polish_marks() -> None:
    assert fold("  ŁĘCKA Żółć ") == "lecka zolc"
    f = parse({"person": "lecka"}, STATES)
    assert matches(f, Facts(numbers=[], people=["asp. Ewa Łęcka, KPP"], state="kept"))
    assert not matches(f, Facts(numbers=[], people=["Jan Lis"], state="kept"))


def test_a_number_typed_whole_finds_that_number_only() -> None:
    assert number_matches("12", "12") and not number_matches("12", "112")
    assert not number_matches("12", "120")
    assert number_matches("7", "7/2026") and not number_matches("7", "17/2026")
    assert number_matches("2026", "7/2026")
    assert number_matches("nr 7/2026", "7/2026") and number_matches("#12", "12")
    assert number_matches("or.1431", "OR.1431.9.2026")
    assert not number_matches("OR.1432", "OR.1431.9.2026")


def test_dates_and_spans_and_combined_conditions() -> None:
    row = Facts(numbers=["5"], people=["Anna Nowak"], state="handed", day=date(2026, 3, 10))
    span = Facts(numbers=["6"], people=["Anna Nowak"], state="kept",
                 span=(date(2026, 3, 9), date(2026, 3, 11)))

    def found(**params: str) -> list[str]:
        f = parse(params, STATES)
        assert f.errors == {}
        return [r.numbers[0] for r in (row, span) if matches(f, r)]

    assert found(**{"from": "2026-03-10", "to": "2026-03-10"}) == ["5", "6"]
    assert found(**{"from": "2026-03-11"}) == ["6"]  # the span reaches into the period
    assert found(to="2026-03-09") == ["6"]
    assert found(**{"from": "2026-03-12"}) == []
    assert found(person="nowak", state="handed") == ["5"]
    assert found(person="nowak", state="kept", number="6") == ["6"]
    assert found(person="nowak", state="kept", number="5") == []
    assert not matches(parse({"from": "2026-03-01"}, STATES),
                       Facts(numbers=[], people=[], state="kept"))  # no day: not in a period


def test_paging_keeps_the_filter_in_every_link() -> None:
    f = parse({"person": "Łęcka", "state": "kept", "page": "2"}, STATES)
    p = list_filters.paged(f, list(range(120)), size=50)
    assert (p.page, p.pages, p.total, p.first_no, p.rows[0]) == (2, 3, 120, 51, 50)
    assert p.prev == "person=%C5%81%C4%99cka&state=kept"  # page 1: no page parameter
    assert p.next == "person=%C5%81%C4%99cka&state=kept&page=3"
    assert [n for n, _ in p.links] == [1, 2, 3]
    beyond = list_filters.paged(parse({"page": "9"}, STATES), list(range(120)), size=50)
    assert (beyond.page, beyond.rows[-1], beyond.next) == (3, 119, None)
    empty = list_filters.paged(parse({}, STATES), [], size=50)
    assert (empty.page, empty.pages, empty.rows, empty.prev) == (1, 1, [], None)


# -- the pages --------------------------------------------------------------------------------
@dataclass
class Office:
    vault: Vault
    m: Material
    desk: TestClient  # informatyk: custodian and administrator
    second: int  # a second request (a data subject's), undecided


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    tmp = tmp_path_factory.mktemp("filters")
    vault = both_vault(tmp / "vault")
    m = make_material(vault, tmp / "material")
    tz = vault.policy.timezone
    now = datetime.now(UTC)
    with vault.transaction() as s:
        second = register_request(s, vault.policy, RequestSpec(
            kind="data_subject", material="video", requester="Ewa Łęcka",
            received_on=now.astimezone(tz).date() - timedelta(days=3),
            event_date=now.astimezone(tz).date() - timedelta(days=4), purpose="moje nagranie",
            description="wizyta w urzędzie", cameras=["cam-hol"],
            start=now - timedelta(days=4), end=now - timedelta(days=4, minutes=-2),
            margin_minutes=0, case_ref="SO.1510.2.2026"), "test").id
        holds.place_hold(s, sources=[get_source(s, "cam-inne")],
                         start=now - timedelta(days=20), end=now - timedelta(days=19),
                         basis="skarga", case_ref="SKO.152.7.2026", actor="zastepca")
    hand_over(vault, m.copy_number, receiver="asp. Jan Lis, KPP Pleszew", by="informatyk",
              actor="test")
    with vault.transaction() as s:
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\n" + "".join(
            f"Jan Pracownik{i:02d};referent;Wydział {'A' if i % 2 else 'B'};"
            f"2026-01-{1 + i % 28:02d};E-{i}\n" for i in range(60))
            + "Łucja Gęślicka;sekretarz;Sekretariat;2025-06-01;S-1\n", "test")
    yield Office(vault, m, signed_in(vault, "informatyk"), second)
    vault.close()


def _numbers(html: str) -> list[str]:
    """The first cell of each row of the list (the table after the search form)."""
    table = html.split('<table id="list">', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<tr[^>]*><td[^>]*>(.*?)</td>", table)]


def test_requests_by_number_person_date_and_state(office: Office) -> None:
    c, tz = office.desk, office.vault.policy.timezone
    every = _numbers(c.get("/requests").text)
    assert str(office.second) in every and len(every) >= 2
    assert _numbers(c.get("/requests", params={"number": office.second}).text) == \
        [str(office.second)]
    assert _numbers(c.get("/requests", params={"number": "SO.1510"}).text) == \
        [str(office.second)]
    assert _numbers(c.get("/requests", params={"person": "lecka"}).text) == \
        [str(office.second)]
    day = (datetime.now(UTC).astimezone(tz).date() - timedelta(days=3)).isoformat()
    assert _numbers(c.get("/requests", params={"from": day, "to": day}).text) == \
        [str(office.second)]
    assert str(office.second) not in _numbers(c.get("/requests",
                                                    params={"state": "copied"}).text)
    assert _numbers(c.get("/requests", params={"state": "registered", "person": "kpp"}).text) \
        == ["Nie znaleziono wniosków spełniających warunki wyszukiwania."]


def test_copies_holds_and_employees_filtered(office: Office) -> None:
    c = office.desk
    number = office.m.copy_number
    assert _numbers(c.get("/copies", params={"state": "handed", "person": "jan lis"}).text) \
        == [number]
    assert _numbers(c.get("/copies", params={"number": number}).text) == [number]
    assert _numbers(c.get("/copies", params={"state": "destroyed"}).text) == \
        ["Nie znaleziono kopii spełniających warunki wyszukiwania."]
    held = _numbers(c.get("/holds", params={"number": "SKO.152.7"}).text)
    assert len(held) == 1
    past = (datetime.now(UTC) - timedelta(days=19, hours=12)).astimezone(
        office.vault.policy.timezone).date().isoformat()
    assert _numbers(c.get("/holds", params={"from": past, "to": past}).text) == held
    assert held[0] in _numbers(c.get("/holds", params={"state": "active"}).text)
    assert held[0] not in _numbers(c.get("/holds", params={"state": "released"}).text)
    assert _numbers(c.get("/holds", params={"state": "released", "number": held[0]}).text) \
        == ["Nie znaleziono zabezpieczeń spełniających warunki wyszukiwania."]
    assert _numbers(c.get("/employees", params={"person": "geslicka"}).text) == \
        ["Łucja Gęślicka"]
    assert _numbers(c.get("/employees", params={"number": "S-1"}).text) == ["Łucja Gęślicka"]
    assert _numbers(c.get("/employees", params={"from": "2025-01-01",
                                                "to": "2025-12-31"}).text) == ["Łucja Gęślicka"]


def test_the_filter_survives_paging(office: Office) -> None:
    c = office.desk
    first = c.get("/employees", params={"person": "pracownik", "state": "missing"})
    assert "Znaleziono: 60 pracowników · pozycje 1–50" in first.text
    assert len(_numbers(first.text)) == 50
    link = re.search(r'href="(/employees\?[^"]*page=2)"', first.text)
    assert link and "person=pracownik" in link.group(1) and "state=missing" in link.group(1)
    second = c.get(link.group(1).replace("&amp;", "&"))
    names = _numbers(second.text)
    assert len(names) == 10 and all(n.startswith("Jan Pracownik") for n in names)
    assert "Łucja Gęślicka" not in second.text
    assert 'value="pracownik"' in second.text  # the form still shows the filter


@pytest.mark.parametrize("path", ["/requests", "/copies", "/holds", "/employees"])
@pytest.mark.parametrize(("params", "words"), [
    ({"from": "2026-02-30"}, "Nieprawidłowa data „2026-02-30” w polu „data od”"),
    ({"state": "<script>"}, "Nieznany stan „&lt;script&gt;”"),
    ({"person": "ą" * 5000}, "może mieć najwyżej 100 znaków (podano 5000)"),
    ({"page": "0"}, "Nieprawidłowy numer strony „0”"),
])
def test_bad_input_shows_the_whole_list(office: Office, path: str, params: dict[str, str],
                                        words: str) -> None:
    c = office.desk
    whole = _numbers(c.get(path).text)
    r = c.get(path, params={**params, "number": "999999"})
    assert r.status_code == 422 and words in r.text
    assert "Nie zastosowano filtru — pokazano wszystkie pozycje." in r.text
    assert _numbers(r.text) == whole  # the whole list, not "nothing found"


def test_the_lists_stay_closed_to_whom_they_were(office: Office) -> None:
    user(office.vault, "ogladacz", ["viewer"], password=None)
    viewer = signed_in(office.vault, "ogladacz")
    for path in ("/requests", "/copies", "/holds", "/employees"):
        r = viewer.get(path, params={"person": "lecka", "from": "zła data"})
        assert r.status_code == 403, path
        assert "Łęcka" not in r.text and "Nie zastosowano filtru" not in r.text


def test_no_javascript_is_needed(office: Office) -> None:
    html = office.desk.get("/copies").text
    form = re.search(r'<form method="get" action="/copies#flt-found"[^>]*>', html)
    assert form is not None and "hx-" not in form.group(0)
    for name in ("number", "person", "from", "to", "state"):
        assert f'name="{name}"' in html.split(form.group(0), 1)[1].split("</form>", 1)[0]


# -- the day timeline's zoom and the first-day page (the same item) ---------------------------
def test_timeline_window_and_its_links() -> None:
    from zoneinfo import ZoneInfo

    from kustosz.web.cameras_page import timeline_window, zoom_links

    tz = ZoneInfo("Europe/Warsaw")
    day = date(2026, 3, 15)
    win, problem = timeline_window(day, "10min", "23:57", tz)
    assert problem is None and win.start.astimezone(tz).strftime("%H:%M") == "23:50"
    assert (win.end - win.start) == timedelta(minutes=10) and len(win.ticks) == 11
    nav = zoom_links(day, win, tz)
    assert nav["next"] == "/cameras?day=2026-03-16&zoom=10min&at=00:00"  # across midnight
    assert nav["zoom_out"] == "/cameras?day=2026-03-15&zoom=hour&at=23:50"
    assert nav["zoom_in"] is None and nav["parts"] == []
    hour, _ = timeline_window(day, "hour", "14:37", tz)
    parts = zoom_links(day, hour, tz)["parts"]
    assert [p[0] for p in parts] == ["14:00", "14:10", "14:20", "14:30", "14:40", "14:50"]
    for zoom, at, words in (("rok", "", "Nieznane powiększenie osi czasu „rok”"),
                            ("hour", "24:00", "Nieprawidłowa godzina „24:00”"),
                            ("hour", "7", "Nieprawidłowa godzina „7”")):
        whole, problem = timeline_window(day, zoom, at, tz)
        assert problem is not None and problem.startswith(words)
        assert whole.zoom == "day" and whole.end - whole.start == timedelta(days=1)


def test_zoom_in_lands_where_the_recordings_or_now_are(sqlite_material: Material,
                                                       tmp_path: Path) -> None:
    """Issue 50 item 6: "+ przybliż" from a whole day went to 00:00–01:00 whatever the day
    held; it goes to the hour of now on today, and of the latest recording on another day."""
    from zoneinfo import ZoneInfo

    from kustosz.web.cameras_page import timeline_window, zoom_links

    tz = ZoneInfo("Europe/Warsaw")
    day = date(2026, 3, 15)
    win, _ = timeline_window(day, "day", "", tz)
    focus = datetime(2026, 3, 15, 14, 37, tzinfo=tz)
    hour = "/cameras?day=2026-03-15&zoom=hour&at="
    assert zoom_links(day, win, tz, focus)["zoom_in"] == hour + "14:00"
    assert zoom_links(day, win, tz)["zoom_in"] == hour + "00:00"
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    now = datetime.now(tz)
    html = c.get(f"/cameras?day={now.date().isoformat()}").text
    assert f'&amp;zoom=hour&amp;at={now:%H}:00" id="zoom-in"' in html
    # a past day: where its latest recording is (14:20 three days ago)
    past = datetime.combine(now.date() - timedelta(days=3), time(14, 20), tzinfo=tz)
    record(m.vault, "cam-hol", past.astimezone(UTC), 1, tmp_path / "past")
    html = c.get(f"/cameras?day={past.date().isoformat()}").text
    assert '&amp;zoom=hour&amp;at=14:00" id="zoom-in"' in html


def test_first_day_is_for_administrators_only(office: Office) -> None:
    r = office.desk.get("/admin/first-day")
    assert r.status_code == 200 and 'id="item-allowlist" class="todo"' in r.text
    assert 'href="/admin/first-day"' in office.desk.get("/").text
    user(office.vault, "kierownik", ["approver"], password=None)
    other = signed_in(office.vault, "kierownik")
    assert other.get("/admin/first-day").status_code == 403
    assert 'href="/admin/first-day"' not in other.get("/").text
