"""Issue 65 item 6: the accessibility statement had no publication or update date and no named
contact, and neither the first-day checklist nor `kustosz doctor` said so. What a complete
statement states (the Minister's "Warunki techniczne publikacji oraz struktura dokumentu
elektronicznego deklaracji dostępności", v2.0 of 31 July 2024, and gov.pl's guide "Jak
przygotować deklarację dostępności?"): the application's publication date and the date of its
last significant update, the date the statement was prepared and on what, and the contact of
the person designated for accessibility (name, e-mail, telephone). Each missing one is named,
in Polish first, on the first-day page and by doctor; a value that cannot be right (an update
before the publication, an e-mail that is no address, a number no one can dial) is refused."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_accessibility_statement import ADDRESS, _text, _with_config
from tests.conftest import Cli
from web_helpers import client, session_for, user

from kustosz.errors import ConfigError
from kustosz.policy import load_policy
from kustosz.vault import Vault

PERSON = "Józef Żółć 🙂"
COMPLETE = (f'\n[policy.accessibility]\ncontact = "{PERSON}"\n'
            'email = "dostepnosc@pleszew.example"\nphone = "+48 62 742 83 99"\n'
            'published = "2025-10-01"\nupdated = "2026-02-16"\nprepared = "2026-03-02"\n'
            'self_assessment = true\n')
REQUIRED = ["published", "updated", "prepared", "self_assessment", "contact", "email", "phone"]


def _first_day(vault: Vault, lang: str = "pl") -> str:
    user(vault, "admin", ["administrator"], password=None)
    c = client(vault)
    session_for(vault, c, "admin")
    c.cookies.set("kustosz_lang", lang, domain="testserver.local")
    r = c.get("/admin/first-day")
    assert r.status_code == 200
    m = re.search(r'<li id="item-accessibility" class="(\w+)">(.*?)</li>\n</?', r.text, re.S)
    assert m is not None, "the first-day page has no accessibility item"
    return f'{m.group(1)} {m.group(2)}'


def test_the_first_day_names_what_the_statement_lacks(tmp_path: Path) -> None:
    """A fresh Pleszew vault: its regulation gives the office's phone ([documents]) but no
    e-mail, and nothing of the statement's own."""
    vault = _with_config(tmp_path / "vault", "")
    try:
        item = _first_day(vault)
        assert item.startswith("todo ")
        text = _text(item)
        assert "Deklaracja dostępności nie podaje jeszcze:" in text
        for words, key in (("data publikacji aplikacji", "published"),
                           ("data ostatniej istotnej aktualizacji", "updated"),
                           ("data sporządzenia deklaracji", "prepared"),
                           ("imię i nazwisko osoby odpowiedzialnej za dostępność", "contact"),
                           ("adres e-mail do spraw dostępności", "email")):
            assert f"{words} — {key}" in text, words
        assert "numer telefonu" not in text  # the office's own, as the statement prints it
        assert "[policy.accessibility]" in text and 'href="/deklaracja-dostepnosci"' in item
        english = unescape(_text(_first_day_again(vault, "en")))
        assert "The accessibility statement does not yet give:" in english
        assert "the application's publication date — published" in english
    finally:
        vault.close()


def _first_day_again(vault: Vault, lang: str) -> str:
    c = client(vault)
    session_for(vault, c, "admin")
    c.cookies.set("kustosz_lang", lang, domain="testserver.local")
    html = c.get("/admin/first-day").text
    return html.split('id="item-accessibility"', 1)[1].split("</li>\n</", 1)[0]


def test_a_complete_statement_is_done_and_printed_whole(tmp_path: Path) -> None:
    vault = _with_config(tmp_path / "vault", COMPLETE)
    try:
        assert _first_day(vault).startswith("done ")
        html = client(vault).get(ADDRESS).text
        assert '<span id="a11y-osoba">Józef Żółć 🙂</span>' in html
        assert 'href="mailto:dostepnosc@pleszew.example"' in html
        assert '<span id="a11y-telefon">+48 62 742 83 99</span>' in html
        assert '<time id="a11y-data-publikacja" datetime="2025-10-01">' in html
        assert '<time id="a11y-data-aktualizacja" datetime="2026-02-16">' in html
        assert "nie podano" not in _text(html) and "a11y-bez-osoby" not in html
    finally:
        vault.close()


def test_a_person_without_their_own_lines_is_reached_through_the_offices(
        tmp_path: Path) -> None:
    """A named person with no e-mail or phone of their own: the statement prints the office's
    ([documents]) beside the name, never the name alone; what neither gives is printed as not
    given, and an administrator is shown the setting."""
    vault = _with_config(tmp_path / "vault", '\n[policy.accessibility]\ncontact = "Józef Żółć"'
                         '\n')
    try:
        html = client(vault).get(ADDRESS).text
        assert '<span id="a11y-osoba">Józef Żółć</span>' in html
        assert '<span id="a11y-telefon">62 742 83 00</span>' in html  # Pleszew's own
        assert '<span id="a11y-email" class="missing">nie podano</span>' in html
        user(vault, "admin", ["administrator"], password=None)
        c = client(vault)
        session_for(vault, c, "admin")
        assert "<code>[policy.accessibility] email</code>" in c.get(ADDRESS).text
    finally:
        vault.close()


def test_doctor_warns_of_the_missing_facts_and_passes_a_complete_statement(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    result = cli("doctor", "--json", ok=False)
    checks = {c["check"]: c for c in json.loads(result.output)["checks"]}
    check = checks["accessibility"]
    assert check["status"] == "WARN"
    for key in ("published", "updated", "prepared", "self_assessment", "contact", "email"):
        assert key in check["detail"] and key in check["pl"]
    assert "[policy.accessibility]" in check["detail"]
    assert check["pl"].startswith("Deklaracja dostępności (/deklaracja-dostepnosci) nie podaje: "
                                  "data publikacji aplikacji;")
    printed = cli("doctor", ok=False).output
    assert "Deklaracja dostępności (/deklaracja-dostepnosci) nie podaje" in printed
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + COMPLETE, "utf-8")
    result = cli("doctor", "--json", ok=False)
    checks = {c["check"]: c for c in json.loads(result.output)["checks"]}
    assert checks["accessibility"]["status"] == "OK", checks["accessibility"]


@pytest.mark.parametrize(("given", "said", "pl"), [
    ({"published": "2026-03-01", "updated": "2026-02-28"},
     r"accessibility\.updated 2026-02-28 is before accessibility\.published 2026-03-01",
     "aktualizacja aplikacji nie może poprzedzać jej publikacji"),
    ({"email": "Józef Żółć"}, r"accessibility\.email must be one e-mail address",
     "musi być jednym adresem e-mail"),
    ({"email": "a@b.pl, c@d.pl"}, r"accessibility\.email must be one", "jednym adresem"),
    ({"phone": "wew. 123"}, r"accessibility\.phone must be a number with its area code",
     "co najmniej 9 cyfr"),
    ({"phone": "📞 62 742"}, r"accessibility\.phone", "numerem kierunkowym"),
])
def test_a_value_that_cannot_be_right_is_refused(given: dict[str, str], said: str,
                                                 pl: str) -> None:
    with pytest.raises(ConfigError, match=said) as raised:
        load_policy("pleszew", {"accessibility": given})
    assert pl in raised.value.pl


def test_the_numbers_and_addresses_people_write_are_taken() -> None:
    for phone in ("62 742 83 99", "+48 62 742 83 99", "(62) 742-83-99 wew. 12", "627428399"):
        assert load_policy("pleszew", {"accessibility": {"phone": phone}}) \
            .accessibility["phone"] == phone
    for email in ("dostepnosc@pleszew.pl", "józef.żółć@urząd.example"):
        assert load_policy("pleszew", {"accessibility": {"email": email}}) \
            .accessibility["email"] == email


VALUES = {"published": "2025-10-01", "updated": "2026-02-16", "prepared": "2026-03-02",
          "self_assessment": True, "examiner": "Fundacja Dostępna Polska",
          "contact": PERSON, "email": "dostepnosc@pleszew.example", "phone": "62 742 83 99"}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(sorted(VALUES))),
       st.sets(st.sampled_from(["email", "phone", "address"])))
def test_gaps_are_exactly_the_required_facts_not_given(keys: set[str],
                                                       office: set[str]) -> None:
    """One rule for the checklist, doctor and the statement: a fact is missing unless the
    office's [accessibility] gives it; the preparation is either way (self-assessment or
    examiner); the e-mail and phone may be the office's own."""
    from kustosz.policy.accessibility import gaps

    if {"self_assessment", "examiner"} <= keys:
        keys = keys - {"examiner"}  # the policy refuses both at once
    section = {k: VALUES[k] for k in keys}
    documents = {k: "x@y.pl" if k == "email" else "62 742 83 00" for k in office}
    load_policy("pleszew", {"accessibility": section})  # a section the policy accepts
    found = [g.key for g in gaps(section, documents)]
    have = set(keys) | (office - {"address"}) | ({"self_assessment"} if "examiner" in keys
                                                 else set())
    assert found == [k for k in REQUIRED if k not in have]
    assert all(g.pl and g.en for g in gaps({}, {}))
