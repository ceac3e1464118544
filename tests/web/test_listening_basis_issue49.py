"""Issue 49 item 18: each office's listening purposes and the paragraphs cited for them come
from its own policy. Wałbrzych listens only for the purposes of 004 §3 ust. 1 (§4 ust. 1), and
"System rejestracji rozmów telefonicznych nie stanowi środka kontroli wykonywania pracy przez
pracownika" (§4 ust. 2): a listening "to check an employee's work" is refused citing it, through
the start form and the API (there is no command for listening: a script uses the API), and
records nothing. The form's hint names each office's own paragraphs; Bolesławiec's stay
§1 ust. 2, §3 ust. 1 of its zarządzenie (001), word for word as before."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import make_vault, snapshot
from tests.custody.custody_helpers import call, people, setup_phone
from web_helpers import authorise, csrf_in, signed_in, user

from kustosz.access import listening
from kustosz.errors import ConfigError, FieldError
from kustosz.policy import load_policy, preset_names
from kustosz.vault import Vault

# 004 §3 ust. 1 pkt 1-3, as the regulation words them.
WALBRZYCH = ["zapewnienie bezpieczeństwa osób i mienia",
             "podniesienie standardu usług i zwiększenie poziomu obsługi klienta",
             "skuteczniejsza realizacja celów MOPS w Wałbrzychu"]
NOT_WORK_CONTROL = ("„System rejestracji rozmów telefonicznych nie stanowi środka kontroli "
                    "wykonywania pracy przez pracownika” (§4 ust. 2 regulaminu)")
BOLESLAWIEC_REFUSAL = (
    "Odsłuchanie rozmowy jest możliwe tylko w jednym z celów określonych w zarządzeniu "
    "(§1 ust. 2, §3 ust. 1): zapewnienie bezpieczeństwa informacji; zapewnienie jakości obsługi "
    "interesantów, zwłaszcza w zakresie skarg i wniosków; ochrona danych osobowych osób "
    "występujących jako rozmówcy. Wybierz cel z listy.")


def _said(text: str) -> str:
    return " ".join(html.unescape(text).split())


def test_004_4_walbrzych_listens_only_for_its_own_purposes_never_to_control_work() -> None:
    policy = load_policy("walbrzych")
    assert list(policy.access.listening_purposes) == WALBRZYCH
    for purpose in WALBRZYCH:
        listening.check_purpose(policy, "listening", purpose)
    for purpose in ("kontrola pracy pracownika", "ocena pracownika", ""):
        with pytest.raises(FieldError) as err:
            listening.check_purpose(policy, "listening", purpose)
        said = " ".join(err.value.pl.split())
        assert err.value.field == "purpose"
        assert "określonych w regulaminie (§3 ust. 1, §4 ust. 1)" in said
        assert NOT_WORK_CONTROL in said and "; ".join(WALBRZYCH) in said
        assert "§1 ust. 2" not in said and "zarządzeniu" not in said  # not Bolesławiec's
        assert "§4 ust. 2" in str(err.value)  # the API's English names the clause too
    listening.check_purpose(policy, "playback", "kontrola pracy pracownika")  # only listening


def test_001_boleslawiec_refusal_is_word_for_word_as_before() -> None:
    with pytest.raises(FieldError) as err:
        listening.check_purpose(load_policy("boleslawiec"), "listening", "ciekawość")
    assert err.value.pl == BOLESLAWIEC_REFUSAL


def test_a_preset_with_listening_purposes_cites_where_its_regulation_states_them() -> None:
    listed = [p for p in preset_names() if load_policy(p).access.listening_purposes]
    assert sorted(listed) == ["boleslawiec", "walbrzych"]
    for preset in listed:
        assert load_policy(preset).access.listening_basis.strip()


def test_an_office_without_a_basis_is_not_given_another_offices_paragraphs() -> None:
    policy = load_policy(None, {"office": {"name": "Urząd Gminy Testowo"},
                                "copies": {"lifetime": "3 months",
                                           "counted_from": "copy_date"},
                                "calls": {"scope": "all"},
                                "access": {"listening_purposes": ["obsługa skarg"]}})
    with pytest.raises(FieldError) as err:
        listening.check_purpose(policy, "listening", "ciekawość")
    assert "określonych w zasadach urzędu: obsługa skarg." in err.value.pl
    assert "§" not in err.value.pl


@pytest.mark.parametrize(("access", "said"), [
    ({"listening_basis": 3}, "wrong type"),
    ({"listening_not_for": ["a"]}, "wrong type"),
])
def test_bad_basis_values_are_refused(access: dict[str, object], said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        load_policy("walbrzych", {"access": access})


# -- through the pages and the API ----------------------------------------------------------
def _office(tmp: Path, preset: str, url: str) -> tuple[Vault, int]:
    v = make_vault(tmp / preset, preset, url=url)
    people(v)
    setup_phone(v, tmp / f"pbx-{preset}")
    (tmp / f"calls-{preset}").mkdir()
    rec = call(v, tmp / f"calls-{preset}", datetime.now(UTC) - timedelta(hours=1),
               "+48600100200")
    user(v, "ola", ["viewer"], password=None)
    authorise(v, "ola", ["listening"], kinds=["phone"])
    return v, rec.id


@pytest.fixture
def mops(tmp_path: Path, backend_url: str) -> Iterator[tuple[Vault, int]]:
    v, rid = _office(tmp_path, "walbrzych", backend_url)
    yield v, rid
    v.close()


def test_004_4_2_the_start_form_refuses_work_control_and_records_nothing(
        mops: tuple[Vault, int]) -> None:
    v, rid = mops
    c = signed_in(v, "ola")
    page = c.get(f"/media/start?action=listening&recording={rid}")
    form = _said(page.text)
    for purpose in WALBRZYCH:
        assert f'<option value="{purpose}">' in form
    hint = form.split('id="hint-purpose">')[1].split("</small>")[0]
    assert hint == ("tylko cele określone w regulaminie (§3 ust. 1, §4 ust. 1); "
                    + NOT_WORK_CONTROL)
    before = snapshot(v)
    r = c.post("/media/start", data={"csrf": csrf_in(page.text), "action": "listening",
                                     "recording": str(rid),
                                     "purpose": "kontrola pracy pracownika",
                                     "case_ref": "DK.1.2026"})
    assert r.status_code == 422
    refusal = _said(r.text).split('id="err-purpose"')[1].split("</")[0]
    assert NOT_WORK_CONTROL in refusal and "(§3 ust. 1, §4 ust. 1)" in refusal
    assert "§1 ust. 2" not in _said(r.text)
    assert snapshot(v) == before
    r = c.post("/media/start", data={"csrf": csrf_in(page.text), "action": "listening",
                                     "recording": str(rid), "purpose": WALBRZYCH[1],
                                     "case_ref": "DK.1.2026"})
    assert r.status_code == 303, r.text


def test_004_4_2_the_api_refuses_work_control_and_records_nothing(
        mops: tuple[Vault, int]) -> None:
    v, rid = mops
    c = signed_in(v, "ola", api=True)
    before = snapshot(v)
    r = c.post("/api/media/sessions", json={"action": "listening", "recording": rid,
                                            "purpose": "kontrola pracy pracownika",
                                            "case_ref": "DK.1.2026"})
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["field"] == "purpose" and "§4 ust. 2" in problem["msg"]
    assert snapshot(v) == before


def test_the_hint_names_boleslawiecs_own_paragraphs(tmp_path: Path) -> None:
    v, rid = _office(tmp_path, "boleslawiec", "")
    try:
        form = _said(signed_in(v, "ola").get(f"/media/start?action=listening&recording={rid}")
                     .text)
        hint = form.split('id="hint-purpose">')[1].split("</small>")[0]
        assert hint == "tylko cele określone w zarządzeniu (§1 ust. 2, §3 ust. 1)"
    finally:
        v.close()
