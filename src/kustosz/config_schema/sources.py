"""The settings each source keeps in the database (Source.settings): mailboxes, event
endpoints, phone lines. The same rule as kustosz.toml: a key the settings do not declare is
refused with the nearest valid name, never dropped, and each value's type is checked.

The settings classes stay dataclasses (their defaults are declared there, once); pydantic
validates them through ``__pydantic_config__`` (extra="forbid") set on each class."""

from __future__ import annotations

import dataclasses
import difflib
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from kustosz.config_schema import _TYPES, ConfigProblems, Problem

T = TypeVar("T")


@cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def stored(cls: type[T], raw: dict[str, Any] | None, what: str) -> T:
    """``raw`` (a source's stored settings) as ``cls``; ConfigProblems naming each unknown key
    (with the nearest valid one) and each value of a wrong type. ``what``: whose settings,
    e.g. "mailbox settings"."""
    try:
        return _adapter(cls).validate_python(dict(raw or {}))  # type: ignore[no-any-return]
    except ValidationError as exc:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        problems = []
        for e in exc.errors(include_url=False):
            key = ".".join(str(p) for p in e["loc"])
            if e["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
                near = difflib.get_close_matches(str(e["loc"][0]), names, n=1, cutoff=0.6)
                en = (
                    f"unknown key — did you mean `{near[0]}`?"
                    if near
                    else f"unknown key; valid: {', '.join(names)}"
                )
                pl = (
                    f"nieznany klucz — czy chodziło o `{near[0]}`?"
                    if near
                    else f"nieznany klucz; dozwolone: {', '.join(names)}"
                )
                problems.append(Problem(key, en, pl))
            elif e["type"] == "missing":
                problems.append(Problem(key, "required key is missing", "brak wymaganego klucza"))
            else:
                # never the value itself: it may be a secret (an IMAP password)
                en, pl = _TYPES.get(e["type"], (None, None))
                problems.append(
                    Problem(
                        key,
                        f"must be {en}" if en else e["msg"],
                        f"musi być {pl}" if pl else f"zła wartość: {e['msg']}",
                    )
                )
        raise ConfigProblems(what, problems) from None
