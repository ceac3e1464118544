"""The bucket check's look-up of indexed versions in what it listed (issue 28 item 4): the
digests of the listed versions, sorted, answer "listed?" for every indexed one exactly as a
set would — whatever the keys, versions and duplicates, the empty listing and the extremes of
64 bits included."""

from __future__ import annotations

from array import array

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.maintenance.store_check import _digest, listed_in

KEYS = st.text(min_size=1, max_size=40)
VERSIONS = st.text(alphabet="0123456789abcdef", min_size=1, max_size=32)
PAIRS = st.lists(st.tuples(KEYS, VERSIONS), max_size=60)


def _sorted(digests: list[int]) -> np.ndarray:
    listed = np.frombuffer(array("Q", digests), dtype=np.uint64).copy()
    listed.sort()
    return listed


@settings(max_examples=300, deadline=None)
@given(PAIRS, PAIRS)
def test_listed_in_answers_as_a_set_would(listed: list[tuple[str, str]],
                                          others: list[tuple[str, str]]) -> None:
    indexed = listed[::2] + others  # some listed (duplicates too), some not
    got = listed_in(_sorted([_digest(k, v) for k, v in listed]),
                    [_digest(k, v) for k, v in indexed])
    assert list(map(bool, got)) == [pair in set(listed) for pair in indexed]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=30),
       st.lists(st.integers(0, 2**64 - 1), max_size=30))
def test_listed_in_holds_at_the_ends_of_64_bits(listed: list[int], asked: list[int]) -> None:
    asked = asked + listed[:3] + [0, 2**64 - 1]
    got = listed_in(_sorted(listed), asked)
    assert list(map(bool, got)) == [a in set(listed) for a in asked]


def test_the_digest_tells_key_and_version_apart() -> None:
    # the separator: ("ab", "c") and ("a", "bc") are different versions
    assert _digest("ab", "c") != _digest("a", "bc")
    assert 0 <= _digest("k", "v") < 2**64
