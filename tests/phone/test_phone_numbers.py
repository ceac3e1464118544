"""Phone number normalisation: every writing of a number comes to one canonical form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kustosz.phone_numbers import (
    InvalidNumber,
    is_internal,
    is_unknown,
    normalize,
    try_normalize,
)

national_numbers = st.from_regex(r"\A[1-9][0-9]{8}\Z", fullmatch=True)
separators = st.sampled_from(["", " ", "-", ".", "/", "  "])


def _grouped(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    return sep.join(parts)


@st.composite
def writings(draw: st.DrawFn) -> tuple[str, str]:
    """A 9-digit Polish number and one of the ways people and PBXs write it."""
    national = draw(national_numbers)
    sep = draw(separators)
    body = draw(
        st.sampled_from(
            [
                national,
                _grouped(national, (3, 3, 3), sep),
                _grouped(national, (2, 3, 2, 2), sep),
                f"({national[:2]}) {national[2:5]} {national[5:7]} {national[7:]}",
            ]
        )
    )
    prefix = draw(st.sampled_from(["", "+48", "+48 ", "0048", "00 48 ", "0", "48", "+48 (0) "]))
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return national, f"{padding}{prefix}{body}{padding}"


@given(writings())
def test_every_writing_of_a_polish_number_has_one_canonical_form(case: tuple[str, str]) -> None:
    national, written = case
    assert normalize(written) == "+48" + national


@given(writings())
def test_normalize_is_idempotent(case: tuple[str, str]) -> None:
    canonical = normalize(case[1])
    assert normalize(canonical) == canonical


@given(st.from_regex(r"\A[1-9][0-9]{0,3}\Z", fullmatch=True))
def test_extensions_stay_plain_digits(extension: str) -> None:
    assert normalize(extension) == extension


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ@#:;_", min_size=1))
def test_letters_other_than_the_unknown_words_are_refused(text: str) -> None:
    if is_unknown(text):
        assert normalize(text) == ""
    else:
        with pytest.raises(InvalidNumber):
            normalize(text)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("600 100 200", "+48600100200"),
        ("600-100-200", "+48600100200"),
        ("+48 600 100 200", "+48600100200"),
        ("0048600100200", "+48600100200"),
        ("0600100200", "+48600100200"),
        ("48600100200", "+48600100200"),
        ("(22) 123 45 67", "+48221234567"),
        ("(+48) 22 123 45 67", "+48221234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("201", "201"),
        ("0", "0"),
        ("112", "112"),
        ("19115", "19115"),
        ("116111", "116111"),
    ],
)
def test_examples(raw: str, canonical: str) -> None:
    assert normalize(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["anonymous", "Anonymous", "unknown", "Restricted", "", "   ", "<unknown>", "Private"]
)
def test_unknown_callers_are_empty(raw: str) -> None:
    assert normalize(raw) == ""


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("Jan Kowalski", "only digits"),
        ("600 100 2OO", "only digits"),  # letter O for zero
        ("600 100 20", "8 digits"),
        ("6001002001", "10 digits"),
        ("1234567890123456", "16 digits"),
        ("+48 600", "Polish"),
        ("+48 060 010 020", "Polish"),
        ("+4420", "international"),
        ("+1234567890123456", "international"),
        ("++48600100200", "only digits"),
        ("600+100200", "only digits"),
        ("---", "no digits"),
        ("1" * 70, "longer than"),
    ],
)
def test_not_phone_numbers_are_refused_clearly(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidNumber, match=fragment):
        normalize(raw)
    assert try_normalize(raw) is None


def test_invalid_number_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalize("not a number")


def test_internal_max_digits_decides_what_is_an_extension() -> None:
    assert normalize("20100", internal_max_digits=5) == "20100"
    with pytest.raises(InvalidNumber):
        normalize("20100")


def test_is_internal() -> None:
    office = {normalize("22 123 45 67")}
    assert is_internal("201", office)
    assert is_internal("+48 22 123 45 67", office)
    assert is_internal("0221234567", office)
    assert not is_internal("600 100 200", office)
    assert not is_internal("anonymous", office)
    assert not is_internal("garbage", office)
    assert not is_internal("20100", office)
    assert is_internal("20100", office, extension_max_digits=5)
