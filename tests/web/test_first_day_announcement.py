"""Issue 49 item 6, the first-day checklist: where the office records calls, callers must hear
that the call is recorded before it is (001 §1 ust. 3-4, 004 §8 ust. 2, art. 13 RODO), and
Kustosz, playing nothing to a caller, cannot hear whether they do. The item asks the
administrator to call the lines and confirm; the confirmation names who, when and which lines
(an audit entry), a line added later is not covered, and the item cites the office's own
clause — never another office's. An office that records no calls has no such item."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import make_vault, snapshot
from tests.custody.custody_helpers import people, setup_phone
from web_helpers import csrf_in, signed_in, user

from kustosz.db.models import AuditEntry
from kustosz.index.sources import add_source
from kustosz.phones import announcement
from kustosz.vault import Vault

WALBRZYCH = "§ 8 ust. 2 Regulaminu rejestrowania rozmów telefonicznych; art. 13 RODO"
BOLESLAWIEC = "§ 1 ust. 3 i 4 zarządzenia nr 259/2019 Prezydenta Miasta Bolesławiec"


def _text(html_text: str, key: str) -> str:
    part = html_text.split(f'id="item-{key}"')[1].split("</li>")[0]
    return " ".join(html.unescape(part).split())


def _office(tmp: Path, preset: str, url: str = "") -> Vault:
    v = make_vault(tmp / preset, preset, url=url)
    people(v)  # informatyk: custodian and administrator
    return v


def test_004_8_2_confirmation_names_who_when_and_the_lines(tmp_path: Path,
                                                           backend_url: str) -> None:
    v = _office(tmp_path, "walbrzych", backend_url)
    try:
        admin = signed_in(v, "informatyk")
        page = admin.get("/admin/first-day").text
        item = _text(page, "announcement")
        assert 'id="item-announcement" class="todo"' in page
        assert f"zanim zacznie się nagrywanie ({WALBRZYCH})" in item
        assert "Nie dodano jeszcze żadnej linii telefonicznej" in item
        assert "Potwierdzam" not in item  # nothing to confirm without a line
        assert "Gotowe: <b>1</b> z 8." in page
        # a refused confirmation (no line yet) records nothing
        before = snapshot(v)
        r = admin.post("/admin/first-day/announcement", data={"csrf": csrf_in(page)})
        assert r.status_code == 409 and "Żadna linia telefoniczna nie czeka" in html.unescape(
            r.text)
        assert snapshot(v) == before

        setup_phone(v, tmp_path / "pbx")
        page = admin.get("/admin/first-day").text
        item = _text(page, "announcement")
        assert "Nikt jeszcze tego nie potwierdził; linie: centrala." in item
        assert "zadzwoń na każdą z nich z zewnątrz" in item
        r = admin.post("/admin/first-day/announcement", data={"csrf": csrf_in(page)})
        assert r.status_code == 303 and r.headers["location"].endswith("#item-announcement")
        page = admin.get("/admin/first-day").text
        item = _text(page, "announcement")
        assert 'id="item-announcement" class="done"' in page
        assert "Potwierdzenie: Piotr Wiśniewski, informatyk," in item
        assert "; linie: centrala." in item and "Potwierdzam" not in item
        with v.reading() as s:
            (entry,) = s.execute(select(AuditEntry).where(
                AuditEntry.action == announcement.ACTION)).scalars()
            assert entry.actor == "informatyk"
            assert json.loads(entry.details)["lines"] == ["centrala"]
            assert json.loads(entry.details)["basis"] == WALBRZYCH

        # a line added afterwards is not covered by it
        with v.transaction() as s:
            add_source(s, v.policy, "centrala-2", "phone", "test")
        item = _text(admin.get("/admin/first-day").text, "announcement")
        assert "Bez potwierdzenia: centrala-2." in item and "Potwierdzam" in item
    finally:
        v.close()


def test_only_an_administrator_confirms_and_only_with_the_forms_token(tmp_path: Path) -> None:
    v = _office(tmp_path, "walbrzych")
    try:
        setup_phone(v, tmp_path / "pbx")
        user(v, "ola", ["viewer"], password=None)
        viewer, admin = signed_in(v, "ola"), signed_in(v, "informatyk")
        assert viewer.post("/admin/first-day/announcement",
                           data={"csrf": csrf_in(viewer.get("/").text)}).status_code == 403
        r = admin.post("/admin/first-day/announcement", data={"csrf": "nie-ten"})
        assert r.status_code in (400, 403)
        with v.reading() as s:
            assert announcement.confirmed(s) is None
            assert s.execute(select(AuditEntry).where(
                AuditEntry.action == announcement.ACTION)).first() is None
    finally:
        v.close()


def test_each_office_cites_its_own_clause(tmp_path: Path) -> None:
    v = _office(tmp_path, "boleslawiec")
    try:
        item = _text(signed_in(v, "informatyk").get("/admin/first-day").text, "announcement")
        assert f"({BOLESLAWIEC}; art. 13 RODO)" in item and "§ 8 ust. 2" not in item
    finally:
        v.close()


def test_an_office_recording_calls_without_a_clause_cites_only_art_13(
        web_vault: Vault, tmp_path: Path) -> None:
    """Pleszew's regulation covers video; this office set a period for calls itself."""
    people(web_vault)
    item = _text(signed_in(web_vault, "informatyk").get("/admin/first-day").text,
                 "announcement")
    assert "zanim zacznie się nagrywanie (art. 13 RODO)." in item
    assert "§" not in item


def test_a_renamed_office_on_a_preset_is_not_given_its_clause(tmp_path: Path) -> None:
    v = _office(tmp_path, "walbrzych")
    v.close()
    config = tmp_path / "walbrzych" / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.office]\nname = "MOPS w Testowie"\n')
    v = Vault.open(tmp_path / "walbrzych")
    try:
        with v.reading() as s:
            assert announcement.basis(v.policy) == "art. 13 RODO"
            assert announcement.records_calls(s, v.policy)
    finally:
        v.close()


@pytest.mark.parametrize("preset", ["pleszew", "elblag", "miedziana-gora"])
def test_an_office_recording_no_calls_has_no_such_item(tmp_path: Path, preset: str) -> None:
    v = _office(tmp_path, preset)
    try:
        admin = signed_in(v, "informatyk")
        page = admin.get("/admin/first-day").text
        assert 'id="item-announcement"' not in page and "Gotowe: <b>" in page
        assert "komunikatu dla dzwoniących" not in page
        r = admin.post("/admin/first-day/announcement",
                                            data={"csrf": csrf_in(page)})
        assert r.status_code == 409 and "nie nagrywa rozmów" in html.unescape(r.text)
    finally:
        v.close()
