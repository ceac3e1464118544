"""The Polish plural rule (issue 12 item 7): one definition, kustosz.words.plural,
used by the pages, the documents' texts and the alerts. The expected forms are written out
here by hand, not computed by a second copy of the rule."""

from __future__ import annotations

import pytest

from kustosz.policy import Period
from kustosz.words import count_pl, period_pl, plural

# o = one, f = few, m = many; position i is the number start + i
FORMS_0_25 = "m" "o" "fff" "mmmmmmmmmmmmmmmmm" "fff" "m"  # 0, 1, 2–4, 5–21, 22–24, 25
FORMS_101_125 = "m" "fff" "mmmmmmmmmmmmmmmmm" "fff" "m"  # 101, 102–104, 105–121, 122–124, 125

NOUNS = {  # one, few, many
    "segment": ("segment", "segmenty", "segmentów"),
    "nagranie": ("nagranie", "nagrania", "nagrań"),
    "plik": ("plik", "pliki", "plików"),
    "kopia": ("kopia", "kopie", "kopii"),
    "wpis": ("wpis", "wpisy", "wpisów"),
    "dzień": ("dzień", "dni", "dni"),
}


def _table() -> list[tuple[int, str]]:
    assert len(FORMS_0_25) == 26 and len(FORMS_101_125) == 25
    return ([(n, FORMS_0_25[n]) for n in range(26)]
            + [(101 + i, FORMS_101_125[i]) for i in range(25)])


@pytest.mark.parametrize("noun", sorted(NOUNS))
def test_plural_forms_0_to_25_and_101_to_125(noun: str) -> None:
    one, few, many = NOUNS[noun]
    for n, kind in _table():
        expected = {"o": one, "f": few, "m": many}[kind]
        assert plural(n, one, few, many) == expected, (noun, n)
        assert count_pl(n, one, few, many) == f"{n} {expected}"


def test_the_forms_people_reported_and_their_neighbours() -> None:
    """The wrong texts of issue 12 ("74 segmentów", "1 segmentów", "(1 nagrań)",
    "3 plików") and the teens, which take "many" although they end in 2–4."""
    s = NOUNS["segment"]
    assert count_pl(74, *s) == "74 segmenty"
    assert count_pl(1, *s) == "1 segment"
    assert count_pl(1, *NOUNS["nagranie"]) == "1 nagranie"
    assert count_pl(3, *NOUNS["plik"]) == "3 pliki"
    assert count_pl(12, *NOUNS["plik"]) == "12 plików"
    assert count_pl(112, *NOUNS["kopia"]) == "112 kopii"
    assert count_pl(1022, *NOUNS["wpis"]) == "1022 wpisy"
    assert count_pl(1000, *NOUNS["wpis"]) == "1000 wpisów"


def test_phrases_agree_with_the_number_too() -> None:
    forms = (("czeka", "przyjęte"), ("czekają", "przyjęte"), ("czeka", "przyjętych"))
    assert plural(1, *forms) == ("czeka", "przyjęte")
    assert plural(23, *forms) == ("czekają", "przyjęte")
    assert plural(13, *forms) == ("czeka", "przyjętych")


def test_periods_use_the_same_rule() -> None:
    assert period_pl(Period(1, "days")) == "1 dzień"
    assert period_pl(Period(14, "days")) == "14 dni"
    assert period_pl(Period(3, "months")) == "3 miesiące"
    assert period_pl(Period(5, "months")) == "5 miesięcy"
    assert period_pl(Period(22, "years")) == "22 lata"
    assert period_pl(Period(12, "weeks")) == "12 tygodni"
