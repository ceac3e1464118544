"""Call scope policy: which calls are kept."""

from __future__ import annotations

import pytest

from kustosz.ingest.phone.scope import derive_direction, in_scope

OFFICE = {"+48221234567"}  # the office's main DID; short numbers are extensions anyway


def _internal(number: str) -> bool:
    # A predicate is handed canonical forms only.
    return number in ("201", "202", "+48221234567")


@pytest.mark.parametrize(
    ("caller", "callee", "direction"),
    [
        ("600 100 200", "201", "incoming"),
        ("600 100 200", "22 123 45 67", "incoming"),
        ("anonymous", "201", "incoming"),
        ("", "201", "incoming"),
        ("201", "600100200", "outgoing"),
        ("201", "+44 20 7946 0958", "outgoing"),
        ("201", "202", "internal"),
        ("600100200", "700100200", "unknown"),
        ("201", "", "unknown"),
        ("garbage", "201", "unknown"),
        ("", "", "unknown"),
    ],
)
def test_derive_direction(caller: str, callee: str, direction: str) -> None:
    assert derive_direction(caller, callee, _internal) == direction


@pytest.mark.parametrize("direction", ["incoming", "outgoing", "internal", "unknown", ""])
def test_all_keeps_every_call(direction: str) -> None:
    assert in_scope(direction, "201", "600100200", "all", OFFICE)
    assert in_scope(direction, "600100200", "700100200", "all", OFFICE)


@pytest.mark.parametrize(
    ("direction", "caller", "callee", "kept"),
    [
        ("incoming", "600 100 200", "201", True),
        ("incoming", "anonymous", "201", True),
        ("outgoing", "201", "600100200", False),
        ("internal", "201", "202", False),
        ("incoming", "202", "201", False),  # labelled incoming but the caller is the office's
        ("unknown", "600 100 200", "201", True),
        ("", "0048600100200", "+48 22 123 45 67", True),
        ("unknown", "201", "600100200", False),
        ("unknown", "201", "202", False),
        ("unknown", "600100200", "700100200", False),  # cannot tell: not kept
        ("Incoming", "600100200", "201", True),
    ],
)
def test_external_incoming(direction: str, caller: str, callee: str, kept: bool) -> None:
    assert in_scope(direction, caller, callee, "external_incoming", OFFICE) is kept
    assert in_scope(direction, caller, callee, "external_incoming", _internal) is kept


def test_longer_extensions() -> None:
    assert in_scope("", "600100200", "20100", "external_incoming", set(), extension_max_digits=5)
    assert not in_scope("", "600100200", "20100", "external_incoming", set())


def test_bad_direction_and_scope() -> None:
    with pytest.raises(ValueError, match="direction"):
        in_scope("sideways", "201", "202", "all", OFFICE)
    with pytest.raises(ValueError, match="scope"):
        in_scope("incoming", "600100200", "201", "some", OFFICE)  # type: ignore[arg-type]
