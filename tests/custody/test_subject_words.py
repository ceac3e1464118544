"""Issue 49 items 8 and 11: what the registers say of a data subject's request — the hold
released at the handover names the person, not "an authorised body" (item 8), the register
of disclosures says access was granted, not "zgoda", and no sentence ends ".;" (item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.custody.test_papers30 import _answered, _office

from kustosz.custody import registers
from kustosz.db.custody import Request


@pytest.mark.parametrize("preset", ("pleszew", "walbrzych"))
def test_a_data_subjects_request_is_said_as_a_right_not_an_authoritys(
        preset: str, tmp_path: Path) -> None:
    vault, start = _office(preset, tmp_path)
    try:
        rid, number = _answered(vault, preset, start)
        with vault.engine.connect() as conn:
            actions = [r[0] for r in conn.exec_driver_sql(
                f"SELECT description FROM custody_actions WHERE request_id = {int(rid)}")]
        with vault.reading() as s:
            said = registers._resolution(s, s.execute(
                select(Request).where(Request.id == rid)).scalar_one(), vault.policy)
        assert not any("uprawnionemu organowi" in a for a in actions), actions
        # a data subject's hold ends at the handover (policy.model.SUBJECT_HOLD_ENDS)
        assert any(f"wydano kopię nr {number} osobie, której dane dotyczą" in a
                   for a in actions), actions
        assert said.startswith("udzielono dostępu — decyzja z "), said
        assert "zgoda" not in said and ".;" not in said and ". ;" not in said, said
    finally:
        vault.close()


@pytest.mark.parametrize(("preset", "helps", "unasked"), [
    ("walbrzych", "np. z kim lub w jakiej sprawie rozmawiano", "ubiór"),
    ("pleszew", "np. ubiór, rodzaj sprawy", "rozmawiano")])
def test_the_subjects_form_asks_what_finds_this_material(preset: str, helps: str,
                                                        unasked: str, tmp_path: Path) -> None:
    """Issue 49 item 15: the form of a data subject's request for calls asked for clothing."""
    from datetime import timedelta

    from tests.custody.test_papers30 import _subject_spec, text_of

    from kustosz.custody import papers
    from kustosz.custody.requests import register_request
    from kustosz.documents import render

    vault, start = _office(preset, tmp_path)
    try:
        with vault.transaction() as s:
            rid = register_request(s, vault.policy, _subject_spec(
                preset, start, start + timedelta(minutes=1)), "t").id
        with vault.reading() as s:
            form = text_of(render(*papers.request_form(s, vault.policy, rid)))
    finally:
        vault.close()
    assert helps in form and unasked not in form, form


@pytest.mark.parametrize(("preset", "caption"), [
    ("boleslawiec", "Prezydent Miasta Bolesławiec (w imieniu administratora danych)"),
    ("miedziana-gora", "Wójt Gminy Miedziana Góra (w imieniu administratora danych)"),
    ("walbrzych", "Społecznej w Wałbrzychu (administrator danych)")])
def test_the_head_signs_an_authorisation_in_the_capacity_the_clause_gives(
        preset: str, caption: str) -> None:
    """Issue 49 item 12: the head was captioned "(administrator danych)" where the office's
    clause names the commune as the controller."""
    from tests.custody.test_papers30 import text_of

    from kustosz.custody.papers import blank
    from kustosz.documents import render
    from kustosz.policy import load_policy

    text = text_of(render("authorisation", blank("authorisation", load_policy(preset))))
    assert caption in text, text


@pytest.mark.parametrize("preset", ("pleszew", "walbrzych"))
def test_the_handover_protocol_declines_no_name(preset: str, tmp_path: Path) -> None:
    """Issue 49 item 10: "przekazuje Maria Wiśniewska zwanemu dalej Przyjmującym" — the
    receiver's name in the nominative inside a dative phrase, and its gender guessed. The
    sentence now stands around the name."""
    from tests.custody.test_papers30 import text_of

    from kustosz.custody import papers
    from kustosz.documents import render

    vault, start = _office(preset, tmp_path)
    try:
        _rid, number = _answered(vault, preset, start)
        with vault.reading() as s:
            text = text_of(render(*papers.handover_doc(s, vault.policy, number)))
    finally:
        vault.close()
    assert "przekazuje osobie, której dane dotyczą, zwanej dalej Przyjmującym dane: " \
        "Jan Żółkiewski (osobiście) w odpowiedzi na żądanie z dnia" in text, text
    assert "zwanemu" not in text


@pytest.mark.parametrize(("preset", "title"), [
    ("walbrzych", "Rejestr kopii z systemu rejestracji rozmów telefonicznych"),
    ("pleszew", "Rejestr kopii")])
def test_the_copy_register_has_the_title_the_regulation_gives(preset: str, title: str,
                                                              tmp_path: Path) -> None:
    """Issue 49 item 14: 004 §7.8 names Wałbrzych's "rejestr kopii z systemu rejestracji
    rozmów telefonicznych"."""
    from datetime import date

    vault, _start = _office(preset, tmp_path)
    try:
        with vault.reading() as s:
            register = registers.copies(s, vault.policy, date(2026, 1, 1), date(2026, 12, 31))
    finally:
        vault.close()
    assert register.title == title


@pytest.mark.parametrize("preset", ("pleszew", "walbrzych"))
def test_a_data_subjects_copy_is_due_at_its_handover_and_its_label_is_theirs(
        preset: str, tmp_path: Path) -> None:
    """Issue 49 item 4: handed to the person, the office's copy stayed `kept` 3–4 months
    while its label said the office keeps only a record of it; and the label sealed inside
    the copy said "udostępniać wyłącznie uprawnionym organom"."""
    from datetime import UTC, datetime

    from tests.custody.test_papers30 import text_of

    from kustosz.custody.copies import get_copy, is_due
    from kustosz.db.custody import Handover

    vault, start = _office(preset, tmp_path)
    try:
        _rid, number = _answered(vault, preset, start)
        with vault.reading() as s:
            copy = get_copy(s, number)
            handed = s.execute(select(Handover.handed_at)).scalar_one()
        label = text_of((vault.root / copy.bundle / "label.pdf").read_bytes())
    finally:
        vault.close()
    assert copy.expires_at == handed and is_due(copy, datetime.now(UTC))
    assert "KOPIA DLA OSOBY, KTÓREJ DANE DOTYCZĄ" in label
    assert "uprawnionym organom" not in label and "zachowuje wyłącznie zapis" in label


def test_a_new_masks_times_default_to_the_period_asked(tmp_path: Path) -> None:
    """Issue 49 item 17: the mask form's times defaulted to the window held (the period asked
    with the office's margin on each side), not to the period asked — what the copy holds."""
    from datetime import timedelta

    from tests.custody.test_papers30 import _subject_spec

    from kustosz.custody.requests import register_request
    from kustosz.custody.subject_review import region_rows

    vault, start = _office("pleszew", tmp_path)
    tz = vault.policy.timezone
    try:
        with vault.transaction() as s:
            rid = register_request(s, vault.policy, _subject_spec(
                "pleszew", start, start + timedelta(minutes=2), margin_minutes=30), "t").id
        with vault.reading() as s:
            req = s.get(Request, rid)
            held = (req.start_at, req.end_at)
            rows = region_rows(req, tz)
    finally:
        vault.close()
    assert held[0] < start  # the hold's margin
    assert rows["start"] == start.astimezone(tz).strftime("%H:%M:%S")
    assert rows["end"] == (start + timedelta(minutes=2)).astimezone(tz).strftime("%H:%M:%S")
