"""Sizes written by people in kustosz.toml: "20 GB", "500 MiB", "1.5 TB".

Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) of 1024,
as a disk's label and `df -H` count; Polish spellings of the same units are accepted too.
"""

from __future__ import annotations

import re

from kustosz.errors import ConfigError

_UNITS = {
    "b": 1, "bytes": 1, "bajt": 1, "bajtow": 1, "bajty": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}
_PATTERN = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-z]+)\s*$")


def parse_size(text: object, what: str, *, least: int = 1) -> int:
    """``"20 GB"`` as bytes; a ConfigError naming ``what`` (English and Polish) for anything
    else: a bare number (whose unit nobody could tell), a negative, an unknown unit, or a
    size under ``least`` bytes."""
    if isinstance(text, str):
        folded = text.lower().translate(str.maketrans("ąęńóśłżź", "aenoslzz"))
        m = _PATTERN.match(folded)
        if m and m.group(2) in _UNITS:
            size = int(float(m.group(1).replace(",", ".")) * _UNITS[m.group(2)])
            if size >= least:
                return size
            raise ConfigError(f"{what} must be at least {least} bytes, got {text!r}",
                              pl=f"{what}: rozmiar musi wynosić co najmniej {least} bajtów "
                                 f"(jest „{text}”).")
    shown = text if isinstance(text, str) else repr(text)
    raise ConfigError(f"cannot read {what} {shown!r}: write a number and a unit in quotes, "
                      'e.g. "20 GB" or "500 MiB"',
                      pl=f"Nie można odczytać rozmiaru {what} „{shown}”: podaj liczbę i "
                         'jednostkę w cudzysłowie, np. "20 GB" albo "500 MiB".')


def size_said(nbytes: int, lang: str = "pl") -> str:
    """A size for a person, in the decimal unit that keeps it readable ("1,2 MB", "3,50 GB"):
    Polish writes the decimal comma, English the point. "0.00 GB" for a few megabytes said
    nothing to the administrator reading the alert."""
    unit, text = "B", str(nbytes)
    for name, scale, digits in (("GB", 10**9, 2), ("MB", 10**6, 1), ("kB", 10**3, 0)):
        if nbytes >= scale:
            unit, text = name, f"{nbytes / scale:.{digits}f}"
            break
    return f"{text.replace('.', ',') if lang == 'pl' else text} {unit}"
