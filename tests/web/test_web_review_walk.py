"""What a reviewer found walking every role in the browser after `make demo` (issue 12 items 7
and 8): English words and internal ids in the Polish pages, names where logins stood, the
request's state after its copy left the office, forms that said one error at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.conftest import snapshot
from tests.custody.custody_helpers import appoint_commission
from web_helpers import Material, authorise, csrf_of, signed_in, user

from kustosz.access.users import add_user
from kustosz.custody.destruction import confirm
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy
from kustosz.vault import Vault
from kustosz.web.media_register import asked_pl


def _day(m: Material, days: int = 1) -> str:
    return (datetime.now(m.vault.policy.timezone).date() - timedelta(days=days)).isoformat()


# -- item 3: token scopes in Polish --
def test_token_scopes_are_shown_in_polish_and_sent_as_before(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    form = c.get("/account/tokens").text
    for label in ("odczyt —", "dokumentacja (wnioski, kopie) —", "upoważnienia —",
                  "materiał (nagrania) —"):
        assert label in form
    assert 'value="read"' in form and 'value="media"' in form  # the values scripts send
    r = c.post("/account/tokens", data={"csrf": csrf_of(m.vault, c), "name": "skrypt",
                                        "days": "30", "scopes": ["read", "media"]})
    assert r.status_code == 201
    for page in (c.get("/account/tokens").text, c.get("/admin/tokens").text):
        assert "<td>odczyt, materiał (nagrania)</td>" in page
        assert "<td>read, media</td>" not in page
    assert "<td>Piotr Wiśniewski, informatyk</td>" in c.get("/admin/tokens").text
    # an unknown scope typed by hand: Polish quotes around it, the labels offered
    r = c.post("/account/tokens", data={"csrf": csrf_of(m.vault, c), "name": "x", "days": "30",
                                        "scopes": ["everything"]})
    assert r.status_code == 422 and "Nieznany zakres „everything”; dostępne: odczyt" in r.text


# -- item 4 and 37: register downloads --
def test_register_downloads_have_polish_file_names(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    q = "start=2026-01-01&end=2026-11-22"
    for kind, stem in (("disclosures", "rejestr-udostepnien"), ("copies", "rejestr-kopii"),
                       ("actions", "rejestr-dzialan")):
        for fmt, how in (("pdf", "inline"), ("csv", "attachment")):
            r = c.get(f"/registers/{kind}.{fmt}?{q}")
            assert r.status_code == 200, r.text[:200]
            assert r.headers["content-disposition"] == \
                f'{how}; filename="{stem}-2026-01-01-2026-11-22.{fmt}"'


def test_an_unknown_register_is_not_there(sqlite_material: Material) -> None:
    c = signed_in(sqlite_material.vault, "informatyk")
    for address in ("/registers/foo.pdf", "/registers/foo.pdf?start=2026-01-01&end=2026-02-01"):
        r = c.get(address)
        assert r.status_code == 404 and "Nie ma takiego rejestru" in r.text
        assert "podaj daty" not in r.text
    r = c.get("/registers/copies.xls?start=2026-01-01&end=2026-02-01")
    assert r.status_code == 404 and "jako PDF albo CSV" in r.text


# -- item 5 and 16: the access register --
def test_the_access_register_says_what_was_asked_for_and_the_whole_period(
        sqlite_material: Material) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    tz = m.vault.policy.timezone
    start = (datetime.now(tz) - timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    end = datetime.now(tz).replace(second=0, microsecond=0) - timedelta(minutes=1)
    c = signed_in(m.vault, "ola")
    r = c.post("/media/start", data={
        "csrf": csrf_of(m.vault, c), "action": "playback", "source": "cam-hol",
        "from": start.strftime("%Y-%m-%dT%H:%M"), "to": end.strftime("%Y-%m-%dT%H:%M"),
        "purpose": "wyjaśnienie szkody", "case_ref": "OR.1.2026", "witness": "burmistrz"})
    assert r.status_code == 303, r.text[:500]
    assert c.get("/media/nie-ma-takiej/copy.zip").status_code == 403
    user(m.vault, "iod", ["dpo"], password=None)
    page = signed_in(m.vault, "iod").get("/access-log").text
    # the period's end date is written out when it is another day
    assert f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M}" in page
    assert "kopia (ZIP) (nieznana sesja)" in page and "copy.zip" not in page


def test_what_a_refused_address_asked_for_in_words() -> None:
    assert asked_pl("materiał (nieznana sesja): vod.m3u8") == \
        "lista odtwarzania nagrania (nieznana sesja)"
    assert asked_pl("materiał (sesja nr 7): segment/12.ts") == "segment nagrania nr 12 (sesja nr 7)"
    assert asked_pl("materiał (sesja nr 7): audio") == "nagranie rozmowy (dźwięk) (sesja nr 7)"
    assert asked_pl("strona przeglądu (sesja nr 7)") == "strona przeglądu (sesja nr 7)"
    assert asked_pl("kopia nr 1/2026") == "kopia nr 1/2026"


# -- items 7, 20, 22: the request page --
def test_the_request_page_names_the_maker_with_a_label_and_the_state_after_handover(
        sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    page = c.get("/requests/1").text
    assert "Sporządził(a)</dt><dd>Piotr Wiśniewski, informatyk, " in page
    assert " przez " not in page
    assert "kopia sporządzona — czeka na wydanie" in page
    assert "Zapisz przekazanie" in page
    r = c.post("/requests/1/handover", data={"csrf": csrf_of(m.vault, c),
                                              "receiver": "asp. Jan Nowak, KPP Pleszew"})
    assert r.status_code == 303
    page = c.get("/requests/1").text
    today = datetime.now(m.vault.policy.timezone).strftime("%d.%m.%Y")
    assert f'<dd class="status-handed">kopia wydana {today}</dd>' in page
    assert "Zapisz przekazanie" not in page  # handed over on this request: no second form
    assert "Kopię wydano na ten wniosek" in page
    # the list's rows, not its search form (whose state choices name every state)
    listing = c.get("/requests").text.split('<table id="list">', 1)[1]
    assert f"kopia wydana {today}" in listing and "kopia sporządzona" not in listing


def test_a_destroyed_copy_shows_on_its_request(sqlite_material: Material) -> None:
    m = sqlite_material
    with m.vault.transaction() as s:
        s.execute(select(Copy)).scalar_one().expires_at = datetime.now(UTC) - timedelta(days=1)
    confirm(m.vault, m.copy_number, by="komisja1", actor="komisja1", reason="cofnięty wniosek")
    confirm(m.vault, m.copy_number, by="komisja2", actor="komisja2")
    c = signed_in(m.vault, "informatyk")
    today = datetime.now(m.vault.policy.timezone).strftime("%d.%m.%Y")
    assert f"kopia zniszczona {today}" in c.get("/requests/1").text
    assert f"kopia zniszczona {today}" in c.get("/requests").text


def test_the_request_page_shows_the_period_asked_for_and_the_period_held(
        sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    day = _day(m)
    r = c.post("/requests", data={
        "csrf": csrf_of(m.vault, c), "kind": "authority", "material": "video",
        "requester": "KPP Pleszew", "received_on": day, "event_date": day, "camera": "cam-hol",
        "description": "kradzież", "purpose": "postępowanie", "period_from": "14:00",
        "period_to": "16:30"})
    assert r.status_code == 303, r.text[:300]
    page = c.get(r.headers["location"].split("?")[0]).text
    shown = datetime.fromisoformat(day).strftime("%d.%m.%Y")
    margin = m.vault.config.hold_margin_minutes
    assert f"<dt>Okres we wniosku</dt><dd>{shown} 14:00–16:30</dd>" in page
    held_from = (datetime(2000, 1, 1, 14) - timedelta(minutes=margin)).strftime("%H:%M")
    held_to = (datetime(2000, 1, 1, 16, 30) + timedelta(minutes=margin)).strftime("%H:%M")
    assert (f"<dt>Okres zabezpieczony</dt><dd>{shown} {held_from}–{held_to} (z zapasem "
            f"{margin} min przed i po)</dd>") in page


# -- items 10 and 25: the request form's errors at their fields, Polish quotes --
def test_request_form_errors_from_the_domain_stand_at_their_fields(
        sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post("/requests", data={
        "csrf": csrf_of(m.vault, c), "kind": "authority", "material": "video",
        "requester": "KPP Pleszew", "received_on": _day(m, 3), "event_date": _day(m, 1),
        "camera": "cam-hol", "description": "kradzież", "purpose": "postępowanie",
        "approx_time": "25:99"})
    assert r.status_code == 422
    assert ('<p class="error" id="err-received_on">Data wniosku jest wcześniejsza niż data '
            'opisanego zdarzenia.</p>') in r.text
    assert ('<p class="error" id="err-approx_time">Przybliżona godzina „25:99” nie ma postaci '
            'GG:MM (np. 14:30).</p>') in r.text
    assert "'25:99'" not in r.text and 'class="notice error"' not in r.text
    assert snapshot(m.vault) == before


def test_a_calls_request_without_numbers_is_refused_at_the_number(
        sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post("/requests", data={
        "csrf": csrf_of(m.vault, c), "kind": "authority", "material": "calls",
        "requester": "KPP Pleszew", "received_on": _day(m), "event_date": _day(m),
        "purpose": "postępowanie"})
    assert r.status_code == 422
    assert '<p class="error" id="err-caller">Podaj numer dzwoniącego lub numer' in r.text
    assert snapshot(m.vault) == before


# -- item 25: the start form --
def test_the_start_form_says_every_missing_field_at_once(sqlite_material: Material) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    c = signed_in(m.vault, "ola")
    before = snapshot(m.vault)
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), "action": "playback",
                                     "source": "cam-hol", "from": "2026-01-01T10:00",
                                     "to": "2026-01-01T09:00"})
    assert r.status_code == 422
    for name, words in (("purpose", "Podaj cel dostępu."),
                        ("case_ref", "Podaj sprawę lub numer wniosku, któremu służy dostęp."),
                        ("witness", "Podaj osobę upoważnioną obecną przy przeglądzie"),
                        ("to", "Koniec okresu musi być po jego początku.")):
        assert f'<p class="error" id="err-{name}">{words}' in r.text, name
    assert snapshot(m.vault) == before


# -- item 27: a call request and its hold --
def test_a_call_request_names_its_line_and_leaves_out_what_is_unknown(
        sqlite_material: Material) -> None:
    m = sqlite_material
    tz = m.vault.policy.timezone
    day = m.call.start_at.astimezone(tz).date()
    with m.vault.transaction() as s:
        req = register_request(s, m.vault.policy, RequestSpec(
            kind="authority", material="calls", requester="KPP Pleszew",
            received_on=datetime.now(tz).date(), event_date=day, purpose="postępowanie",
            caller="+48600100200"), "informatyk")
        req_id, hold_id = req.id, req.hold_id
        assert req.items and not req.sources
    c = signed_in(m.vault, "informatyk")
    page = c.get(f"/requests/{req_id}").text
    assert "<dt>Linia telefoniczna</dt><dd>centrala (1 nagranie)</dd>" in page
    assert "<dt>Numer dzwoniącego</dt><dd>+48600100200</dd>" in page
    assert "→ ?" not in page and "<dt>Numer wybrany</dt>" not in page
    assert "<dt>Opis</dt>" not in page
    holds = c.get("/holds").text
    row = holds.split(f"<tr><td>{hold_id}</td>")[1].split("</tr>")[0]
    assert "centrala (1 nagranie)" in row and "nagr.)" not in row
    start = m.call.start_at.astimezone(tz)
    # a call's own times: to the second where either end has seconds (web.common.span_pl);
    # a start on the full minute still shows its seconds when the end has them
    clock = "%H:%M:%S" if any(t.second or t.microsecond
                              for t in (m.call.start_at, m.call.end_at)) else "%H:%M"
    assert start.strftime(f"%d.%m.%Y {clock}–") in row


# -- item 28: names, not logins --
def test_people_are_named_not_logged(sqlite_material: Material) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"], by="burmistrz")
    c = signed_in(m.vault, "informatyk")
    page = c.get("/authorisations").text
    assert "<td>Jan Kowalski" in page and "<td>burmistrz</td>" not in page
    with m.vault.transaction() as s:
        from kustosz.custody.holds import place_hold
        from kustosz.index.sources import get_source

        now = datetime.now(UTC)
        place_hold(s, sources=[get_source(s, "cam-hol")], start=now - timedelta(hours=3),
                   end=now - timedelta(hours=2), basis="kontrola", actor="demo")
    holds = c.get("/holds").text
    assert "<td>operator serwera (wiersz poleceń)</td>" in holds and "<td>demo</td>" not in holds


# -- item 31: the first member does not confirm twice --
def test_the_first_member_sees_her_confirmation_waiting(sqlite_material: Material) -> None:
    m = sqlite_material
    with m.vault.transaction() as s:
        s.execute(select(Copy)).scalar_one().expires_at = datetime.now(UTC) - timedelta(days=1)
    with m.vault.transaction() as s:
        add_user(s, "marta", "Marta Kamińska", ["commission"], "test", title="członek komisji")
    appoint_commission(m.vault, "marta")
    confirm(m.vault, m.copy_number, by="marta", actor="marta")
    c = signed_in(m.vault, "marta")
    mine = c.get("/copies").text
    assert "potwierdzone przez Ciebie — czeka na drugiego członka komisji" in mine
    assert "Drugie potwierdzenie" not in mine
    # item 9: had she sent it again, the title stands between commas
    r = c.post("/copies/destroy", data={"csrf": csrf_of(m.vault, c), "number": m.copy_number,
                                        "confirm": m.copy_number})
    assert r.status_code == 422
    assert "Marta Kamińska, członek komisji, już potwierdził(a) zniszczenie kopii" in r.text
    other = signed_in(m.vault, "komisja2").get("/copies").text
    assert "Drugie potwierdzenie" in other and "potwierdzone przez Ciebie" not in other


# -- item 35 and 37: no internal ids; empty tables say so --
def test_pages_show_no_requirement_ids_and_empty_tables_say_so(sqlite_web_vault: Vault) -> None:
    vault = sqlite_web_vault
    user(vault, "szef", ["approver", "administrator", "custodian"], password=None)
    c = signed_in(vault, "szef")
    for address, empty in (("/requests", "Brak wniosków."), ("/copies", "Brak kopii."),
                           ("/authorisations", "Brak upoważnień."),
                           ("/holds", "Brak zabezpieczeń.")):
        page = c.get(address).text
        assert empty in page, address
        assert "(R3.6)" not in page and "(R3.2)" not in page, address
    for address in ("/settings", "/cameras", "/"):
        page = c.get(address).text
        assert "(R1.7)" not in page and "(R3.5)" not in page and "(R3.6)" not in page


# -- item 34: role labels --
def test_role_labels_do_not_nest_brackets(sqlite_material: Material) -> None:
    page = signed_in(sqlite_material.vault, "informatyk").get("/admin/users").text
    assert "zatwierdzający — kierownik jednostki lub zastępca" in page
    assert "kontrola — " in page and "kontrola (kontrola" not in page
    assert "((" not in page and "))" not in page


# -- item 24 and 30: the listening protocol's file name, the copy's wording --
def test_export_start_and_view_speak_of_a_copy(sqlite_material: Material) -> None:
    m = sqlite_material
    authorise(m.vault, "informatyk", ["export"], sources=["cam-hol"])
    c = signed_in(m.vault, "informatyk")
    form = c.get(f"/media/start?action=export&copy={m.copy_number}").text
    assert "Zanim kopia zostanie pobrana" in form and "Zanim nagranie" not in form
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), "action": "export",
                                     "copy": m.copy_number, "purpose": "wydanie Policji",
                                     "case_ref": "OR.1.2026"})
    assert r.status_code == 303, r.text[:300]
    view = c.get(r.headers["location"]).text
    assert ">Zakończ</button>" in view and "Zakończ przegląd" not in view


def test_the_listening_protocol_is_named_and_its_maker_too(sqlite_material: Material) -> None:
    m = sqlite_material
    user(m.vault, "ola", ["viewer"], password=None, display="Ola Nowak")
    authorise(m.vault, "ola", ["listening"], kinds=["phone"])
    c = signed_in(m.vault, "ola")
    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c), "action": "listening",
                                     "recording": str(m.call.id), "purpose": "skarga",
                                     "case_ref": "OR.2.2026"})
    assert r.status_code == 303, r.text[:300]
    token = r.headers["location"].rsplit("/", 1)[1]
    assert ">Zakończ odsłuch</button>" in c.get(f"/view/{token}").text
    r = c.post(f"/view/{token}/protocol", data={
        "csrf": csrf_of(m.vault, c), "listeners": "Ola Nowak", "breach": "groźby"})
    assert r.status_code == 303
    number = r.headers["location"].split("?")[0].rstrip("/").rsplit("/", 1)[1]
    page = c.get(f"/protocols/{number}").text
    assert "Sporządził(a): Ola Nowak, " in page and "ola," not in page
    pdf = c.get(f"/protocols/{number}/pdf")
    assert pdf.headers["content-disposition"] == \
        f'inline; filename="protokol-odsluchania-{number}.pdf"'
