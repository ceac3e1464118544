"""Issue 49 item 2: the answer to a data subject names the recipients the law means, and
never a public authority that received the same material within an inquiry (art. 4 pkt 9
zd. 2 RODO: it is no recipient, and naming the police can tip off a suspect) nor another data
subject (art. 15 ust. 4: that person's name and request are that person's data). Copies go
to no one else (custody.handover.RECEIVING_KINDS), so the letter names the recipients' categories
(the policy's) and says no copy went to a recipient as art. 4 pkt 9 means one. Video and calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from custody_helpers import reviewed
from tests.custody.test_papers30 import (
    VIDEO,
    _answered,
    _flat,
    _office,
    _subject_spec,
    text_of,
)
from tests.office_day import office_today

from kustosz.custody import papers
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import register_request
from kustosz.documents import render
from kustosz.vault import Vault

POLICE = "asp. Jan Nowak, Komenda Powiatowa Policji"
NEIGHBOUR = "Maria Wiśniewska"


def _handed(vault: Vault, preset: str, start: datetime, kind: str, receiver: str,
            requester: str) -> None:
    extra: dict[str, object] = {"requester": requester}
    if kind != "data_subject":
        extra.update(purpose="postępowanie", description="zdarzenie", case_ref="RSD-1/26")
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, _subject_spec(
            preset, start, start + timedelta(seconds=4), kind=kind, **extra), "t").id
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
    copy = make_copy(vault, rid, "informatyk", "t")
    if preset in VIDEO and kind == "data_subject":
        reviewed(vault, copy.number)
    hand_over(vault, copy.number, receiver=receiver, by="informatyk", actor="t",
              request_id=rid, medium="płyta CD")


def _letter(vault: Vault, rid: int) -> str:
    with vault.reading() as s:
        name, data = papers.answer_letter_doc(s, vault.policy, rid)
    pdf = render(name, data)
    (vault.root.parent / "letter.pdf").write_bytes(pdf)  # to be looked at as a page image
    return _flat(text_of(pdf))


@pytest.mark.slow
@pytest.mark.parametrize("preset", ("pleszew", "walbrzych"))
def test_the_answer_names_no_authority_and_no_other_data_subject(preset: str,
                                                                 tmp_path: Path) -> None:
    vault, start = _office(preset, tmp_path)
    try:
        _handed(vault, preset, start, "authority", POLICE, "Komenda Powiatowa Policji")
        _handed(vault, preset, start, "data_subject", NEIGHBOUR, f"{NEIGHBOUR}, ul. Polna 1")
        rid, _number = _answered(vault, preset, start)
        letter = _letter(vault, rid)
        assert "Odbiorcy danych" in letter
        for unsaid in ("Nowak", "Policji", NEIGHBOUR, "przekazano dotąd:", "nikomu"):
            assert unsaid not in letter, (unsaid, letter)
        assert "nie przekazano dotąd odbiorcom w rozumieniu art. 4 pkt 9 RODO" in letter

    finally:
        vault.close()


def test_copies_go_to_no_one_the_letter_would_have_to_name() -> None:
    """The letter's sentence holds while copies go only to authorities and data subjects: a
    new receiving kind (a recipient in law) must be named in the letter, and fails here."""
    from kustosz.custody.handover import RECEIVING_KINDS

    assert set(RECEIVING_KINDS) == {"authority", "data_subject"}


@pytest.mark.slow
@pytest.mark.parametrize("preset", ("pleszew", "walbrzych", "miedziana-gora", "boleslawiec"))
def test_the_right_to_object_is_told_where_the_basis_is_a_public_task(
        preset: str, tmp_path: Path) -> None:
    """Issue 49 item 5: art. 15 ust. 1 lit. e RODO — where the office processes on art. 6
    ust. 1 lit. e (Wałbrzych's clause pkt 2; Pleszew's commune and municipal guard tasks)
    the letter tells the right to object (art. 21), said once whether or not the office's
    clause says it; Bolesławiec's clause says it itself (its basis includes consent)."""
    vault, start = _office(preset, tmp_path)
    try:
        rid, _number = _answered(vault, preset, start)
        letter = _letter(vault, rid)
        told = letter.count("sprzeciw")
        if preset in ("pleszew", "walbrzych"):
            assert told == 1 and "art. 21 ust. 1 RODO" in letter, letter
        elif preset == "boleslawiec":
            assert told == 1 and "art. 21 ust. 1 RODO" not in letter, letter
        else:
            assert told == 0, letter
    finally:
        vault.close()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ("walbrzych", "pleszew", "boleslawiec"))
def test_the_signature_never_stands_alone_on_a_page(preset: str, tmp_path: Path) -> None:
    """Issue 49 item 7: Wałbrzych's answer letter put its signature alone onto page 2."""
    import io

    from pypdf import PdfReader

    vault, start = _office(preset, tmp_path)
    try:
        rid, _number = _answered(vault, preset, start)
        _letter(vault, rid)
        pages = [p.extract_text() or "" for p in
                 PdfReader(io.BytesIO((tmp_path / "letter.pdf").read_bytes())).pages]
    finally:
        vault.close()
    last = " ".join(pages[-1].split())
    assert "podpis osoby działającej w imieniu administratora" in last
    assert "prawo" in last, (len(pages), last)  # a paragraph goes with it
