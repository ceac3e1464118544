"""Issue 66 item 4: the call scope is any combination of external incoming, external outgoing
and internal calls (policy.calls), and one rule keeps a call by it (ingest/phone/scope.py),
for every intake. Over every combination and every call — its true sides, the numbers a
source writes for them (readable, withheld, unreadable) and the direction it tells or not —
a call is kept only when it is of a kind the office records; a call of such a kind whose
numbers can be read is always kept; one that is not kept although it may have been such a
call is never dropped silently (`untold`); and the two names the presets wrote before
combinations ("all", "external_incoming") keep their meaning exactly."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.errors import ConfigError
from kustosz.ingest.phone.scope import judge, untold_pl
from kustosz.policy import load_policy
from kustosz.policy.calls import CALL_KINDS, CallScope, call_scope

OFFICE = {"+48221234567"}
COMBOS = [CallScope(frozenset(c)) for n in range(1, 4) for c in itertools.combinations(
    CALL_KINDS, n)]

# How a source may write each side: (number, readable?). An extension always presents its
# number, so only a caller from outside is ever withheld.
INTERNAL = [("201", True), ("2345", True), ("+48221234567", True), ("22 123 45 67", True),
            ("0048221234567", True), ("8906060", False), ("mcr", False),
            ("9221234567", False)]
EXTERNAL = [("600100200", True), ("+48 600 100 200", True), ("+44 20 7946 0958", True),
            ("09243820431", True), ("0821XXXX8663", False), ("Józef Żółć 📞", False)]
WITHHELD = [("", True), ("anonymous", True)]
TRUE_KIND = {("internal", "internal"): "internal", ("internal", "external"): "external_outgoing",
             ("external", "internal"): "external_incoming", ("external", "external"): None}
LABEL = {"internal": "internal", "external_outgoing": "outgoing",
         "external_incoming": "incoming"}


@st.composite
def calls(draw: Any) -> tuple[str, str, str, str | None, bool]:
    """A call: the direction a source tells, the numbers it writes, the call's true kind
    (None: forwarded between two outside numbers) and whether its numbers can be read."""
    caller_side = draw(st.sampled_from(["internal", "external"]))
    callee_side = draw(st.sampled_from(["internal", "external"]))
    callers = INTERNAL if caller_side == "internal" else EXTERNAL + WITHHELD
    caller, caller_ok = draw(st.sampled_from(callers))
    callee, callee_ok = draw(st.sampled_from(INTERNAL if callee_side == "internal"
                                             else EXTERNAL))
    kind = TRUE_KIND[(caller_side, callee_side)]
    told = draw(st.sampled_from(["unknown", "", LABEL[kind]] if kind else ["unknown", ""]))
    return told, caller, callee, kind, caller_ok and callee_ok


@settings(max_examples=600, deadline=None)
@given(scope=st.sampled_from(COMBOS), call=calls())
def test_a_call_is_kept_only_when_of_a_kind_the_office_records(
        scope: CallScope, call: tuple[str, str, str, str | None, bool]) -> None:
    told, caller, callee, kind, readable = call
    verdict = judge(told, caller, callee, scope, OFFICE)
    if scope.everything:
        assert verdict.keep and not verdict.untold
        return
    if verdict.keep:  # never a kind the office does not record
        assert kind in scope.kinds, (scope, call, verdict)
    if kind in scope.kinds and (readable or told in LABEL.values()):
        assert verdict.keep, (scope, call, verdict)  # told or readable: always kept
    if kind in scope.kinds and not verdict.keep:
        assert verdict.untold, (scope, call, verdict)  # never dropped silently
    if verdict.untold:
        assert not verdict.keep and verdict.direction == "unknown"


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["all", "external_incoming"]), call=calls())
def test_the_names_written_before_combinations_keep_their_meaning(
        name: str, call: tuple[str, str, str, str | None, bool]) -> None:
    told, caller, callee, _kind, _readable = call
    kinds = CALL_KINDS if name == "all" else ("external_incoming",)
    by_name = judge(told, caller, callee, name, OFFICE)
    assert by_name == judge(told, caller, callee, CallScope(frozenset(kinds)), OFFICE)
    if name == "external_incoming":  # issue 64 item 9's rule, as it was
        caller_internal = caller in {n for n, ok in INTERNAL if ok}
        direction = by_name.direction
        assert by_name.keep == (direction == "incoming" and not caller_internal)


@pytest.mark.parametrize(("told", "caller", "callee", "scope", "kept", "untold"), [
    # an extension calling a number that cannot be read: outgoing or internal, not incoming
    ("", "201", "8906060", ["external_outgoing", "internal"], True, False),
    ("", "201", "8906060", ["external_outgoing"], False, True),
    ("", "201", "8906060", ["external_incoming"], False, False),  # neither way incoming
    # a number that cannot be read calling an extension: incoming or internal
    ("", "8906060", "201", ["external_incoming", "internal"], True, False),
    ("", "8906060", "201", ["external_incoming", "external_outgoing"], False, True),
    # both outside (forwarded through the exchange): no kind a narrower scope names
    ("", "600100200", "+44 20 7946 0958", ["external_incoming", "external_outgoing"], False,
     True),
    ("", "600100200", "+44 20 7946 0958", ["internal"], False, False),
    # labelled incoming or outgoing, but between the office's own numbers: internal
    ("incoming", "202", "201", ["external_incoming", "external_outgoing"], False, False),
    ("incoming", "202", "201", ["internal"], True, False),
    ("outgoing", "201", "+48221234567", ["external_outgoing"], False, False),
    ("outgoing", "201", "600100200", ["external_outgoing"], True, False),
])
def test_what_the_numbers_leave_possible(told: str, caller: str, callee: str,
                                         scope: list[str], kept: bool, untold: bool) -> None:
    verdict = judge(told, caller, callee, CallScope.of(scope), OFFICE)
    assert (verdict.keep, verdict.untold) == (kept, untold)


def test_the_office_is_told_what_it_records_when_a_call_cannot_be_told() -> None:
    said = untold_pl(CallScope.of(["external_incoming", "external_outgoing"]))
    assert "urząd nagrywa wyłącznie zewnętrzne połączenia przychodzące i wychodzące" in said
    assert "nie da się ustalić jej kierunku" in said


@pytest.mark.parametrize(("value", "kinds", "pl"), [
    ("all", set(CALL_KINDS), "wszystkie połączenia przychodzące, wychodzące i wewnętrzne"),
    ("external_incoming", {"external_incoming"}, "wyłącznie zewnętrzne połączenia przychodzące"),
    ("internal", {"internal"}, "wyłącznie połączenia wewnętrzne"),
    (["external_incoming", "external_outgoing"], {"external_incoming", "external_outgoing"},
     "wyłącznie zewnętrzne połączenia przychodzące i wychodzące"),
    (["internal", "external_incoming"], {"external_incoming", "internal"},
     "wyłącznie zewnętrzne połączenia przychodzące oraz połączenia wewnętrzne"),
    (["external_outgoing", "internal", "external_outgoing"], {"external_outgoing", "internal"},
     "wyłącznie zewnętrzne połączenia wychodzące oraz połączenia wewnętrzne"),
    (["external_outgoing"], {"external_outgoing"},
     "wyłącznie zewnętrzne połączenia wychodzące"),
    (list(CALL_KINDS), set(CALL_KINDS),
     "wszystkie połączenia przychodzące, wychodzące i wewnętrzne"),
])
def test_the_policy_takes_any_combination(value: Any, kinds: set[str], pl: str) -> None:
    policy = load_policy("boleslawiec", {"calls": {"scope": value}})
    assert policy.call_scope.kinds == kinds and policy.call_scope.pl() == pl
    assert CallScope.of(policy.call_scope.value()) == policy.call_scope  # as a file writes it
    assert policy.as_dict()["calls"]["scope"] == policy.call_scope.value()


@pytest.mark.parametrize(("value", "en", "pl"), [
    ("some", "calls.scope: unknown 'some'", "nieznana wartość „some”"),
    (["external_incoming", "wewnętrzne"], "unknown 'wewnętrzne'", "nieznana wartość „wewnętrzne”"),
    (["all"], "unknown 'all'", "nieznana wartość „all”"),
    ([], "lists no calls", "nie wymienia żadnych połączeń"),
])
def test_a_wrong_scope_is_refused_in_polish(value: Any, en: str, pl: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy("boleslawiec", {"calls": {"scope": value}})
    assert en in str(caught.value) and caught.value.pl and pl in caught.value.pl
    assert "None" not in caught.value.pl


def test_a_missing_scope_says_which_key() -> None:
    with pytest.raises(ConfigError) as caught:
        call_scope({"retention": {"phone": "3 months"}})
    assert caught.value.pl is not None
    assert caught.value.pl.startswith("Zasada retention.phone: urząd nagrywa rozmowy, więc brak "
                                      "zasady calls.scope")
    # an office that records no calls need not say (issue 66 item 5): it records none
    assert not call_scope({}).kinds
