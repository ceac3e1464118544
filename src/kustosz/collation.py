"""Polish alphabetical order (issue 29 item 9): the one sort key of every list of people.

Python's own order is by code point: "Łucja" after "Maria" and "Żak" after "Zyta" only by
accident ("ż" is U+017C), "Ślusarczyk" after "Zieliński". No collation library is installed
(PyICU needs the ICU headers; the C library's pl_PL locale is absent on many servers), so the
Polish alphabet of PN-ISO/IEC 14651 / CLDR is spelled out here:

    a ą b c ć d e ę f g h i j k l ł m n ń o ó p q r s ś t u v w x y z ź ż

Letters with other marks (é, ü, ö, č…) sort with their base letter and are told apart only
when everything else is equal; capitals likewise (CLDR: lower case first). Spaces and
punctuation come before digits, digits before letters ("Nowak-Kowalska" before "Nowakowska",
as in a Polish phone book)."""

from __future__ import annotations

import unicodedata

# q, v and x are not Polish letters but sort where the Latin alphabet has them
ALPHABET = "aąbcćdeęfghijklłmnńoópqrsśtuvwxyzźż"
_LETTER = {ch: i for i, ch in enumerate(ALPHABET)}
_DIGITS = 10_000
_LETTERS = 20_000
_OTHER = 30_000


def _primary(ch: str) -> tuple[int, int]:
    """(rank, secondary mark) of one lower-case character."""
    if ch in _LETTER:
        return _LETTERS + _LETTER[ch], 0
    decomposed = unicodedata.normalize("NFD", ch)
    base = decomposed[0]
    if base in _LETTER and len(decomposed) > 1:  # é, ü, č: their base letter, then the mark
        return _LETTERS + _LETTER[base], sum(ord(m) for m in decomposed[1:])
    if ch.isdigit():
        return _DIGITS + unicodedata.digit(ch, 0), 0
    if ch.isspace() or not ch.isalnum():
        return ord(ch) % _DIGITS, 0  # punctuation and spaces: before digits and letters
    return _OTHER + ord(ch), 0


def polish_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    """Sort key of ``text`` in Polish alphabetical order: letters first, then their marks
    foreign to Polish, then case, then the text itself (a total order)."""
    text = unicodedata.normalize("NFC", text.strip())
    ranks = [_primary(ch) for ch in text.lower()]
    return (tuple(r for r, _ in ranks), tuple(m for _, m in ranks),
            tuple(0 if ch.islower() or not ch.isalpha() else 1 for ch in text), text)


def person_key(full_name: str) -> tuple[object, ...]:
    """Sort key of a person's name as offices list people: by surname, then the given names
    ("Jan Kowalski" under K). The surname is the last word before any comma ("Ewa Łęcka,
    sekretarz" under Ł); a double surname with a hyphen is one word."""
    name = (full_name or "").split(",", 1)[0].split()
    surname, given = (name[-1], " ".join(name[:-1])) if name else ("", "")
    return polish_key(surname), polish_key(given), polish_key(full_name or "")
