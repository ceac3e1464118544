"""An office's own wording as policy data (issue 51 item 1, policy/texts.py): a sixth office
states its clause, recipients, sign, announcements, declaration, annexes, register title, the
securing request, the cited request contents and its supervisor in its policy, with no code
of its own; bad wording is refused when the policy is loaded, naming the key."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from kustosz.cli.demo import demo_people
from kustosz.custody.papers import blank
from kustosz.custody.requests import _cite
from kustosz.documents import render
from kustosz.documents.announcements import announcement_data
from kustosz.documents.clauses import access_facts, clause_points
from kustosz.documents.sign import sign_data
from kustosz.errors import ConfigError
from kustosz.policy import Policy, load_policy
from kustosz.policy.model import Names, build_policy
from kustosz.policy.texts import NAME_FIELDS
from kustosz.states import RequestKind

# A sixth office, no preset: only its own file's values (a made-up office, not a real one).
SIXTH: dict[str, Any] = {
    "office": {"name": "Urząd Gminy Przykładowo", "name_genitive": "Urzędu Gminy Przykładowo",
               "name_locative": "Urzędzie Gminy Przykładowo", "approver_title": "Wójt Gminy",
               "approver_title_genitive": "Wójta Gminy",
               "approver_title_accusative": "Wójta Gminy"},
    "retention": {"camera": "14 days", "phone": "2 months"},
    "requests": {"securing_for_interested": True, "contents_clause": "§ 7 ust. 2 regulaminu"},
    "copies": {"lifetime": "1 month", "counted_from": "copy_date"},
    "calls": {"scope": "all"},
    "access": {"supervisor": "Sekretarz Gminy"},
    "documents": {
        "controller": "Wójt Gminy Przykładowo", "dpo_email": "iod@example.pl",
        "aims": "ochrony mienia gminy",
        "clause": {"camera": ["Administratorem jest {controller}; IOD: {dpo_email}.",
                              "Nagrania {office_gen} przechowuje się {period}, w celu {aims}."],
                   "recipients": "wyłącznie sąd i policja"},
        "sign": {"full_clause": True},
        "announcement": {"incoming": "Dzień dobry, tu {office}. Rozmowy są nagrywane.",
                         "outgoing": "Rozmowa jest nagrywana."},
        "declaration": {"purposes": "ochrony mienia gminy"},
        "annexes": {"request-video": "Załącznik nr 5 do regulaminu {office_gen}",
                    "register-disclosures": "Załącznik nr 6"},
        "registers": {"disclosures_title": "Rejestr udostępnień {office_gen}"},
    },
}


def _sixth() -> Policy:
    return build_policy(SIXTH)


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or ""
                                        for p in PdfReader(io.BytesIO(pdf)).pages))


def test_a_sixth_office_words_its_documents_in_its_policy_alone() -> None:
    policy = _sixth()
    assert clause_points(policy, "camera") == [
        "Administratorem jest Wójt Gminy Przykładowo; IOD: iod@example.pl.",
        "Nagrania Urzędu Gminy Przykładowo przechowuje się 14 dni, w celu ochrony mienia gminy."]
    assert clause_points(policy, "phone")[0].startswith("Administratorem Pani/Pana danych")
    assert access_facts(policy, "camera")["recipients"] == "wyłącznie sąd i policja"
    sign = sign_data(policy)
    assert sign["points"] == clause_points(policy, "camera") and sign["lines"] is None
    ann = announcement_data(policy)
    assert ann["incoming"] == "Dzień dobry, tu Urząd Gminy Przykładowo. Rozmowy są nagrywane."
    assert ann["outgoing"] == "Rozmowa jest nagrywana."
    request = blank("request-video", policy)
    assert request["annex"] == "Załącznik nr 5 do regulaminu Urzędu Gminy Przykładowo"
    assert blank("request-calls", policy)["securing"] is True
    assert blank("declaration", policy)["purposes"] == "ochrony mienia gminy"
    text = _text(render("request-video", request))
    assert "Załącznik nr 5 do regulaminu Urzędu Gminy Przykładowo" in text
    spec = type("Spec", (), {"kind": RequestKind.INTERESTED})()
    assert _cite(policy, spec) == " [§ 7 ust. 2 regulaminu]"
    assert demo_people(policy)["nadzor"][2] == "Sekretarz Gminy"


def test_an_office_without_its_own_wording_gets_the_general_one() -> None:
    bare = {k: v for k, v in SIXTH.items() if k not in ("documents", "requests", "access")}
    policy = build_policy(bare)
    assert blank("request-video", policy)["annex"] is None
    assert blank("request-calls", policy)["securing"] is False
    assert sign_data(policy)["points"] is None
    assert access_facts(policy, "camera")["recipients"] == \
        "wyłącznie podmioty uprawnione na podstawie przepisów prawa"
    spec = type("Spec", (), {"kind": RequestKind.INTERESTED})()
    assert _cite(policy, spec) == ""
    assert demo_people(policy)["nadzor"][2] == "osoba nadzorująca monitoring"


def test_a_preset_taken_under_another_name_drops_its_offices_wording() -> None:
    """The preset's annexes name its own office's regulation; another office does not print
    them (nor its clause, its declaration's wording)."""
    for preset, doc in (("boleslawiec", "request-calls"), ("walbrzych", "authorisation"),
                        ("pleszew", "request-video"), ("miedziana-gora", "declaration")):
        assert blank(doc, load_policy(preset))["annex"], (preset, doc)
        renamed = load_policy(preset, {"office": {"name": "Urząd Gminy Przykładowo"}})
        assert blank(doc, renamed)["annex"] is None, (preset, doc)
    renamed = load_policy("miedziana-gora", {"office": {"name": "Urząd Gminy Przykładowo"}})
    assert blank("declaration", renamed)["purposes"] is None


@pytest.mark.parametrize(("documents", "message"), [
    ({"clause": {"camera": ["Administratorem jest {controler}."]}},
     "documents.clause.camera[1]: unknown placeholder {controler}"),
    ({"clause": {"camera": ["ok", "okres {period} i {kolor}"]}},
     "documents.clause.camera[2]: unknown placeholder {kolor}"),
    ({"clause": {"recipients": "przez {period}"}},  # a period only in a clause's points
     "documents.clause.recipients: unknown placeholder {period}"),
    ({"annexes": {"request-video": "Załącznik {nr}"}},
     "documents.annexes.request-video: unknown placeholder {nr}"),
    ({"announcement": {"incoming": "Witamy {"}}, "documents.announcement.incoming"),
    ({"clause": {"camera": []}}, "documents.clause.camera lists no points"),
    ({"clause": {"camera": ["", "b"]}}, "documents.clause.camera[1] must be a non-empty"),
    ({"clause": {"camera": "jeden punkt"}}, "documents.clause.camera has the wrong type"),
    ({"clause": {"video": ["a"]}}, "unknown policy key documents.clause.video"),
    ({"annexes": {"poster": "Załącznik"}}, "unknown policy key documents.annexes.poster"),
    ({"sign": "tak"}, "policy [documents.sign] must be a table"),
    ({"sign": {"full_clause": "tak"}}, "documents.sign.full_clause has the wrong type"),
])
def test_bad_office_wording_is_refused_naming_the_key(documents: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_policy("pleszew", {"documents": documents})
    assert message in str(err.value)
    assert err.value.pl and "documents." in err.value.pl


def test_bad_rule_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"requests\.securing_for_interested has the wrong"):
        load_policy("walbrzych", {"requests": {"securing_for_interested": "tak"}})
    with pytest.raises(ConfigError, match=r"unknown policy key demo\.first"):
        load_policy("pleszew", {"demo": {"first": True}})


def test_the_placeholders_are_the_names_a_sentence_has() -> None:
    assert tuple(Names.__dataclass_fields__) == NAME_FIELDS
