"""SQL functions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

SQLITE_LOWER = "kustosz_lower"  # registered on every SQLite connection (db/engine.py)


class folded(GenericFunction[str]):  # lower case on purpose: used like SQL lower()
    """Lower case of any letter. SQLite's own lower() and LIKE fold only ASCII, so a search
    for "łukasz" would miss "Łukasz" there while PostgreSQL finds it."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _default(element: folded, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def fold(text: str) -> str:
    """What folded() gives, in Python: character by character, as PostgreSQL's lower() (str.lower
    would give a word-final sigma its own form)."""
    return "".join(c.lower() for c in text)


def python_lower(value: str | None) -> str | None:
    return fold(value) if isinstance(value, str) else value


def contains_folded(value: str, part: str) -> bool:
    """``folded(column).contains(fold(part))`` for a value in Python (open chunks)."""
    return fold(part) in fold(value)
