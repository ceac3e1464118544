"""Issue 13 items 7-10 through the pages: the users page (positions of 003 §3 ust. 4, contractors'
processing agreements of 004 §6 ust. 3), the login of a contractor whose agreement ended, the
commission page where the head records appointments (002 zał. 5 §8 ust. 2), and a listening in
Bolesławiec (001 §1 ust. 2, §3 ust. 1 and 3): its purpose from the list, not closed without its
protocol. Bad input: a clear error at its field and nothing changed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import make_vault, snapshot
from tests.custody.custody_helpers import call, people, setup_phone
from web_helpers import authorise, csrf_in, csrf_of, login, signed_in, user

from kustosz.access import listening
from kustosz.db.access import ViewingSession
from kustosz.db.custody import CommissionAppointment, User
from kustosz.vault import Vault


def _said(text: str) -> str:
    return html.unescape(text)


@pytest.fixture
def office(web_vault: Vault) -> Vault:
    people(web_vault)
    user(web_vault, "admin", ["administrator"])
    return web_vault


# -- item 10: contractors [004 §6.3] -----------------------------------------------------------
def test_004_6_3_users_page_refuses_a_contractor_without_a_current_agreement(
        office: Vault) -> None:
    c = signed_in(office, "admin")
    csrf = csrf_of(office, c)
    base = {"csrf": csrf, "name": "serwis", "display_name": "Piotr Serwisant",
            "roles": "viewer", "contractor": "1"}
    today = datetime.now(UTC).astimezone(office.policy.timezone).date()
    before = snapshot(office)
    r = c.post("/admin/users", data={**base, "contractor_until": "2099-01-01"})
    assert r.status_code == 422
    assert "Konserwator ma dostęp tylko na podstawie umowy powierzenia" in _said(r.text)
    r = c.post("/admin/users", data={**base, "contractor_agreement": "UP/1/2026",
                                     "contractor_until": str(today - timedelta(days=1))})
    assert r.status_code == 422 and "już wygasła" in _said(r.text)
    r = c.post("/admin/users", data={**base, "contractor_agreement": "UP/1/2026",
                                     "contractor_until": "jutro"})
    assert r.status_code == 422 and "Nie rozumiem daty „jutro”" in _said(r.text)
    assert snapshot(office) == before
    until = today + timedelta(days=60)
    r = c.post("/admin/users", data={**base, "contractor_agreement": "UP/1/2026",
                                     "contractor_until": str(until)})
    assert r.status_code == 200, r.text
    listed = _said(c.get("/admin/users").text)
    assert f"konserwator — umowa powierzenia nr UP/1/2026 obowiązuje do {until:%d.%m.%Y}" \
        in listed
    # renewing with a last day in the past is refused at its field, nothing changed
    before = snapshot(office)
    r = c.post("/admin/users/serwis/contractor", data={
        "csrf": csrf, "contractor_agreement": "UP/2/2026",
        "contractor_until": str(today - timedelta(days=2))})
    assert r.status_code == 422 and 'id="err-contractor-serwis-until"' in r.text
    assert snapshot(office) == before


def test_004_6_3_an_ended_agreement_ends_login_and_sessions(office: Vault) -> None:
    today = datetime.now(UTC).astimezone(office.policy.timezone).date()
    from kustosz.access.users import add_user

    with office.transaction() as s:
        add_user(s, "serwis", "Piotr Serwisant", ["viewer"], "test",
                 contractor_agreement="UP/1/2026", contractor_until=today + timedelta(days=3))
    from kustosz.access import accounts

    with office.transaction() as s:
        u = s.execute(select(User).where(User.name == "serwis")).scalar_one()
        accounts.set_password(s, u, "Bardzo-tajne-hasło-1", "test")
    c = signed_in(office, "serwis")
    assert c.get("/").status_code == 200
    with office.transaction() as s:  # the agreement's last day was yesterday
        s.execute(select(User).where(User.name == "serwis")).scalar_one() \
            .contractor_until = today - timedelta(days=1)
    assert c.get("/").status_code in (302, 303)  # the session no longer opens anything
    fresh = signed_in(office, "admin")
    fresh.cookies.clear()
    r = login(fresh, "serwis")
    said = _said(r.text)
    assert r.status_code != 303 and "Umowa powierzenia nr UP/1/2026 obowiązywała do " \
        f"{today - timedelta(days=1):%d.%m.%Y}" in said
    assert "wygasła" in _said(signed_in(office, "admin").get("/admin/users").text)


# -- item 9: the commission [002 zał.5 §8.2] ---------------------------------------------------
def test_002_zal5_8_2_the_head_records_appointments_on_the_commission_page(
        office: Vault) -> None:
    with office.transaction() as s:
        from kustosz.access.users import add_user

        add_user(s, "komisja3", "Irena Trzecia", ["commission"], "test")
    head = signed_in(office, "burmistrz")
    csrf = csrf_of(office, head)
    assert '<a href="/commission">Komisja niszcząca</a>' in head.get("/").text  # the menu
    page = _said(head.get("/commission").text)
    assert "zarządzenie nr 1/2020 z dnia 02.01.2020" in page  # komisja1/2 (people())
    assert "wyznaczonych przez Burmistrza Miasta i Gminy Pleszew" in page
    member = signed_in(office, "komisja1")
    before = snapshot(office)
    r = head.post("/commission", data={"csrf": csrf, "member": "komisja3", "order_ref": "",
                                       "appointed_on": "2026-03-02"})
    assert r.status_code == 422 and "Podaj numer zarządzenia" in _said(r.text)
    r = head.post("/commission", data={"csrf": csrf, "member": "komisja3",
                                       "order_ref": "9/2026", "appointed_on": "2.3.26"})
    assert r.status_code == 422 and "Nie rozumiem daty" in _said(r.text)
    r = member.post("/commission", data={"csrf": csrf_of(office, member), "member": "komisja3",
                                         "order_ref": "9/2026", "appointed_on": "2026-03-02"})
    assert r.status_code == 403  # only the head (approver) appoints
    assert snapshot(office) == before
    r = head.post("/commission", data={"csrf": csrf, "member": "komisja3",
                                       "order_ref": "9/2026", "appointed_on": "2026-03-02"})
    assert r.status_code == 303
    assert "zarządzenie nr 9/2026 z dnia 02.03.2026" in _said(head.get(r.headers["location"])
                                                              .text)
    with office.reading() as s:
        row = s.execute(select(CommissionAppointment).where(
            CommissionAppointment.member == "komisja3")).scalar_one()
    assert row.approver == "burmistrz" and row.order_ref == "9/2026"


# -- item 7: positions [003 §3.4] --------------------------------------------------------------
@pytest.fixture
def gmina(tmp_path: Path, backend_url: str) -> Iterator[Vault]:
    v = make_vault(tmp_path / "mg", "miedziana-gora", url=backend_url)
    user(v, "admin", ["administrator"])
    from kustosz.access.users import add_user

    with v.transaction() as s:
        add_user(s, "ewa", "Ewa Sekretarska", ["viewer"], "test", position="Sekretarz Gminy")
    yield v
    v.close()


def test_003_3_4_users_page_offers_the_listed_positions(gmina: Vault) -> None:
    c = signed_in(gmina, "admin")
    page = _said(c.get("/admin/users").text)
    assert "Z nagraniami zapoznają się tylko osoby na stanowiskach: Wójt Gminy, Zastępca " \
           "Wójta, Sekretarz Gminy, informatyk" in page
    assert '<option value="informatyk">informatyk</option>' in page
    before = snapshot(gmina)
    r = c.post("/admin/users/ewa/position", data={"csrf": csrf_of(gmina, c),
                                                  "position": "referent"})
    assert r.status_code == 422 and "Stanowiska „referent” nie ma w wykazie" in _said(r.text)
    assert snapshot(gmina) == before
    r = c.post("/admin/users/ewa/position", data={"csrf": csrf_of(gmina, c), "position": ""})
    assert r.status_code == 303
    with gmina.reading() as s:
        assert s.execute(select(User.position).where(User.name == "ewa")).scalar_one() is None


# -- item 8: listening in Bolesławiec [001 §1.2, §3.1, §3.3] ------------------------------------
@pytest.fixture
def miasto(tmp_path: Path, backend_url: str) -> Iterator[tuple[Vault, int]]:
    v = make_vault(tmp_path / "b", "boleslawiec", url=backend_url)
    people(v)
    setup_phone(v, tmp_path / "pbx")
    (tmp_path / "calls").mkdir()
    rec = call(v, tmp_path / "calls", datetime.now(UTC) - timedelta(hours=1), "+48600100200")
    user(v, "ola", ["viewer"], password=None)
    authorise(v, "ola", ["listening"], kinds=["phone"])
    yield v, rec.id
    v.close()


PURPOSE = "zapewnienie jakości obsługi interesantów, zwłaszcza w zakresie skarg i wniosków"


def test_001_3_listening_purpose_from_the_list_and_no_close_without_protocol(
        miasto: tuple[Vault, int]) -> None:
    v, rid = miasto
    c = signed_in(v, "ola")
    form = _said(c.get(f"/media/start?action=listening&recording={rid}").text)
    assert f'<option value="{PURPOSE}">' in form and "<textarea" not in form.split(
        'name="purpose"')[0][-300:]
    csrf = csrf_in(form)
    before = snapshot(v)
    r = c.post("/media/start", data={"csrf": csrf, "action": "listening",
                                     "recording": str(rid), "purpose": "ciekawość",
                                     "case_ref": "OR.152.1.2026"})
    assert r.status_code == 422
    assert "tylko w jednym z celów określonych w zarządzeniu" in _said(r.text)
    assert snapshot(v) == before
    r = c.post("/media/start", data={"csrf": csrf, "action": "listening",
                                     "recording": str(rid), "purpose": PURPOSE,
                                     "case_ref": "OR.152.1.2026"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    before = snapshot(v)
    r = c.post(f"/view/{token}/end", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/view/{token}?protocol=missing"
    assert snapshot(v) == before  # nothing closed
    assert '<p class="error box">Odsłuchania nie można zakończyć bez protokołu' in _said(
        c.get(r.headers["location"]).text)
    with v.reading() as s:
        assert [x.id for x in listening.without_protocol(s, v.policy)] == [
            s.execute(select(ViewingSession.id)).scalar_one()]
        assert s.execute(select(ViewingSession.ended_at)).scalar_one() is None
    head = signed_in(v, "burmistrz")  # the supervisor's dashboard shows it until it is filed
    assert re.search(r'id="no-protocol"><b>1</b><span>odsłuchanie rozmów bez protokołu',
                     head.get("/").text)
    r = c.post(f"/view/{token}/protocol", data={"csrf": csrf, "listeners": "Ola, inspektor",
                                                 "breach": "skarga na obsługę"})
    assert r.status_code == 303
    assert c.post(f"/view/{token}/end", data={"csrf": csrf}).headers["location"] == "/"
    with v.reading() as s:
        assert s.execute(select(ViewingSession.ended_at)).scalar_one() is not None
        assert listening.without_protocol(s, v.policy) == []
    assert re.search(r'id="no-protocol"><b>0</b><span>odsłuchań', head.get("/").text)
