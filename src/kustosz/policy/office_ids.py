"""The office's NIP and REGON ([documents] nip, regon), as a clause's controller block prints
them where the regulation gives them (a care home's § 3: "NIP 822-10-46-016 REGON 711656530").
Each is checked by its check digit, so a mistyped number is refused with its line, never
printed: NIP 10 digits, weights 6 5 7 2 3 4 5 6 7, the sum mod 11 is the last digit (10 is no
valid NIP); REGON 9 digits, weights 8 9 2 3 4 5 6 7, or 14, weights 2 4 8 5 0 9 7 3 6 1 2 4 8,
the sum mod 11 (10 counts as 0) is the last digit. Spaces and hyphens between digits are the
writer's and kept as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from kustosz.errors import ConfigError

_WEIGHTS: dict[str, dict[int, tuple[int, ...]]] = {
    "nip": {10: (6, 5, 7, 2, 3, 4, 5, 6, 7)},
    "regon": {9: (8, 9, 2, 3, 4, 5, 6, 7), 14: (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)},
}
_SHAPE_PL = {"nip": "10 cyfr", "regon": "9 albo 14 cyfr"}
_SHAPE_EN = {"nip": "10 digits", "regon": "9 or 14 digits"}
_WRITTEN = re.compile(r"\d(?:[ -]*\d)*")


def valid(kind: str, value: str) -> bool:
    """Whether ``value`` is a NIP (``kind`` "nip") or a REGON ("regon") by its check digit."""
    if not _WRITTEN.fullmatch(value.strip()):
        return False
    digits = [int(c) for c in value if c.isdigit()]
    weights = _WEIGHTS[kind].get(len(digits))
    if weights is None:
        return False
    check = sum(w * d for w, d in zip(weights, digits, strict=False)) % 11
    if check == 10:
        check = 10 if kind == "nip" else 0  # a NIP summing to 10 is never issued
    return check == digits[-1]


def _check(kind: str, value: Any) -> None:
    if isinstance(value, str) and valid(kind, value):
        return
    name = kind.upper()
    raise ConfigError(
        f"policy documents.{kind} = {value!r} is no valid {name}: {_SHAPE_EN[kind]} (spaces "
        "and hyphens between them allowed) whose last digit is the check digit",
        pl=f"Zasada documents.{kind}: „{value}” nie jest poprawnym numerem {name} — "
           f"{_SHAPE_PL[kind]} (między nimi dozwolone spacje i łączniki), z których ostatnia "
           "jest cyfrą kontrolną; sprawdź numer z dokumentu urzędu.")


def checks(documents: dict[str, Any]) -> list[Callable[[], None]]:
    """A check per number the office's file gives."""
    return [partial(_check, k, documents[k]) for k in _WEIGHTS if k in documents]
