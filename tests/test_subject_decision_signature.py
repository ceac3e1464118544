"""The art. 15 answer's signature caption follows the rule the authorisation uses
(custody.papers.signs_as, documents.office.controller): the head signs as the controller where
the clause names the head, else for the controller (issue 51: it always said "w imieniu")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import tests.test_documents_per_seed as per_seed
from kustosz.access.users import add_user
from kustosz.custody.decisions import on_paper
from kustosz.db.custody import Decision
from kustosz.documents import render
from kustosz.policy import load_policy
from tests.conftest import make_vault
from tests.test_real_regulation_presets import load

AS_CONTROLLER = "podpis administratora danych"
FOR_CONTROLLER = "podpis osoby działającej w imieniu administratora"
# the clause names the head as the controller: MOPS's Dyrektor, the Wójt of Włoszakowice
HEAD_IS_CONTROLLER = {"walbrzych", "wloszakowice"}


@pytest.mark.parametrize("name", ["boleslawiec", "elblag", "miedziana-gora", "pleszew",
                                  "walbrzych", "rawicz", "wloszakowice", "wieruszow"])
def test_the_blank_answer_is_signed_as_the_authorisation_is(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = name in ("boleslawiec", "elblag", "miedziana-gora", "pleszew", "walbrzych")
    policy = load_policy(name) if shipped else load(name)
    monkeypatch.setattr(per_seed, "load_policy", lambda preset: policy)
    text = per_seed._text(render("request-subject", per_seed._data(name, "request-subject")))
    want, other = ((AS_CONTROLLER, FOR_CONTROLLER) if name in HEAD_IS_CONTROLLER
                   else (FOR_CONTROLLER, AS_CONTROLLER))
    assert want in text and other not in text, text


@pytest.mark.parametrize("capacity,want", [("head", AS_CONTROLLER), ("deputy", FOR_CONTROLLER)])
def test_the_answer_names_the_capacity_of_who_signed(tmp_path: Path, capacity: str,
                                                     want: str) -> None:
    """Where the head is the controller the head signs as it; a deputy signs for it."""
    vault = make_vault(tmp_path / "vault", "walbrzych")
    try:
        with vault.transaction() as s:
            add_user(s, "dyrektor", "Jan Kowalski", ["approver"], "test",
                     title=vault.policy.approver_title)
            d = Decision(request_id=1, agree=False, decided_by="dyrektor", capacity=capacity,
                         decided_on=date(2026, 3, 2), reason="art. 15 ust. 4 RODO",
                         recorded_by="t", recorded_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
                         keyed_by="dyrektor", paper_ref=None)
            block = on_paper(s, vault.policy, d)
            s.rollback()
        text = per_seed._text(render("decision", {
            **vault.policy.doc_names(), "request_id": 1, "received_on": "01.03.2026",
            "date": "02.03.2026", "requester": "Jan Nowak", "kind_pl": "osoba",
            "subject": "nagranie", "purpose": None, "data_subject": True, "decision": block,
            "decisions": [block]}))
    finally:
        vault.close()
    other = FOR_CONTROLLER if want == AS_CONTROLLER else AS_CONTROLLER
    assert want in text and other not in text, text
