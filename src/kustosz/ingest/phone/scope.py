"""Which calls the office's policy lets Kustosz keep.

* ``all``: incoming, outgoing and internal calls [seed 001 §1.1];
* ``external_incoming``: only calls from an external number to the office [seed 004 §3.4].

When a source does not say which way a call went, the direction is derived from the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal

from kustosz.phone_numbers import is_internal, try_normalize

__all__ = ["DIRECTIONS", "Scope", "derive_direction", "in_scope"]

Scope = Literal["all", "external_incoming"]
Direction = Literal["incoming", "outgoing", "internal", "unknown"]
DIRECTIONS: tuple[Direction, ...] = ("incoming", "outgoing", "internal", "unknown")

InternalTest = Callable[[str], bool]


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

    Under ``all`` a call whose direction cannot be told is kept: it is still one of the
    office's calls. Under ``external_incoming`` it is not, since only a call known to come from
    outside may be kept; nor is a call labelled incoming whose caller is the office's own.
    """
    test = _internal_test(internal, extension_max_digits)
    given = direction.strip().lower() or "unknown"
    if given not in DIRECTIONS:
        raise ValueError(
            f"unknown call direction {direction!r} (expected one of {', '.join(DIRECTIONS)})"
        )
    if given == "unknown":
        given = derive_direction(caller, callee, test, extension_max_digits=extension_max_digits)
    if scope == "all":
        return True
    if scope == "external_incoming":
        return given == "incoming" and _side(caller, test, extension_max_digits) != "internal"
    raise ValueError(f"unknown call scope {scope!r} (expected 'all' or 'external_incoming')")


def _internal_test(internal: Collection[str] | InternalTest, max_digits: int) -> InternalTest:
    if callable(internal):
        return internal
    numbers = frozenset(internal)
    return lambda number: is_internal(number, numbers, max_digits)


def _side(
    number: str, internal: InternalTest, max_digits: int
) -> Literal["internal", "external", "withheld", ""]:
    canonical = try_normalize(number, internal_max_digits=max_digits)
    if canonical is None:
        return ""  # malformed: neither side can be claimed
    if canonical == "":
        return "withheld"
    return "internal" if internal(canonical) else "external"
