"""The office's name and its heads' titles in the case each sentence needs (issue 12 item 7,
issue 13 "Documents"): "od Urząd Miasta", "w Urząd Miasta", "systemie monitoringu Urząd…"
were printed with the nominative. Table-driven over every preset: the declined forms the
preset states, and every document sentence that puts one of them inside a sentence, read back
from the rendered PDF.
"""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from kustosz.custody.papers import blank
from kustosz.documents import render
from kustosz.documents.announcements import announcement_data
from kustosz.errors import ConfigError
from kustosz.policy import load_policy, preset_names
from kustosz.policy.model import in_

# preset: (office, genitive, "w" + locative, head's title genitive (= accusative for these
# masculine persons' titles), deputy genitive, deputy accusative)
FORMS = {
    "boleslawiec": ("Urząd Miasta Bolesławiec", "Urzędu Miasta Bolesławiec",
                    "w Urzędzie Miasta Bolesławiec", "Prezydenta Miasta Bolesławiec",
                    "Zastępcy Prezydenta", "Zastępcę Prezydenta"),
    "elblag": ("Urząd Miejski w Elblągu", "Urzędu Miejskiego w Elblągu",
               "w Urzędzie Miejskim w Elblągu", "Prezydenta Miasta Elbląg",
               "Zastępcy Prezydenta", "Zastępcę Prezydenta"),
    "miedziana-gora": ("Urząd Gminy Miedziana Góra", "Urzędu Gminy Miedziana Góra",
                       "w Urzędzie Gminy Miedziana Góra", "Wójta Gminy Miedziana Góra",
                       "Zastępcy Wójta", "Zastępcę Wójta"),
    "pleszew": ("Urząd Miasta i Gminy Pleszew", "Urzędu Miasta i Gminy Pleszew",
                "w Urzędzie Miasta i Gminy Pleszew", "Burmistrza Miasta i Gminy Pleszew",
                "Zastępcy Burmistrza", "Zastępcę Burmistrza"),
    "walbrzych": ("Miejski Ośrodek Pomocy Społecznej w Wałbrzychu",
                  "Miejskiego Ośrodka Pomocy Społecznej w Wałbrzychu",
                  "w Miejskim Ośrodku Pomocy Społecznej w Wałbrzychu",
                  "Dyrektora Miejskiego Ośrodka Pomocy Społecznej w Wałbrzychu",
                  "Zastępcy Dyrektora", "Zastępcę Dyrektora"),
}


def test_every_preset_is_in_the_table() -> None:
    assert sorted(FORMS) == preset_names()


@pytest.mark.parametrize("preset", sorted(FORMS))
def test_each_preset_states_its_declined_forms(preset: str) -> None:
    office, gen, in_office, head_gen, deputy_gen, deputy_acc = FORMS[preset]
    n = load_policy(preset).names
    assert (n.office, n.office_gen, n.office_in) == (office, gen, in_office)
    assert (n.approver_gen, n.approver_acc) == (head_gen, head_gen)
    assert (n.deputy_gen, n.deputy_acc) == (deputy_gen, deputy_acc)


def _text(pdf: bytes) -> str:
    words = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", words)


def _decided_by_deputy(policy) -> dict:
    """The deputy's decision as the papers give it (custody.decisions.on_paper): the block is
    headed by the head's genitive, in whose name the deputy decides."""
    return {"agree": True, "on": "02.03.2026", "by": "Anna Nowak", "by_title":
            policy.deputy_title, "gen": policy.doc_names()["approver_gen"],
            "capacity": "deputy", "reason": None, "paper_ref": None, "entry": None}


# document -> (extra data, the sentences it must print: format keys are the Names fields)
SENTENCES = {
    "authorisation": ({"number": "1/2026", "holder": "Jan Kowalski", "scope": "odtwarzanie"},
                      ["zarejestrowanych w {system_loc} {office_gen} w zakresie"]),
    "request-calls": ({"requester": "Komenda Powiatowa Policji", "caller": "+48 75 000 00 00"},
                      ["o udostępnienie nagrań rozmów telefonicznych {office_gen}",
                       "Zwracam się o udostępnienie danych rozmów telefonicznych {office_gen} "
                       "z dnia", "Decyzja {approver_gen}"]),
    "request-video": ({"requester": "Jan Kowalski", "description": "kolizja"},
                      ["udostępnienie danych z monitoringu wizyjnego {office_gen} Zwracam się",
                       "danych z monitoringu wizyjnego {office_gen} z dnia",
                       "Decyzja {approver_gen}"]),
    "decision": ({"request_id": 7, "received_on": "01.03.2026", "date": "02.03.2026",
                  "requester": "Policja", "kind_pl": "uprawniony organ", "subject": "nagranie",
                  "purpose": "postępowanie", "decision": "DEPUTY"},
                 ["Decyzja {approver_gen}",
                  "Decyzja podjęta w zastępstwie przez {deputy_acc}, z powodu nieobecności "
                  "{approver_gen}."]),
    "listening-protocol": ({}, ["z odsłuchania rozmowy telefonicznej {office_in}",
                                "Stanowisko {approver_gen} co do dalszych czynności"]),
    "declaration": ({"employee": "Jan Kowalski", "position": "referent", "unit": None,
                     "version": "1", "purposes": None},
                    ["sposobie zastosowania monitoringu {office_in} (wersja"]),
}
# The nominative must never follow these words or stand where the genitive belongs.
WRONG = ("od {office}", "do {office}", "w {office}", "monitoringu {office}",
         "nieobecności: ", "Stanowisko — ", "Decyzję podjął", "jednostce: ", "jednostki: ")


# An office gets the request form of the material it keeps only (the refusals:
# tests/test_documents_per_seed.py).
NOT_KEPT = {("boleslawiec", "request-video"), ("walbrzych", "request-video"),
            ("elblag", "request-calls"), ("miedziana-gora", "request-calls"),
            ("pleszew", "request-calls"), ("elblag", "listening-protocol"),
            ("miedziana-gora", "listening-protocol"), ("pleszew", "listening-protocol")}
# Where an office's own regulation words a sentence otherwise (issue 30 item 10): Wałbrzych's
# interested person asks to secure calls (004 §7 ust. 4); an office that records calls only
# speaks of recording calls, not of monitoring.
OWN_SENTENCES = {
    ("walbrzych", "request-calls"): [
        "o zabezpieczenie nagrań rozmów telefonicznych {office_gen}",
        "Zwracam się o zabezpieczenie przed usunięciem nagrań rozmów telefonicznych "
        "{office_gen} z dnia", "Decyzja {approver_gen}"],
    ("walbrzych", "declaration"): ["sposobie rejestrowania rozmów telefonicznych {office_in} "
                                   "(wersja"],
    ("boleslawiec", "declaration"): ["sposobie rejestrowania rozmów telefonicznych "
                                     "{office_in} (wersja"],
}


@pytest.mark.parametrize("preset,document", [(p, d) for p in sorted(FORMS)
                                             for d in sorted(SENTENCES) if (p, d) not in NOT_KEPT])
def test_documents_put_the_office_and_its_head_in_the_right_case(preset: str,
                                                                  document: str) -> None:
    policy = load_policy(preset)
    names = policy.doc_names()
    extra, sentences = SENTENCES[document]
    sentences = OWN_SENTENCES.get((preset, document), sentences)
    data = blank(document, policy)
    data.update(extra)
    if data.get("decision") == "DEPUTY":
        data["decision"] = _decided_by_deputy(policy)
        data["decisions"] = [data["decision"]]
    text = _text(render(document, data))
    for sentence in sentences:
        assert sentence.format(**names) in text, (sentence, text)
    for wrong in WRONG:
        assert not re.search(r"(?<!\w)" + re.escape(wrong.format(**names)), text), (wrong, text)


# Only offices that record calls get announcements (the others' refusal is in
# tests/test_documents_per_seed.py).
@pytest.mark.parametrize("preset", ["boleslawiec", "walbrzych"])
def test_the_phone_announcement_names_the_office_in_the_genitive(preset: str) -> None:
    policy = load_policy(preset)
    data = announcement_data(policy)
    if preset == "boleslawiec":  # 001 §1 ust. 3, verbatim
        assert data["incoming"].startswith("Witamy w Urzędzie Miasta Bolesławiec.")
    else:  # 004 §8 ust. 2 words no message: none is made up (issue 66 item 3)
        assert data["incoming"] is None
    text = _text(render("announcement", data))
    assert "do: " not in text and f"do {FORMS[preset][0]}" not in text


# -- an office's own policy without declined forms -----------------------------------------
def test_a_policy_without_forms_names_the_office_in_a_construction_that_keeps_the_case() -> None:
    policy = load_policy("pleszew", {"office": {"name": "Szkoła Podstawowa nr 1 w Pleszewie",
                                                "approver_title": "Dyrektor Szkoły",
                                                "deputy_title": "Wicedyrektor"}})
    n = policy.names
    # the preset's "Urzędu Miasta i Gminy Pleszew" must not follow the school's own name
    assert n.office_gen == "jednostki: Szkoła Podstawowa nr 1 w Pleszewie"
    assert n.office_in == "w jednostce: Szkoła Podstawowa nr 1 w Pleszewie"
    assert n.approver_gen == n.approver_acc == "kierownika jednostki (Dyrektor Szkoły)"
    assert n.deputy_acc == "zastępcę kierownika jednostki (Wicedyrektor)"
    data = blank("request-video", policy)
    data["decision"] = _decided_by_deputy(policy)
    data["decisions"] = [data["decision"]]
    text = _text(render("request-video", data))
    assert "monitoringu wizyjnego jednostki: Szkoła Podstawowa nr 1 w Pleszewie" in text
    assert ("przez zastępcę kierownika jednostki (Wicedyrektor), z powodu nieobecności "
            "kierownika jednostki (Dyrektor Szkoły).") in text


def test_an_office_overriding_only_its_name_keeps_the_preset_titles_forms() -> None:
    n = load_policy("miedziana-gora", {"office": {
        "name": "Urząd Gminy Miedziana Góra", "name_genitive": "Urzędu Gminy Miedziana Góra",
        "name_locative": "Urzędzie Gminy Miedziana Góra"}}).names
    assert n.office_in == "w Urzędzie Gminy Miedziana Góra"
    n = load_policy("miedziana-gora", {"office": {"name": "Urząd Gminy w Miedzianej Górze",
                                                  "name_locative": "Urzędzie Gminy "
                                                                   "w Miedzianej Górze"}}).names
    assert n.office_in == "w Urzędzie Gminy w Miedzianej Górze"
    assert n.office_gen == "jednostki: Urząd Gminy w Miedzianej Górze"
    assert n.approver_gen == "Wójta Gminy Miedziana Góra"


def test_the_default_titles_are_declined() -> None:
    n = load_policy(None, {"office": {"name": "Gminny Ośrodek Kultury"},
                           "requests": {"deadline": "14 days", "after_deadline": "warn"},
                           "copies": {"lifetime": "3 months", "counted_from": "copy_date"},
                           "calls": {"scope": "all"}}).names
    assert (n.approver, n.approver_gen, n.approver_acc) == (
        "Kierownik jednostki", "Kierownika jednostki", "Kierownika jednostki")
    assert (n.deputy_gen, n.deputy_acc) == ("Zastępcy kierownika jednostki",
                                            "Zastępcę kierownika jednostki")


@pytest.mark.parametrize("key", ["name_genitive", "name_locative", "approver_title_genitive",
                                 "deputy_title_accusative"])
def test_an_empty_declined_form_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=key) as caught:
        load_policy("elblag", {"office": {key: "  "}})
    assert caught.value.pl and key in caught.value.pl


def test_a_declined_form_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="wrong type"):
        load_policy("elblag", {"office": {"name_genitive": 3}})


@pytest.mark.parametrize("locative,expected", [
    ("Urzędzie Miasta Bolesławiec", "w Urzędzie Miasta Bolesławiec"),
    ("Wrocławskim Centrum Usług", "we Wrocławskim Centrum Usług"),
    ("Wojewódzkim Urzędzie Pracy", "w Wojewódzkim Urzędzie Pracy"),
    ("Fryderykowskim Domu Kultury", "we Fryderykowskim Domu Kultury"),
    ("Miejskim Ośrodku Pomocy Społecznej w Wałbrzychu",
     "w Miejskim Ośrodku Pomocy Społecznej w Wałbrzychu"),
])
def test_w_or_we(locative: str, expected: str) -> None:
    assert in_(locative) == expected


def test_policy_show_prints_the_declined_forms(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--preset", "miedziana-gora")
    out = cli("policy", "show").output
    assert "od Urzędu Gminy Miedziana Góra; w Urzędzie Gminy Miedziana Góra" in out
    assert "decyzja Wójta Gminy Miedziana Góra; przez Wójta Gminy Miedziana Góra" in out
    assert "nieobecność Zastępcy Wójta; przez Zastępcę Wójta" in out


@pytest.mark.parametrize("preset,system", [
    ("walbrzych", "systemie rejestracji rozmów telefonicznych"),  # 004 §9 ust. 1, zał. 1
    ("boleslawiec", "systemie rejestracji rozmów telefonicznych"),
    ("pleszew", "systemie monitoringu"), ("elblag", "systemie monitoringu"),
    ("miedziana-gora", "systemie monitoringu")])
def test_the_authorisation_names_the_system_the_office_runs(preset: str, system: str) -> None:
    policy = load_policy(preset)
    data = {**blank("authorisation", policy), "number": "1/2026", "holder": "Jan Kowalski"}
    text = _text(render("authorisation", data))
    assert f"do przetwarzania danych osobowych w {system}" in text
    assert f"zarejestrowanych w {system} {policy.names.office_gen}" in text
