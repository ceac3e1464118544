"""Job kinds: a name, the function that does the work, what is checked before it is queued,
and how a failed attempt is retried.

A kind's function takes a `JobContext` and JSON-able keyword arguments and returns a JSON-able
result. The arguments are what the job row keeps and what another node reads back, so they
must survive JSON unchanged; `check`, when given, runs in the caller before anything is
queued, so that bad input is refused at once with the caller's own error, as if the work had
been done there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc

from kustosz.errors import InputError


class Retryable(Exception):
    """A failure another attempt may mend (a store that did not answer, a busy server)."""


# Failures of the machine rather than of the input: worth another attempt by default.
TRANSIENT: tuple[type[BaseException], ...] = (
    Retryable, ConnectionError, TimeoutError, sqlalchemy.exc.OperationalError)


@dataclass(frozen=True)
class Retry:
    """``attempts`` in all (1: never retried); the n-th retry waits ``first_s`` ×
    ``factor``^(n-1), at most ``max_s``."""

    attempts: int = 3
    first_s: float = 10.0
    factor: float = 3.0
    max_s: float = 600.0
    on: tuple[type[BaseException], ...] = TRANSIENT

    def delay(self, attempt: int, exc: BaseException) -> float | None:
        """Seconds until the next attempt after attempt number ``attempt`` (1-based) failed
        with ``exc``; None: no more attempts."""
        if attempt >= self.attempts or not isinstance(exc, self.on):
            return None
        return min(self.max_s, self.first_s * self.factor ** (attempt - 1))


@dataclass(frozen=True)
class Kind:
    name: str
    run: Callable[..., Any]  # (JobContext, **args) -> JSON-able result
    check: Callable[..., None] | None = None  # (vault, **args), raises InputError & co.
    retry: Retry = field(default_factory=Retry)
    title_pl: str = "Zadanie w tle"  # what the page that waits says is being done


_KINDS: dict[str, Kind] = {}


def register(name: str, run: Callable[..., Any], *, check: Callable[..., None] | None = None,
             retry: Retry | None = None, title_pl: str | None = None) -> Kind:
    """Make ``name`` a job kind (again: the same name replaces it, for tests)."""
    kind = Kind(name, run, check, retry or Retry(), title_pl or "Zadanie w tle")
    _KINDS[name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def kind_of(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise InputError(f"unknown job kind {name!r} (known: {known}); nothing was queued",
                         pl=f"Nieznany rodzaj zadania „{name}”; niczego nie zlecono.") from None


def kinds() -> list[str]:
    return sorted(_KINDS)


def check_json(args: dict[str, Any]) -> None:
    """Refuse arguments that JSON would not give back as they are (the job row keeps them
    as JSON, and another node runs the job from that)."""
    def bad(value: Any, where: str) -> tuple[str, Any] | None:
        if value is None or isinstance(value, bool | int | str):
            return None
        if isinstance(value, float):
            return None if math.isfinite(value) else (where, value)
        if isinstance(value, list):
            items = ((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, dict):
            if any(not isinstance(k, str) for k in value):
                return where, next(k for k in value if not isinstance(k, str))
            items = ((v, f"{where}[{k!r}]") for k, v in value.items())
        else:
            return where, value
        return next((found for v, w in items if (found := bad(v, w)) is not None), None)

    for name, value in args.items():
        found = bad(value, name)
        if found is not None:
            where, what = found
            shown = type(what).__name__ if not isinstance(what, float) else repr(what)
            raise InputError(
                f"job argument {where} is not a JSON value ({shown}); use strings, numbers, "
                "booleans, null, lists and objects with string keys; nothing was queued",
                pl=f"Argument zadania {where} nie jest wartością JSON ({shown}); niczego nie "
                   "zlecono.")
