"""An office's short name in an installation: its folder, its schema and role, its prefix."""

from __future__ import annotations

import re
import unicodedata

from kustosz.errors import InputError

SLUG = re.compile(r"^[a-z][a-z0-9-]{0,39}\Z")
# Letters NFKD does not take apart into a base letter and a mark.
_PLAIN = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "ø": "o", "đ": "d"})


def suggestion(name: str) -> str:
    """A slug close to ``name`` ("Żłobek nr 1" -> "zlobek-nr-1"), or "" when none is."""
    plain = unicodedata.normalize("NFKD", name.translate(_PLAIN))
    ascii_only = "".join(c for c in plain if c.isascii()).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)[:40].rstrip("-")
    return slug if SLUG.match(slug) else ""


def check_slug(name: str) -> str:
    """``name`` when it is a valid slug; else a refusal saying the rule (and a near one)."""
    if SLUG.match(name):
        return name
    near = suggestion(name)
    hint_en = f"; e.g. {near!r}" if near and near != name else ""
    hint_pl = f"; np. „{near}”" if near and near != name else ""
    raise InputError(
        f"{name!r} is not an office's short name: a lower-case letter, then up to 39 "
        f"lower-case letters (a-z, no Polish letters), digits or hyphens{hint_en}",
        pl=f"„{name}” nie jest krótką nazwą urzędu: mała litera, a po niej do 39 małych liter "
           f"(a-z, bez polskich znaków), cyfr lub łączników{hint_pl}.")


def sql_name(slug: str) -> str:
    """The slug as part of a PostgreSQL name: hyphens become underscores. One-to-one, as a
    slug has no underscore."""
    return slug.replace("-", "_")
