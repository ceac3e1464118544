"""Job kinds: a name, the function that does the work, what is checked before it is queued,
and how a failed attempt is retried.

A kind's function takes a `JobContext` and JSON-able keyword arguments and returns a JSON-able
result. The arguments are what the job row keeps and what another node reads back, so they
must survive JSON unchanged; `check`, when given, runs in the caller before anything is
queued, so that bad input is refused at once with the caller's own error, as if the work had
been done there.

`register` returns the kind as a `JobKind`, which callers import and queue the job through
(kustosz.jobs.catalogue: ``copy_make.defer(vault, started_by, request_id=7, ...)``): its
arguments are the function's, so a type checker holds every call to them and a name the
function does not take is refused before anything is queued. The kind's name is what the
job row and the queue keep.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec

import sqlalchemy.exc

from kustosz.errors import InputError

if TYPE_CHECKING:
    from kustosz.jobs.context import JobContext
    from kustosz.vault import Vault

P = ParamSpec("P")


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
class JobKind(Generic[P]):
    """A kind of job, the object callers queue it through: ``copy_make.defer(vault, "anna",
    request_id=7, by="anna", actor="anna")``. Its keyword arguments are those of ``run``
    after the context, so a type checker holds a call to them; the ``name`` is what the job
    row and the queue keep, and what an attempt on any node looks the kind up by."""

    name: str
    run: Callable[Concatenate[JobContext, P], Any]  # -> JSON-able result
    check: Callable[Concatenate[Vault, P], None] | None = None  # raises InputError & co.
    retry: Retry = field(default_factory=Retry)
    title_pl: str = "Zadanie w tle"  # what the page that waits says is being done

    def defer(self, vault: Vault, started_by: str, /, *args: P.args,
              **kwargs: P.kwargs) -> int:
        """Queue a job of this kind started by ``started_by`` (a person's name, or
        `kustosz.jobs.SYSTEM`); its number. Bad input raises (InputError: an argument the
        kind does not take or one it needs left out, a value JSON would not give back;
        and the kind's own check's errors) with nothing queued."""
        return defer_by_name(vault, self.name, self._named(args, kwargs), started_by)

    def _named(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        # The job row keeps its arguments by name; a value given by position gets its own.
        if not args:
            return kwargs
        params = [p.name for p in _parameters(self.run) or ()
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        if len(args) > len(params):
            raise InputError(f"job {self.name} takes at most {len(params)} arguments, "
                             f"{len(args)} were given; nothing was queued",
                             pl=f"Zadanie „{self.name}” dostało za dużo argumentów; niczego "
                                "nie zlecono.")
        named = dict(zip(params, args, strict=False))
        if twice := sorted(set(named) & set(kwargs)):
            raise InputError(f"job {self.name} got {', '.join(twice)} twice; nothing was queued",
                             pl=f"Zadanie „{self.name}” dostało dwa razy {', '.join(twice)}; "
                                "niczego nie zlecono.")
        return {**named, **kwargs}


_KINDS: dict[str, JobKind[Any]] = {}
_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def register(name: str, run: Callable[Concatenate[JobContext, P], Any], *,
             check: Callable[Concatenate[Vault, P], None] | None = None,
             retry: Retry | None = None, title_pl: str | None = None) -> JobKind[P]:
    """Make ``name`` a job kind (again: the same name replaces it, for tests); the typed kind
    callers queue it through. ``name`` is stored with every job: never rename a kind that
    may have rows queued by an older version."""
    kind = JobKind(name, run, check, retry or Retry(), title_pl or "Zadanie w tle")
    _KINDS[name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def kind_of(name: str) -> JobKind[Any]:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise InputError(f"unknown job kind {name!r} (known: {known}); nothing was queued",
                         pl=f"Nieznany rodzaj zadania „{name}”; niczego nie zlecono.") from None


# How a job checked here reaches the process's runner: set by kustosz.jobs, which knows the
# runners (they run the kinds, so this module does not import them back).
_hand_over: Callable[[Vault, str, dict[str, Any], str], int] | None = None


def hand_over_to(submit: Callable[[Vault, str, dict[str, Any], str], int]) -> None:
    global _hand_over
    _hand_over = submit


def defer_by_name(vault: Vault, name: str, args: dict[str, Any], started_by: str) -> int:
    """Queue a job of the kind named ``name``; its number. What would fail the job whatever
    the machine does is refused first, with nothing queued: an unknown kind, arguments JSON
    would not give back, arguments the kind does not take or needs, what its check refuses."""
    kind = kind_of(name)
    check_json(args)
    check_arguments(kind, args)
    if kind.check is not None:
        kind.check(vault, **args)
    if _hand_over is None:  # kustosz.jobs sets it on import, before anything can be queued
        raise RuntimeError("kustosz.jobs is not imported: no runner to queue a job on")
    return _hand_over(vault, name, args, started_by)


def _parameters(run: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """``run``'s parameters after the context; None when it has no signature to read."""
    try:
        return list(inspect.signature(run).parameters.values())[1:]
    except (TypeError, ValueError):
        return None


def check_arguments(kind: JobKind[Any], args: dict[str, Any]) -> None:
    """Refuse a name the kind's function does not take, or one it needs that is left out:
    a typo would otherwise be queued and fail on whichever node took it."""
    params = _parameters(kind.run)
    if params is None:
        return
    takes = [p.name for p in params if p.kind in _BY_NAME]
    listed = ", ".join(takes) or "none"
    any_name = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)  # **kwargs
    if unknown := [] if any_name else sorted(set(args) - set(takes)):
        en, pl = ("argument", "argumentu") if len(unknown) == 1 else ("arguments", "argumentów")
        raise InputError(
            f"job {kind.name} takes no {en} {', '.join(unknown)} (its arguments: {listed}); "
            "nothing was queued",
            pl=f"Zadanie „{kind.name}” nie przyjmuje {pl} {', '.join(unknown)} (przyjmuje: "
               f"{listed}); niczego nie zlecono.")
    if missing := [p.name for p in params
                   if p.kind in _BY_NAME and p.default is p.empty and p.name not in args]:
        en, pl = ("argument", "argumentu") if len(missing) == 1 else ("arguments", "argumentów")
        raise InputError(
            f"job {kind.name} needs the {en} {', '.join(missing)} (its arguments: {listed}); "
            "nothing was queued",
            pl=f"Zadanie „{kind.name}” wymaga {pl} {', '.join(missing)}; niczego nie zlecono.")


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
