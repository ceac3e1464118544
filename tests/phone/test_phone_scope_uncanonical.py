"""Issue 64 item 9: a number Kustosz cannot make canonical still tells the call's direction
where its digits can — one of nine or more digits is no extension (a line's extensions have
at most eight) and, unless its last nine are the office's, not the office's either — and
"unknown" only where they truly cannot tell. Under "external incoming only" [seed 004 §3.4:
"wyłącznie zewnętrzne połączenia przychodzące"] a call that cannot be told is not kept, and
the verdict says so (`untold`), so that the intake tells the office instead of dropping it
silently."""

from __future__ import annotations

import pytest

from kustosz.ingest.phone.scope import derive_direction, in_scope, judge

OFFICE = {"+48221234567"}


def _internal(number: str) -> bool:
    return number in ("201", "202", "+48221234567")


@pytest.mark.parametrize(("caller", "callee", "direction"), [
    ("09243820431", "201", "incoming"),  # an Indian mobile with its trunk 0
    ("9996837840", "201", "incoming"),
    ("201", "9996837840", "outgoing"),
    ("+48221234567", "15550001002", "outgoing"),  # a number called, written without "+1"
    ("31624895902", "33187164021", "unknown"),  # both outside: forwarded through the PBX
    ("8906060", "201", "unknown"),  # 7 digits: perhaps an extension the line was not told of
    ("201", "8906060", "unknown"),
    ("201", "0821XXXX8663", "unknown"),  # masked: its digits are not all there
    ("mcr", "201", "unknown"),  # a SIP user's name: could be the office's own phone
    ("08019200026", "mcr", "unknown"),
    ("9221234567", "201", "unknown"),  # the office's own number behind a prefix "9"?
    ("unavailable", "061963177", "unknown"),  # withheld, to a number starting 0 after 0
])
def test_direction_where_the_digits_can_tell(caller: str, callee: str, direction: str) -> None:
    assert derive_direction(caller, callee, _internal) == direction
    assert judge("", caller, callee, "all", OFFICE).direction == direction


@pytest.mark.parametrize(("given", "caller", "callee", "kept", "untold"), [
    ("unknown", "09243820431", "201", True, False),
    ("", "9996837840", "22 123 45 67", True, False),
    ("unknown", "201", "9996837840", False, False),  # outgoing: out of scope, told as such
    ("unknown", "8906060", "201", False, True),  # cannot tell: not kept, and said so
    ("unknown", "mcr", "201", False, True),
    ("incoming", "mcr", "201", True, False),  # the source says incoming, from no office number
    ("incoming", "8906060", "201", True, False),
])
def test_external_incoming_with_numbers_not_canonical(given: str, caller: str, callee: str,
                                                      kept: bool, untold: bool) -> None:
    for internal in (OFFICE, _internal):
        verdict = judge(given, caller, callee, "external_incoming", internal)
        assert (verdict.keep, verdict.untold) == (kept, untold)
        assert in_scope(given, caller, callee, "external_incoming", internal) is kept


def test_under_all_an_untold_call_is_kept() -> None:
    verdict = judge("unknown", "8906060", "201", "all", OFFICE)
    assert (verdict.direction, verdict.keep, verdict.untold) == ("unknown", True, False)
