"""The accessibility statement is the office's own (issue 49 item 9): how it was prepared (the
office's self-assessment or a named external examiner), its dates (the application's
publication, its last significant update, the statement's preparation and last review) and the
building's architectural accessibility come from [policy.accessibility], never from the
product's release; a setting the office has not made shows as "nie podano", and to a signed-in
administrator as the setting to fill in, naming it.

The template's wording of the preparation ("Deklarację sporządzono na podstawie samooceny
przeprowadzonej przez podmiot publiczny." / "… badania przeprowadzonego przez podmiot
zewnętrzny: <span id="a11y-audytor">…</span>") is that of the Minister's "Warunki techniczne
publikacji oraz struktura dokumentu elektronicznego deklaracji dostępności"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_accessibility_statement import ADDRESS, _text, _with_config
from web_helpers import client, session_for, user

from kustosz import __version__
from kustosz.errors import ConfigError
from kustosz.policy import load_policy
from kustosz.vault import Vault
from kustosz.web.accessibility import REVIEWED

SELF = "Deklarację sporządzono na podstawie samooceny przeprowadzonej przez podmiot publiczny."
EXTERNAL = ("Deklarację sporządzono na podstawie badania przeprowadzonego przez podmiot "
            'zewnętrzny: <span id="a11y-audytor">Fundacja Dostępna Polska</span>.')
FULL = ('\n[policy.accessibility]\ncontact = "Anna Dostępna"\nemail = "dostepnosc@pleszew.example"'
        '\nphone = "62 742 83 99"\npublished = "2025-10-01"\nupdated = "2026-02-16"\n'
        'prepared = "2026-03-02"\nreviewed = "2026-03-30"\nself_assessment = true\n'
        'architecture = """Wejście główne od ul. Rynek ma pochylnię.\n\n'
        'W budynku jest winda do wszystkich kondygnacji."""\n')


def _page(vault: Vault, admin: bool = False, lang: str = "pl") -> str:
    c = client(vault)
    if admin:
        user(vault, "admin", ["administrator"], password=None)
        session_for(vault, c, "admin")
    c.cookies.set("kustosz_lang", lang, domain="testserver.local")
    r = c.get(ADDRESS)
    assert r.status_code == 200
    return r.text


def _time(html: str, part: str) -> str | None:
    m = re.search(rf'<time id="{part}" datetime="([0-9-]+)">\1</time>', html)
    return m.group(1) if m else None


@pytest.fixture
def full(tmp_path: Path) -> Iterator[Vault]:
    vault = _with_config(tmp_path / "vault", FULL)
    yield vault
    vault.close()


def test_the_dates_and_the_preparation_are_the_offices(full: Vault) -> None:
    html = _page(full)
    assert _time(html, "a11y-data-publikacja") == "2025-10-01"
    assert _time(html, "a11y-data-aktualizacja") == "2026-02-16"
    assert _time(html, "a11y-data-sporzadzenie") == "2026-03-02"
    assert _time(html, "a11y-data-deklaracja-przeglad") == "2026-03-30"
    text = _text(html)
    assert SELF in text
    assert "autorów aplikacji" not in text.split("Przygotowanie deklaracji", 1)[1]
    # the building as the office describes it, its paragraphs kept
    assert "<p>Wejście główne od ul. Rynek ma pochylnię.</p>" in html
    assert "<p>W budynku jest winda do wszystkich kondygnacji.</p>" in html
    # nothing for the administrator to fill in
    assert "uzupełnij w ustawieniach" not in _page(full, admin=True)


def test_a_named_examiner(tmp_path: Path) -> None:
    vault = _with_config(tmp_path / "vault", '\n[policy.accessibility]\nprepared = "2026-03-02"'
                         '\nexaminer = "Fundacja Dostępna Polska"\n')
    try:
        html = _page(vault)
        assert EXTERNAL in re.sub(r"\s+", " ", html)
        assert "samooceny" not in _text(html)
        english = _page(vault, lang="en")
        assert ('carried out by an external body: <span id="a11y-audytor" lang="pl">Fundacja '
                'Dostępna Polska</span>') in english
    finally:
        vault.close()


def test_nothing_of_the_product_stands_in_for_a_missing_setting(
        sqlite_web_vault: Vault) -> None:
    """Pleszew's preset states none of these: the page says so and does not put the release's
    day, the version or the app's authors in the office's place."""
    html = _page(sqlite_web_vault)
    for part in ("a11y-data-publikacja", "a11y-data-aktualizacja", "a11y-data-sporzadzenie"):
        assert _time(html, part) is None, part
        assert f'<span id="{part}" class="missing">nie podano</span>' in html, part
    assert "a11y-data-deklaracja-przeglad" not in html  # optional: no review, no line
    text = _text(html)
    assert f"w wersji {__version__})" not in text
    assert "samooceny przeprowadzonej przez autorów" not in text and SELF not in text
    assert "podmiot zewnętrzny" not in text and 'id="a11y-audytor"' not in html
    # the list of shortcomings says whose test it rests on, and as of which day
    assert f'<time datetime="{REVIEWED.isoformat()}">' in html
    assert "uzupełnij w ustawieniach" not in text  # the stranger is not sent to the settings


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_administrator_is_told_which_setting_to_fill_in(sqlite_web_vault: Vault,
                                                             lang: str) -> None:
    text = _text(_page(sqlite_web_vault, admin=True, lang=lang))
    fill = "uzupełnij w ustawieniach" if lang == "pl" else "fill in the setting"
    for key in ("published", "updated", "prepared", "self_assessment albo examiner"
                if lang == "pl" else "self_assessment or examiner", "contact", "architecture",
                "email"):  # Pleszew's regulation gives the office's phone, no e-mail
        assert f"{fill}: [policy.accessibility] {key}" in text, key
    assert text.count(fill) == 7


def test_the_english_statement_is_the_offices_too(full: Vault) -> None:
    html = _page(full, lang="en")
    assert _time(html, "a11y-data-aktualizacja") == "2026-02-16"
    assert _time(html, "a11y-data-sporzadzenie") == "2026-03-02"
    text = _text(html)
    assert "based on a self-assessment carried out by the public body" in text
    assert "authors of the Kustosz application" not in text.split("Preparation", 1)[1]
    assert '<p lang="pl">Wejście główne od ul. Rynek ma pochylnię.</p>' in html


def test_the_new_settings_refuse_bad_values() -> None:
    for key in ("updated", "prepared", "reviewed"):
        with pytest.raises(ConfigError, match=rf"accessibility\.{key} must be a date"):
            load_policy("pleszew", {"accessibility": {key: "2 marca 2026"}})
    with pytest.raises(ConfigError, match="self_assessment or examiner"):
        load_policy("pleszew", {"accessibility": {"self_assessment": True,
                                                  "examiner": "Fundacja"}})
    with pytest.raises(ConfigError, match="wrong type"):
        load_policy("pleszew", {"accessibility": {"self_assessment": "tak"}})
    with pytest.raises(ConfigError, match=r"accessibility\.reviewed .* before .*prepared"):
        load_policy("pleszew", {"accessibility": {"prepared": "2026-03-02",
                                                  "reviewed": "2026-03-01"}})
    with pytest.raises(ConfigError, match=r"accessibility\.examiner is empty"):
        load_policy("pleszew", {"accessibility": {"examiner": " "}})
    good = load_policy("pleszew", {"accessibility": {"self_assessment": False,
                                                     "updated": "2026-02-16"}})
    assert good.accessibility == {"self_assessment": False, "updated": "2026-02-16"}
