"""Issue 64 item 9: every number kept. A number Kustosz cannot make canonical is kept as
written (its search key: its digits, or its text where it has none) and found again by its
writing and by its digits; nothing a source gave as a number becomes the empty "unknown"."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kustosz.phone_numbers import (
    KEY_MAX,
    WRITTEN_MAX,
    digits_of,
    is_unknown,
    keep,
    search_keys,
    try_normalize,
    written,
)

# What issue 64's finding saw stored as '': from an exchange's own recordings and Master.csv
# (an Indian mobile with its trunk 0, one without, an Issabel `force-` name's seven digits)
# and a foreign national number as an SBC writes it.
FINDING = ("09243820431", "9996837840", "8906060", "2249888500")

number_like = st.text(alphabet="0123456789+ -./()", max_size=30)
spaced = st.text(alphabet="0123456789 ", min_size=1, max_size=20)
anything = st.text(max_size=90)


@pytest.mark.parametrize("raw", FINDING)
def test_the_findings_numbers_are_kept_as_written_and_found(raw: str) -> None:
    kept = keep(raw)
    assert (kept.key, kept.written) == (raw, raw)
    assert kept.key in search_keys(raw)
    assert kept.key in search_keys(" ".join(raw))  # "0 9 2 4 …": the same digits


@pytest.mark.parametrize(("raw", "key", "shown"), [
    ("0821XXXX8663", "08218663", "0821XXXX8663"),  # masked by the Issabel page's author
    ("mcr", "mcr", "mcr"),  # an IMS user name (sngrep's ipv6frag capture)
    ("test", "test", "test"),  # a SIP peer's name in Asterisk's test suite's Master.csv
    ("Józef", "józef", "Józef"),
    ("0924 382 0431", "09243820431", "0924 382 0431"),
    ("+0 123", "0123", "+0 123"),  # no country code starts with 0
    ("600 100 200", "+48600100200", ""),  # canonical: shown in its canonical form
    ("anonymous", "", ""),  # a withheld number stays unknown
    ("", "", ""),
    ("line\r\nBcc: x\u2028", "linebcc: x", "lineBcc: x"),  # no control or line separator
])
def test_examples(raw: str, key: str, shown: str) -> None:
    assert tuple(keep(raw)) == (key, shown)


def test_lengths_are_bounded() -> None:
    long = "7" * 200
    assert len(keep(long).key) == KEY_MAX and len(keep(long).written) == WRITTEN_MAX
    assert keep(long).key in search_keys(long)


@settings(max_examples=400)
@given(raw=st.one_of(number_like, spaced, anything), maxd=st.integers(1, 8))
@example(raw="+44 20 7946 0958", maxd=4)
@example(raw="+48 (0) 22 123 45 67", maxd=4)
@example(raw="06001002", maxd=8)
@example(raw="+0123456789", maxd=4)
@example(raw="\x00anonymous", maxd=4)
@example(raw="+100000000", maxd=1)  # its digits read as a Polish number (found 2026-11-30)
def test_canonicalisation_never_loses_a_number(raw: str, maxd: int) -> None:
    """Whatever a source writes, stored under a line's extension length, is kept unless it
    says "no number"; it is found by its writing and by its digits (searched with the
    default extension length), and the search never matches the unknown caller."""
    kept = keep(raw, internal_max_digits=maxd)
    text = written(raw)
    if text and not is_unknown(text):
        assert kept.key, f"{raw!r} lost"
    assert len(kept.key) <= KEY_MAX and len(kept.written) <= WRITTEN_MAX
    canonical = try_normalize(text, internal_max_digits=maxd)
    if canonical is not None:
        assert tuple(kept) == (canonical, "")
    else:
        assert kept.written == text
    assert "" not in search_keys(raw)
    if kept.key:
        assert kept.key in search_keys(raw)
        assert kept.key in search_keys(kept.written or kept.key)
    digits = digits_of(text)
    if digits and kept.key:
        # Digits that read as a national number are that number: a foreign one whose digits
        # (its country code with them) read so, "+1 00000000" as "100000000", is found with
        # its "+" — never added to the national one's keys, which also choose what a data
        # subject's copy holds (custody/copy_material.py).
        national = keep(digits).key
        wanted = search_keys(digits) if national in (kept.key, digits[:KEY_MAX]) or \
            not national.startswith("+48") else search_keys("+" + digits)
        assert kept.key in wanted, (raw, digits)


@given(raw=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co",
                                                                    "Cn", "Zl", "Zp")),
                   max_size=40))
def test_a_printable_writing_is_kept_exactly(raw: str) -> None:
    import unicodedata

    text = unicodedata.normalize("NFC", raw).strip()
    kept = keep(raw)
    if try_normalize(text) is None and not is_unknown(text):
        assert kept.written == text[:WRITTEN_MAX]
