"""Which calls the office's policy lets Kustosz keep (policy.calls: any combination of
external incoming, external outgoing and internal calls; "all" [seed 001 §1.1] and
"external_incoming" [seed 004 §3.4] as the presets write them).

When a source does not say which way a call went, the direction is derived from the numbers —
also from a number Kustosz cannot make canonical, where its digits tell (issue 64 item 9): one
of nine digits or more is no extension (a line's have at most eight) and, unless its last nine
or all its digits are one of the office's numbers, is not the office's either. A number that
is no number (a name, a mask) or too short to be a subscriber's and too long to be one of the
line's extensions cannot tell.

A scope of every kind keeps every call, told or not: it is still one of the office's calls. Any
narrower scope keeps a call only when every direction its numbers leave possible is one it
records (issue 66 item 4): under "external_incoming" a call whose direction cannot be told is
not kept — seed 004 §3.4 records "wyłącznie zewnętrzne połączenia przychodzące" (exclusively),
and such a call may be an employee's internal or outgoing one — while under outgoing and
internal calls a call from an extension to a number that cannot be told is kept, since it is
one or the other. A call not kept only because its numbers could not tell is not dropped
silently: :class:`Verdict` says it was `untold`, and the intake tells the office
(:func:`untold_pl`), without the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from kustosz.errors import ConfigError
from kustosz.phone_numbers import digits_of, is_internal, looks_like_number, try_normalize
from kustosz.policy.calls import CallKind, CallScope

__all__ = ["DIRECTIONS", "Scope", "Verdict", "derive_direction", "in_scope", "judge",
           "untold_pl"]

# The policy's scope, or one of the names a file writes ("all", "external_incoming", …).
Scope = CallScope | str
Direction = Literal["incoming", "outgoing", "internal", "unknown"]
DIRECTIONS: tuple[Direction, ...] = ("incoming", "outgoing", "internal", "unknown")
_NAMED: dict[str, Direction] = {d: d for d in DIRECTIONS}
# The kind of call each direction is; "unknown" (both sides outside: forwarded through the
# exchange) is none a narrower scope names.
_KIND: dict[Direction, CallKind] = {"incoming": "external_incoming",
                                    "outgoing": "external_outgoing", "internal": "internal"}

InternalTest = Callable[[str], bool]
Side = Literal["internal", "external", "withheld", ""]

# The Polish plan's subscriber numbers have nine digits; a line's extensions at most eight
# (phones.settings.make_settings).
_PUBLIC_MIN_DIGITS = 9


def untold_pl(scope: Scope) -> str:
    """What the office is told of a call not kept because its numbers could not tell its
    direction, naming what the office records."""
    return ("nie zapisano rozmowy: z numerów rozmówców nie da się ustalić jej kierunku, a "
            f"urząd nagrywa {_scope(scope).pl()}; sprawdź numery urzędu i długość numerów "
            "wewnętrznych linii albo ustaw w centrali numery w postaci +48…")


def _scope(scope: Scope) -> CallScope:
    if isinstance(scope, CallScope):
        return scope
    try:
        return CallScope.of(scope)
    except ConfigError:
        raise ValueError(f"unknown call scope {scope!r} (expected 'all', one of "
                         f"{', '.join(_KIND.values())} or a CallScope)") from None


@dataclass(frozen=True)
class Verdict:
    direction: Direction  # as given, else as the numbers tell
    keep: bool
    # Not kept only because the numbers could not tell which way the call went: one of the
    # directions they leave possible is one the office records.
    untold: bool = False


def derive_direction(
    caller: str, callee: str, internal: InternalTest, *, extension_max_digits: int = 4
) -> Direction:
    """The direction the numbers imply, or ``unknown`` when they do not settle it.

    ``internal`` is given numbers in canonical form. A withheld caller (``""``,
    ``anonymous``...) calling the office counts as incoming: an extension always presents its
    number.
    """
    caller_side = _side(caller, internal, extension_max_digits)
    callee_side = _side(callee, internal, extension_max_digits)
    if caller_side == "internal" and callee_side == "internal":
        return "internal"
    if caller_side == "internal" and callee_side == "external":
        return "outgoing"
    if caller_side in ("external", "withheld") and callee_side == "internal":
        return "incoming"
    # Both outside (a call forwarded through the PBX), or a number missing or malformed.
    return "unknown"


def in_scope(
    direction: str,
    caller: str,
    callee: str,
    scope: Scope,
    internal: Collection[str] | InternalTest,
    *,
    extension_max_digits: int = 4,
) -> bool:
    """True when the policy's ``scope`` keeps this call.

    ``direction`` is ``incoming``, ``outgoing``, ``internal``, or ``unknown``/``""`` to derive
    it from the numbers. ``internal`` is the set of the office's own numbers in canonical form
    (short extensions count anyway, see :func:`numbers.is_internal`) or a predicate, which is
    given numbers in canonical form.

    A scope of every kind keeps every call, a call whose direction cannot be told too: it is
    still one of the office's calls. A narrower one keeps a call only when every direction its
    numbers leave possible is one it records (the module's docstring); and a call labelled
    incoming whose caller is the office's own, or outgoing whose callee is, is an internal one.
    """
    return judge(direction, caller, callee, scope, internal,
                 extension_max_digits=extension_max_digits).keep


def judge(
    direction: str,
    caller: str,
    callee: str,
    scope: Scope,
    internal: Collection[str] | InternalTest,
    *,
    extension_max_digits: int = 4,
) -> Verdict:
    """The call's direction (``direction`` where the source gives one, else derived from the
    numbers in any writing) and whether the policy's ``scope`` keeps it (see :func:`in_scope`)."""
    test = _internal_test(internal, extension_max_digits)
    told = _NAMED.get(direction.strip().lower() or "unknown")
    if told is None:
        raise ValueError(
            f"unknown call direction {direction!r} (expected one of {', '.join(DIRECTIONS)})"
        )
    recorded = _scope(scope)
    if told == "unknown":
        told = derive_direction(caller, callee, test, extension_max_digits=extension_max_digits)
    if recorded.everything:
        return Verdict(told, True)
    possible = _possible(told, _side(caller, test, extension_max_digits),
                         _side(callee, test, extension_max_digits))
    kinds = {_KIND.get(d) for d in possible}  # None: both sides outside
    keep = kinds <= recorded.kinds
    # both sides outside may be an incoming call forwarded out, which a scope naming an
    # external kind may have wanted
    could = bool(kinds & recorded.kinds) or (None in kinds and recorded.kinds != {"internal"})
    return Verdict(told, keep, untold=not keep and told == "unknown" and could)


def _possible(told: Direction, caller: Side, callee: Side) -> set[Direction]:
    """Every direction the call may have gone in: the one told, unless the numbers make it an
    internal call; else each the sides leave open (a side that cannot tell, or a callee that
    is missing, may be the office's or not)."""
    if told == "incoming":
        return {"internal" if caller == "internal" else "incoming"}
    if told == "outgoing":
        return {"internal" if callee == "internal" else "outgoing"}
    if told == "internal":
        return {"internal"}
    callers = {"internal", "external"} if caller == "" else \
        {"internal" if caller == "internal" else "external"}
    callees = {callee} if callee in ("internal", "external") else {"internal", "external"}
    return {_BETWEEN[(a, b)] for a in callers for b in callees}


_BETWEEN: dict[tuple[str, str], Direction] = {
    ("internal", "internal"): "internal", ("internal", "external"): "outgoing",
    ("external", "internal"): "incoming", ("external", "external"): "unknown"}


def _internal_test(internal: Collection[str] | InternalTest, max_digits: int) -> InternalTest:
    if callable(internal):
        return internal
    numbers = frozenset(internal)
    return lambda number: is_internal(number, numbers, max_digits)


def _side(number: str, internal: InternalTest, max_digits: int) -> Side:
    canonical = try_normalize(number, internal_max_digits=max_digits)
    if canonical is None:
        return _side_of_digits(number, internal)
    if canonical == "":
        return "withheld"
    return "internal" if internal(canonical) else "external"


def _side_of_digits(number: str, internal: InternalTest) -> Literal["external", ""]:
    """The side of a number with no canonical form, where its digits tell (see the module's
    docstring); ``""`` where they cannot."""
    digits = digits_of(number)
    if not looks_like_number(number) or len(digits) < _PUBLIC_MIN_DIGITS:
        return ""
    # the office's own number in a writing of its own ("9" before it, its country without
    # "+"): it may be the office's, so neither side can be claimed
    for candidate in (try_normalize("+" + digits), try_normalize(digits[-9:])):
        if candidate and internal(candidate):
            return ""
    return "external"
