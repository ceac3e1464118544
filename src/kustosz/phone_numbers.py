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
"""

from __future__ import annotations

import re
from collections.abc import Collection

from kustosz.errors import KustoszError

__all__ = [
    "UNKNOWN",
    "InvalidNumber",
    "is_internal",
    "is_unknown",
    "normalize",
    "try_normalize",
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
_ALLOWED = re.compile(r"^\(?\+?[0-9 \t\-./()]*$")

# Polish service numbers (112, 997, 19115, 116111...) are shorter than subscriber numbers but
# are real destinations an office calls or is called from.
_SERVICE = re.compile(r"^1\d{2,5}$")

_E164_MAX_DIGITS = 15
_FOREIGN_MIN_DIGITS = 7  # country code and the shortest subscriber numbers in use
_MAX_RAW_LENGTH = 64


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
        raise InvalidNumber(f"not a phone number (longer than {_MAX_RAW_LENGTH} characters)")
    if not _ALLOWED.match(text):
        raise InvalidNumber(
            f"not a phone number: {raw!r} (only digits, a leading '+', spaces, '-', '.', '/' "
            "and brackets are allowed)"
        )
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise InvalidNumber(f"not a phone number: {raw!r} has no digits")
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
        "(optionally after 0, 48, +48 or 0048), a foreign one needs '+' or '00' in front"
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
            "and does not start with 0 after the prefix)"
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
            f"{_FOREIGN_MIN_DIGITS} to {_E164_MAX_DIGITS} digits after '+' or '00')"
        )
    if digits.startswith("0"):
        raise InvalidNumber(f"not a phone number: {raw!r} (no country code starts with 0)")
    return "+" + digits
