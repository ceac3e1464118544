"""What every table of kustosz.toml shares: unknown keys refused, types checked strictly.

Strict, because TOML already says what a value is: `min_free_percent = "5"` is a quoted
word, not a number, and reading it as one would hide that the file says something else than
its author meant. An integer is still taken where a number of minutes or percent is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic_core import PydanticCustomError

from kustosz.errors import ConfigError

T = TypeVar("T")


class Table(BaseModel):
    """One table of kustosz.toml: a key not declared here is an error, never dropped."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def problem(en: str, pl: str) -> PydanticCustomError:
    """A value error with both languages; the loader prefixes the key's path."""
    return PydanticCustomError("kustosz", "{en}", {"en": en, "pl": pl})


def checked(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one of the shared parsers (sizes, durations) that raise ConfigError, as a value
    error of the schema, so the loader lists it with the others."""
    try:
        return fn(*args, **kwargs)
    except ConfigError as exc:
        raise problem(str(exc), exc.pl or str(exc)) from None


def root_of(info: ValidationInfo) -> Path | None:
    """The data folder relative paths are read against (None: checking text alone)."""
    context = info.context or {}
    return context.get("root")


def path_text(value: Any, en: str, pl: str) -> str:
    """A non-empty path given as text."""
    if not isinstance(value, str) or not value.strip():
        raise problem(en, pl)
    return value


def outside(root: Path | None, value: str, en: str, pl: str) -> Path:
    """``value`` read against the data folder, refused when it lies inside it."""
    base = root if root is not None else Path.cwd()
    where = (base / value).resolve()
    if root is not None and (where == root.resolve() or where.is_relative_to(root.resolve())):
        raise problem(en, pl)
    return where
