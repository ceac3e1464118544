"""Polish phone numbers in one canonical form.

The same subscriber turns up written many ways: ``600 100 200`` on a form, ``0600100200`` from
a PBX that keeps the trunk prefix, ``48600100200`` from an operator's CLI, ``+48 600 100 200``
in a sidecar. Every number that is stored and every number that is searched for must pass
through :func:`normalize`, and comparisons are made between canonical forms only; that is what
makes a search for any writing of a number find every call with it.

Canonical forms:

* a Polish subscriber number: E.164, ``+48`` and nine digits (``+48600100200``);
* a foreign number written with ``+`` or ``00``: ``+`` and its digits (``+442079460958``);
* a short number: an extension of at most ``internal_max_digits`` digits, or a Polish service
  number (``112``, ``19115``, ``116111``): its plain digits;
* an unknown caller (``anonymous``, ``unknown``, ``Restricted``, empty): ``""``.

A number with none of these forms is still a number a source gave (a foreign national number
without its country, ``9996837840``; a SIP user's name, ``mcr``; a number masked by hand):
:func:`keep` keeps it as written beside its search key, its digits (or, with no digit in it,
its text), so that the number a person gives finds the call by its writing or by its digits
(:func:`search_keys`). Nothing a source gave as a number becomes ``""`` (issue 64 item 9).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache
from typing import NamedTuple

from kustosz.errors import KustoszError
from kustosz.words import count_pl

__all__ = [
    "KEY_MAX",
    "UNKNOWN",
    "WRITTEN_MAX",
    "InvalidNumber",
    "Kept",
    "digits_of",
    "is_internal",
    "is_unknown",
    "keep",
    "looks_like_number",
    "normalize",
    "search_keys",
    "try_normalize",
    "written",
]

UNKNOWN = ""

# What PBXs and operators put in place of a withheld or missing caller number.
_UNKNOWN_WORDS = frozenset(
    {
        "",
        "anonymous",
        "unknown",
        "<unknown>",
        "restricted",
        "private",
        "withheld",
        "unavailable",
        "unavailable number",
        "no caller id",
    }
)

# Separators people and exports put between digit groups; anything else is not a number.
_ALLOWED = re.compile(r"^\(?\+?[0-9 \t\-./()]*\Z")

# Polish service numbers (112, 997, 19115, 116111...) are shorter than subscriber numbers but
# are real destinations an office calls or is called from.
_SERVICE = re.compile(r"^1\d{2,5}\Z")

_E164_MAX_DIGITS = 15
_FOREIGN_MIN_DIGITS = 7  # country code and the shortest subscriber numbers in use
_MAX_RAW_LENGTH = 64
KEY_MAX = 32  # calls.caller / calls.callee
WRITTEN_MAX = _MAX_RAW_LENGTH  # calls.caller_written / calls.callee_written
# Control and format characters, surrogates, unassigned code points and the line and paragraph
# separators: none is part of a number, and each could break a line where a number is shown.
_NOT_SHOWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class InvalidNumber(KustoszError, ValueError):
    """The text is not a phone number in any writing this module understands."""


def is_unknown(raw: str) -> bool:
    """True for the words PBXs use for a withheld or missing number, and for empty text."""
    return raw.strip().lower() in _UNKNOWN_WORDS


def normalize(raw: str, *, internal_max_digits: int = 4) -> str:
    """Return the canonical form of ``raw`` (see the module's docstring).

    Raises :class:`InvalidNumber` for text that is not a phone number.
    """
    if is_unknown(raw):
        return UNKNOWN
    text = raw.strip()
    if len(text) > _MAX_RAW_LENGTH:
        raise InvalidNumber(f"not a phone number (longer than {_MAX_RAW_LENGTH} characters)",
                            pl="To nie jest numer telefonu (ma więcej niż "
                               f"{count_pl(_MAX_RAW_LENGTH, 'znak', 'znaki', 'znaków')}).")
    if not _ALLOWED.match(text):
        raise InvalidNumber(
            f"not a phone number: {raw!r} (only digits, a leading '+', spaces, '-', '.', '/' "
            "and brackets are allowed)",
            pl=f"„{raw}” nie jest numerem telefonu (dozwolone są tylko cyfry, „+” na początku, "
               "spacje, „-”, „.”, „/” i nawiasy)."
        )
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise InvalidNumber(f"not a phone number: {raw!r} has no digits",
                            pl=f"„{raw}” nie jest numerem telefonu: nie ma w nim cyfr.")
    if text.lstrip("(").startswith("+"):
        return _international(digits, raw)
    if digits.startswith("00"):
        return _international(digits[2:], raw)
    if len(digits) <= internal_max_digits:
        return digits
    if len(digits) == 9:
        return _polish(digits, raw)
    if len(digits) == 10 and digits.startswith("0"):
        return _polish(digits[1:], raw)
    if len(digits) == 11 and digits.startswith("48"):
        return _polish(digits[2:], raw)
    if _SERVICE.match(digits):
        return digits
    raise InvalidNumber(
        f"not a phone number: {raw!r} has {len(digits)} digits; a Polish number has 9 "
        "(optionally after 0, 48, +48 or 0048), a foreign one needs '+' or '00' in front",
        pl=f"„{raw}” nie jest numerem telefonu: ma "
           f"{count_pl(len(digits), 'cyfrę', 'cyfry', 'cyfr')}; polski numer ma 9 cyfr (może je "
           "poprzedzać 0, 48, +48 albo 0048), a zagraniczny musi zaczynać się od „+” albo „00”."
    )


def try_normalize(raw: str, *, internal_max_digits: int = 4) -> str | None:
    """Like :func:`normalize`, but ``None`` for text that is not a phone number.

    For ingestion, where a malformed caller ID must not stop a call from being taken in.
    """
    try:
        return normalize(raw, internal_max_digits=internal_max_digits)
    except InvalidNumber:
        return None


def is_internal(
    number: str, internal_numbers: Collection[str], extension_max_digits: int = 4
) -> bool:
    """True when ``number`` belongs to the office.

    ``internal_numbers`` holds canonical forms (the office's DIDs, and extensions longer than
    ``extension_max_digits``); any short number of at most ``extension_max_digits`` digits
    counts as an extension. ``number`` may be in any writing. An unknown or malformed number
    is never internal.
    """
    canonical = try_normalize(number, internal_max_digits=extension_max_digits)
    if not canonical:
        return False
    if canonical in internal_numbers:
        return True
    return canonical.isdigit() and len(canonical) <= extension_max_digits


def _polish(national: str, raw: str) -> str:
    # A Polish national number never starts with 0; one that does was mistyped or mangled.
    if len(national) != 9 or national.startswith("0"):
        raise InvalidNumber(
            f"not a Polish phone number: {raw!r} (a Polish number has 9 digits "
            "and does not start with 0 after the prefix)",
            pl=f"„{raw}” nie jest polskim numerem telefonu (polski numer ma 9 cyfr i po prefiksie "
               "nie zaczyna się od 0)."
        )
    return "+48" + national


def _international(digits: str, raw: str) -> str:
    if digits.startswith("48"):
        national = digits[2:]
        # "+48 (0) 22 ..." is a common business-card writing; the 0 is the old trunk prefix.
        if len(national) == 10 and national.startswith("0"):
            national = national[1:]
        return _polish(national, raw)
    if not _FOREIGN_MIN_DIGITS <= len(digits) <= _E164_MAX_DIGITS:
        raise InvalidNumber(
            f"not a phone number: {raw!r} (an international number has "
            f"{_FOREIGN_MIN_DIGITS} to {_E164_MAX_DIGITS} digits after '+' or '00')",
            pl=f"„{raw}” nie jest numerem telefonu (numer międzynarodowy ma od "
               f"{_FOREIGN_MIN_DIGITS} do {_E164_MAX_DIGITS} cyfr po „+” albo „00”)."
        )
    if digits.startswith("0"):
        raise InvalidNumber(f"not a phone number: {raw!r} (no country code starts with 0)",
                            pl=f"„{raw}” nie jest numerem telefonu (żaden numer kierunkowy kraju "
                               "nie zaczyna się od 0).")
    return "+" + digits


class Kept(NamedTuple):
    """A number as a call keeps it. ``key``: what it is stored and searched by — its canonical
    form, else its digits, else (no digit in it) its text case-folded; ``""`` only for an
    unknown caller. ``written``: the number as its source wrote it where it has no canonical
    form (shown instead of the key), else ``""``."""

    key: str
    written: str


def written(raw: str) -> str:
    """``raw`` as a source wrote it, safe to keep and show: NFC, without control or format
    characters and line separators, stripped, at most ``WRITTEN_MAX`` characters."""
    if raw.isascii() and raw.isprintable():  # NFC already, and no control character in it
        return raw.strip()[:WRITTEN_MAX]
    text = "".join(c for c in unicodedata.normalize("NFC", raw)
                   if unicodedata.category(c) not in _NOT_SHOWN)
    return text.strip()[:WRITTEN_MAX]


def digits_of(raw: str) -> str:
    """The ASCII digits of ``raw``, in order."""
    return re.sub(r"[^0-9]", "", raw)


def looks_like_number(raw: str) -> bool:
    """Digits in a number's writing (``+``, spaces, ``-``, ``.``, ``/``, brackets), even where
    no canonical form exists: not a name, a mask or a word."""
    text = raw.strip()
    return bool(_ALLOWED.match(text)) and any(c.isdigit() for c in text)


def keep(raw: str, *, internal_max_digits: int = 4) -> Kept:
    """How a call keeps the number ``raw`` a source gave (see :class:`Kept`)."""
    return _keep(raw, internal_max_digits)


# A line's numbers repeat (its extensions, its callers): a pass of 30 000 calls spent a
# twentieth of its checking in this pure function (bench/README.md, calls).
@lru_cache(maxsize=4096)
def _keep(raw: str, internal_max_digits: int) -> Kept:
    text = written(raw)
    canonical = try_normalize(text, internal_max_digits=internal_max_digits)
    if canonical is not None:
        return Kept(canonical, "")
    return Kept((digits_of(text) or text.casefold())[:KEY_MAX], text)


def search_keys(raw: str) -> tuple[str, ...]:
    """The keys under which calls with the number ``raw`` a person gives are stored: its
    canonical form and its digits (an exchange that wrote the number its own way, or a line
    whose extensions are longer than the default), and for a writing that has no canonical
    form also the canonical form of its digits alone and with a ``+`` before them (a number
    given without its ``+``). Never ``""``."""
    text = written(raw)
    kept = keep(text)
    digits = digits_of(text)
    keys = [kept.key, digits[:KEY_MAX]]
    if kept.written and digits:
        keys.append(keep(digits).key)
        keys.append(try_normalize("+" + digits) or "")
    return tuple(dict.fromkeys(k for k in keys if k))
