"""The clerk's day without stumbles (issue 29 items 7–12), through the web application's own
routes and the real `kustosz` command: a police period across midnight (also on the nights the
clocks change), a copy's real state and both dates of its period, people in Polish
alphabetical order by surname, the office's day from 00:00 Warsaw time, registers as Polish
Excel opens them, an alert address of the local mail server, a one-time password from `users
add`, and the review of a masked copy offered only to whom may carry it out. The pages
themselves are looked at in Chromium in test_issue29_browser.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tests.conftest import Cli, snapshot
from tests.custody.custody_helpers import people, record, setup_camera
from web_helpers import (
    Material,
    authorise,
    client,
    csrf_in,
    csrf_of,
    login,
    request_of,
    session_for,
    signed_in,
    user,
)

from kustosz.access import employees
from kustosz.access.users import list_users
from kustosz.collation import person_key, polish_key
from kustosz.config import read_config
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.access import Employee, NoticeAcknowledgment
from kustosz.db.custody import Copy, Request
from kustosz.errors import ConfigError
from kustosz.vault import Vault

WARSAW = ZoneInfo("Europe/Warsaw")


# -- item 7: a police period across midnight ----------------------------------------------------
def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def _past_night(month: int) -> date:
    """The Saturday before the most recent past last Sunday of ``month`` (the night the
    clocks change in the European Union: March forward, October back)."""
    today = datetime.now(WARSAW).date()
    sunday = _last_sunday(today.year, month)
    if sunday >= today:
        sunday = _last_sunday(today.year - 1, month)
    return sunday - timedelta(days=1)


def _request_form(day: date, start: str, end: str) -> dict[str, str]:
    today = datetime.now(WARSAW).date().isoformat()
    return {"kind": "authority", "material": "video", "requester": "KPP Pleszew",
            "received_on": today, "event_date": day.isoformat(), "camera": "cam-hol",
            "description": "bójka przed wejściem", "purpose": "postępowanie",
            "period_from": start, "period_to": end}


@pytest.mark.parametrize(("night", "start", "end", "hours"), [
    ("yesterday", "23:50", "00:20", 0.5),
    # 29.03: 02:00 becomes 03:00 — from 23:30 to 03:30 on the clocks is 3 hours
    ("spring", "23:30", "03:30", 3.0),
    # 25.10: 03:00 becomes 02:00 again — 23:30 to 03:30 on the clocks is 5 hours
    ("autumn", "23:30", "03:30", 5.0),
])
def test_a_police_period_across_midnight_ends_on_the_next_day(
        sqlite_material: Material, night: str, start: str, end: str, hours: float) -> None:
    m = sqlite_material
    day = {"yesterday": datetime.now(WARSAW).date() - timedelta(days=1),
           "spring": _past_night(3), "autumn": _past_night(10)}[night]
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c),
                                  **_request_form(day, start, end)})
    assert r.status_code == 303, r.text[:2000]
    rid = int(re.search(r"/requests/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    margin = timedelta(minutes=m.vault.config.hold_margin_minutes)
    asked_from = datetime.combine(day, time.fromisoformat(start), tzinfo=WARSAW)
    asked_to = datetime.combine(day + timedelta(days=1), time.fromisoformat(end), tzinfo=WARSAW)
    with m.vault.reading() as s:
        req = s.get(Request, rid)
        assert req is not None
        assert req.start_at == asked_from.astimezone(UTC) - margin
        assert req.end_at == asked_to.astimezone(UTC) + margin
        assert req.end_at - req.start_at == timedelta(hours=hours) + 2 * margin
    page = c.get(f"/requests/{rid}")
    nxt = day + timedelta(days=1)
    # the request page reads the period back with both dates
    assert (f"<dt>Okres we wniosku</dt><dd>{day:%d.%m.%Y} {start} – {nxt:%d.%m.%Y} {end}</dd>"
            in page.text), page.text


def test_a_day_long_slip_is_still_refused(sqlite_material: Material) -> None:
    """16:30–14:00 is not a night: refused at its field, nothing registered."""
    m = sqlite_material
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    before = snapshot(m.vault)
    r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), **_request_form(
        datetime.now(WARSAW).date() - timedelta(days=1), "16:30", "14:00")})
    assert r.status_code == 422
    assert "okres przez północ (do godziny następnego dnia) może trwać najwyżej 12 godzin" \
        in r.text
    assert snapshot(m.vault) == before


# -- item 8: the copies page tells what became of each copy ------------------------------------
def _authority_copy(vault: Vault, start: datetime, seconds: int, tmp: Path) -> str:
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


def test_the_copies_page_says_handed_kept_destroyed_and_both_dates(
        sqlite_material: Material, tmp_path: Path) -> None:
    m = sqlite_material
    # Yesterday's midnight: a copy of the period across today's is refused in the first
    # half-minute of the day (its material cannot be complete yet).
    midnight = datetime.combine(datetime.now(WARSAW).date() - timedelta(days=1), time(0),
                                tzinfo=WARSAW)
    night = _authority_copy(m.vault, midnight - timedelta(seconds=2), 4, tmp_path / "night")
    hand_over(m.vault, m.copy_number, receiver="asp. Ewa Łęcka, KPP Pleszew", by="informatyk",
              actor="test")
    gone = _authority_copy(m.vault, midnight - timedelta(hours=5), 2, tmp_path / "gone")
    confirm(m.vault, gone, "komisja1", "test", reason="wniosek cofnięty")
    confirm(m.vault, gone, "komisja2", "test")
    today = datetime.now(WARSAW).strftime("%d.%m.%Y")  # the day it was handed and destroyed
    c = signed_in(m.vault, "informatyk")
    page = c.get("/copies").text
    rows = {n: page.split(f"<td>{n}</td>", 1)[1].split("</tr>", 1)[0]
            for n in (m.copy_number, night, gone)}
    assert f'<td class="copy-handed">wydana {today}' in rows[m.copy_number]
    assert '<td class="copy-kept">przechowywana' in rows[night]
    assert f'<td class="copy-destroyed">zniszczona {today}' in rows[gone]
    eve = (midnight - timedelta(days=1)).strftime("%d.%m.%Y")
    # both dates: the material runs from the evening into the next day
    assert f"<td>{eve} 23:59:58 – {midnight:%d.%m.%Y} 00:00:02</td>" in rows[night], rows[night]


# -- item 9: people in Polish alphabetical order, by surname -----------------------------------
NAMES = ["Marek Mazur", "Łucja Gęślicka", "Jan Lis", "Ewa Łęcka", "Anna Nowak-Kowalska",
         "Anna Nowakowska", "Piotr Ślusarczyk", "Adam Sowa", "Ewa Źrebiec", "Zofia Zięba",
         "Grażyna Żak", "Celina Ćwik", "Barbara Cichy", "Jerzy Łęcki"]
POLISH_ORDER = ["Barbara Cichy", "Celina Ćwik", "Łucja Gęślicka", "Jan Lis", "Ewa Łęcka",
                "Jerzy Łęcki", "Marek Mazur", "Anna Nowak-Kowalska", "Anna Nowakowska",
                "Adam Sowa", "Piotr Ślusarczyk", "Zofia Zięba", "Ewa Źrebiec", "Grażyna Żak"]


def test_the_polish_order() -> None:
    assert sorted(NAMES, key=person_key) == POLISH_ORDER
    words = ["żaba", "zebra", "źle", "łódź", "lody", "mama", "ćma", "cebula", "ósemka",
             "ogród", "pies", "śnieg", "sok", "ąb", "azot", "bąk", "Ala", "ala", "élan", "elf"]
    assert sorted(words, key=polish_key) == [
        "ala", "Ala", "azot", "ąb", "bąk", "cebula", "ćma", "élan", "elf", "lody", "łódź",
        "mama", "ogród", "ósemka", "pies", "sok", "śnieg", "zebra", "źle", "żaba"]
    assert person_key("Ewa Łęcka, sekretarz") < person_key("Marek Mazur")  # the title aside


def test_employees_and_users_are_listed_by_surname_in_polish_order(
        sqlite_material: Material) -> None:
    m = sqlite_material
    with m.vault.transaction() as s:
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\n" + "".join(
            f"{n};referent;Wydział;2026-01-05;E-{i}\n" for i, n in enumerate(NAMES)), "test")
    for i, n in enumerate(NAMES):
        user(m.vault, f"osoba{i}", ["viewer"], password=None, display=n)
    c = signed_in(m.vault, "informatyk")
    page = c.get("/employees").text
    assert [n for n in re.findall(r"<tr[^>]*><td>([^<]+)</td>", page) if n in NAMES] \
        == POLISH_ORDER
    users = c.get("/admin/users").text
    shown = re.findall(r"<tr><td>osoba\d+</td><td>([^<]+)</td>", users)
    assert shown == POLISH_ORDER
    with m.vault.reading() as s:  # the people of the material (people()) among them
        listed = [u.display_name for u in list_users(s)]
    assert listed == sorted(listed, key=person_key) and listed.index("Łukasz Gęślak") < \
        listed.index("Jan Kowalski") < listed.index("Zofia Żółtowska")
    out = Cli(m.vault.root)("users", "list").output
    at = [out.index(n) for n in POLISH_ORDER]
    assert at == sorted(at)


# -- item 10: the office's day begins at midnight in Warsaw ------------------------------------
def _hold_clock(monkeypatch: pytest.MonkeyPatch, module: str, at: datetime) -> None:
    """``datetime.now`` of ``module`` reads ``at`` (the clock's only stand-in)."""
    class Held(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return at.astimezone(tz or UTC)  # type: ignore[arg-type]

    monkeypatch.setattr(f"{module}.datetime", Held)


def _half_past_midnight() -> datetime:
    """00:30 of today in Warsaw: in UTC still yesterday (23:30 in winter, 22:30 in summer)."""
    return datetime.combine(datetime.now(WARSAW).date(), time(0, 30), tzinfo=WARSAW)


def test_the_declaration_form_takes_its_own_date_at_half_past_midnight(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    m = sqlite_material
    at = _half_past_midnight()
    assert at.astimezone(UTC).date() < at.date()
    _hold_clock(monkeypatch, "kustosz.access.employees", at)
    with m.vault.transaction() as s:
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\nJan Lis;referent;Wydział;"
                             f"{at.date().isoformat()};E-1\n", "test")
        emp_id = s.execute(select(Employee.id)).scalar_one()
    c = signed_in(m.vault, "informatyk")
    page = c.get("/employees").text
    # the form's own default: the office's day, which is already "tomorrow" in UTC
    typed = re.search(rf'id="f-on-{emp_id}" name="on" value="([^"]+)"', page)
    assert typed is not None and typed.group(1) == at.date().isoformat()
    r = c.post(f"/employees/{emp_id}/acknowledge",
               data={"csrf": csrf_in(page), "on": typed.group(1)})
    assert r.status_code == 303, r.text[-1500:]
    with m.vault.reading() as s:
        ack = s.execute(select(NoticeAcknowledgment)).scalar_one()
    assert ack.acknowledged_on == at.date()
    # the day after the office's today is still the future, and nothing is written
    with m.vault.transaction() as s:
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\nEwa Sowa;referent;Wydział;"
                             f"{at.date().isoformat()};E-2\n", "test")
        other = s.execute(select(Employee.id).where(Employee.external_id == "E-2")).scalar_one()
    before = snapshot(m.vault)
    r = c.post(f"/employees/{other}/acknowledge", data={
        "csrf": csrf_in(page), "on": (at.date() + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "Data oświadczenia jest w przyszłości." in r.text
    assert snapshot(m.vault) == before


def test_who_left_yesterday_is_not_counted_at_half_past_midnight(
        sqlite_material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    """Who left yesterday (Warsaw) is no longer counted among those without a declaration,
    at 00:30 as at noon; who leaves today still is."""
    m = sqlite_material
    at = _half_past_midnight()
    _hold_clock(monkeypatch, "kustosz.access.employees", at)
    with m.vault.transaction() as s:
        employees.import_csv(s, ";".join(employees.COLUMNS) + "\nJan Lis;referent;W;"
                             "2026-01-05;E-1\nEwa Sowa;referent;W;2026-01-05;E-2\n", "test")
        for ext, ends in (("E-1", at.date() - timedelta(days=1)), ("E-2", at.date())):
            s.execute(select(Employee).where(Employee.external_id == ext)).scalar_one() \
                .ends_on = ends
    page = signed_in(m.vault, "informatyk").get("/employees").text
    due = re.findall(r'<tr class="due"><td>([^<]+)</td>', page)
    assert due == ["Ewa Sowa"], due
    assert "<b>1</b> pracownik bez oświadczenia" in page


def test_a_demo_camera_is_noticed_on_the_office_day(
        sqlite_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    from kustosz.cameras.register import add_simulated_camera
    from kustosz.db.cameras import Camera

    at = _half_past_midnight()
    _hold_clock(monkeypatch, "kustosz.cameras.register", at)
    setup_camera(sqlite_vault, "cam-hol")  # the site and zone
    with sqlite_vault.transaction() as s:
        add_simulated_camera(s, sqlite_vault.policy, "cam-demo", "Ratusz", "hol parter", 2.0,
                             "test")
    with sqlite_vault.reading() as s:
        cam = s.execute(select(Camera).where(Camera.notice_date.is_not(None))
                        .order_by(Camera.id.desc())).scalars().first()
    assert cam is not None and cam.notice_date == at.date() and cam.signage_date == at.date()


# -- item 11: registers as Polish Excel opens them ----------------------------------------------
BOM = b"\xef\xbb\xbf"


def _excel(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM), body[:20]
    text = body[3:].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def _plain(body: bytes) -> list[list[str]]:
    assert not body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def test_register_csv_is_excel_ready_by_default_and_plain_on_request(
        sqlite_material: Material) -> None:
    m = sqlite_material
    hand_over(m.vault, m.copy_number, receiver="asp. Ewa Łęcka, KPP Pleszew", by="informatyk",
              actor="test")
    c = signed_in(m.vault, "informatyk")
    today = datetime.now(WARSAW).date()
    days = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}
    r = c.get("/registers/copies.csv", params=days)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = _excel(r.content)
    assert rows[0][0] == "Nr porządkowy kopii" and rows[1][0] == m.copy_number
    assert "Łęcka" in rows[1][-1]  # Polish letters intact
    plain = c.get("/registers/copies.csv", params={**days, "csv": "rfc4180"})
    assert _plain(plain.content) == rows
    # the access register, the API, and the command line have the same two forms
    log = c.get("/access-log", params={"format": "csv"})
    assert _excel(log.content)[0][:3] == ["Od", "Do", "Kto"]
    assert _plain(c.get("/access-log", params={"format": "csv", "csv": "rfc4180"}).content)[0][
        :3] == ["Od", "Do", "Kto"]
    api = signed_in(m.vault, "informatyk", api=True)
    q = {"from": days["start"], "to": days["end"], "format": "csv"}
    assert _excel(api.get("/api/registers/copies", params=q).content) == rows
    assert _plain(api.get("/api/registers/copies", params={**q, "csv": "rfc4180"}).content) \
        == rows
    cli = Cli(m.vault.root)
    for form, read in (("excel", _excel), ("rfc4180", _plain)):
        out = m.vault.root.parent / f"kopie-{form}.csv"
        cli("registers", "print", "--kind", "copies", "--from", days["start"], "--to",
            days["end"], "--format", "csv", "--csv", form, "--out", str(out), "--locations")
        assert read(out.read_bytes()) == rows


def test_an_unknown_csv_form_is_refused_in_polish(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    today = datetime.now(WARSAW).date().isoformat()
    r = c.get("/registers/copies.csv", params={"start": today, "end": today, "csv": "xlsx"})
    assert r.status_code == 422 and "Nieznana postać pliku CSV „xlsx”" in r.text
    r = c.get("/access-log", params={"format": "csv", "csv": "xlsx"})
    assert r.status_code == 422 and "Nieznana postać pliku CSV „xlsx”" in r.text
    api = signed_in(m.vault, "informatyk", api=True)
    r = api.get("/api/registers/copies", params={"from": today, "to": today, "csv": "xlsx"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "csv"
    bad = Cli(m.vault.root)("registers", "print", "--kind", "copies", "--from", today, "--to",
                            today, "--format", "csv", "--csv", "xlsx", ok=False)
    assert bad.exit_code == 2 and "Nieznana postać pliku CSV" in bad.output


# -- item 12: a local alert address, `users add`, the review offered to its reviewers -----------
def _alerts_toml(root: Path, to: str) -> None:
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + f'\n[alerts.email]\nhost = "localhost"\n'
                      f'from = "kustosz@localhost"\nto = [{to}]\n')


def test_a_mailbox_of_the_local_mail_server_is_an_alert_address(sqlite_vault: Vault) -> None:
    root = sqlite_vault.root
    sqlite_vault.close()
    _alerts_toml(root, '"it@localhost", "root@serwer", "it@um.pleszew.pl"')
    email = read_config(root).alerts.email
    assert email is not None and email.to == ("it@localhost", "root@serwer", "it@um.pleszew.pl")
    Cli(root)("users", "list")  # the vault opens (serve reads the same settings)


@pytest.mark.parametrize("to", ['"it@@localhost"', '"it@localhost."', '"it"', '"a@b..pl"'])
def test_a_wrong_alert_address_is_named_in_polish_with_its_key(sqlite_vault: Vault,
                                                               to: str) -> None:
    root = sqlite_vault.root
    sqlite_vault.close()
    _alerts_toml(root, to)
    with pytest.raises(ConfigError) as exc:
        read_config(root)
    # the schema's form (issue 31 item 2): the key's path, then what is wrong, in Polish
    assert exc.value.pl and "`alerts.email.to`: to nie jest adres e-mail: „" in exc.value.pl
    bad = Cli(root)("users", "list", ok=False)
    assert bad.exit_code == 2
    said = " ".join(bad.output.split())
    assert "błąd:" in said and "`alerts.email.to`: to nie jest adres e-mail" in said


def test_users_add_prints_the_one_time_password(sqlite_vault: Vault, tmp_path: Path) -> None:
    cli = Cli(sqlite_vault.root)
    out = cli("users", "add", "ewa", "--display", "Ewa Łęcka", "--role", "custodian").output
    found = re.search(r"Hasło jednorazowe \(pokazane tylko teraz; przy pierwszym logowaniu "
                      r"trzeba je zmienić\): (\S+)", out)
    assert found, out
    password = found.group(1)
    assert f"one-time password (shown only now; it must be changed at the first login): " \
           f"{password}" in out and "kustosz users reset ewa" in out
    # it signs in (and is asked for a new password at once)
    c = client(sqlite_vault)
    r = login(c, "ewa", password)
    assert r.status_code == 303 and r.headers["location"].startswith("/account/password")
    # never written down: not in the audit log, not in the logs
    with sqlite_vault.reading() as s:
        from kustosz.db.models import AuditEntry

        audit = " ".join(str(e.details) for e in s.execute(select(AuditEntry)).scalars())
    assert password not in audit
    for log in sqlite_vault.root.rglob("*.log"):
        assert password not in log.read_text(errors="replace")


def test_the_review_is_offered_only_to_whom_it_allows(vault: Vault, tmp_path: Path) -> None:
    """The data protection officer reads the review page of a masked copy but is not a
    reviewer (custody.subject_review.REVIEW_ROLES): no "Otwórz nagranie do przeglądu", no
    decision buttons, the reason instead — and his POST is refused as before. A second
    custodian is offered both."""
    people(vault)
    setup_camera(vault, "cam-hol")
    user(vault, "kustosz2", ["custodian"], display="Maria Wrona")
    user(vault, "iod", ["dpo"], display="Iwona Dąbrowska")
    authorise(vault, "kustosz2", ["export"], kinds=["camera"])
    authorise(vault, "iod", ["playback"], kinds=["camera"])
    base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    record(vault, "cam-hol", base, 2, tmp_path / "seg")
    rid = request_of(vault, base, ["cam-hol"], 4)
    copy = make_copy(vault, rid, "informatyk", "test")
    assert copy.review_state == "awaiting"
    url = f"/review/{copy.year}/{copy.seq}"
    dpo = signed_in(vault, "iod")
    page = dpo.get(url)
    assert page.status_code == 200
    assert 'id="open-review"' not in page.text and 'id="approve"' not in page.text
    assert 'id="send-back"' not in page.text
    assert 'id="not-reviewer"' in page.text and "nie może przeglądać kopii" in page.text
    before = snapshot(vault)
    r = dpo.post(f"{url}/open", data={"csrf": csrf_in(page.text)})
    assert r.status_code == 422 and "nie może przeglądać kopii" in r.text
    assert snapshot(vault) == before
    second = signed_in(vault, "kustosz2").get(url).text
    assert 'id="open-review"' in second and 'id="approve"' in second
    assert 'id="not-reviewer"' not in second
    maker = signed_in(vault, "informatyk").get(url).text
    assert 'id="own-copy"' in maker and 'id="open-review"' not in maker
    with vault.reading() as s:
        assert s.execute(select(Copy.review_state).where(Copy.id == copy.id)).scalar_one() \
            == "awaiting"
