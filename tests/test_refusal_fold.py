"""The folding rule of refusals (issue 64 item 4), over many sequences (hypothesis): whatever
addresses a sequence forges, its refusals are keyed by a known device, or by a class of
senders and a reason — never by an address; nothing is lost or counted twice; a forgeable
sender's key is handed to be written at most once a `write_s` (or when its hour turns); the
addresses of an hour are counted once each, the first few named; a key logs at most a line a
`LOG_S`; the keys held stay bounded. Device names and reasons carry Polish letters and emoji,
as an office's line names and a device's words do."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.ingest import refusal_fold
from kustosz.ingest.refusal_fold import FOLD, LOG_S, SAMPLE, Fold, Key, Refusal, Tally

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
KNOWN = ("kamera hol", "centrala linii Józef Żółć", "SBC linii sekretariat 📞")
CLASSES = ("nadawca SIP spoza list linii SIPREC", "nadawca zdarzeń spoza listy źródła ŻŻŻ")
REASONS = ("adres nie należy do żadnej linii SIPREC", "nieczytelna wiadomość SIP 🙃",
           "adres nie jest na liście (ą ć ę ł ń ó ś ź ż)")
WRITE_S = 5.0

one = st.tuples(
    st.booleans(),  # from a forgeable address
    st.integers(0, 2),  # device or class
    st.integers(0, 2),  # reason
    st.integers(0, 40),  # which address of a small pool (so that some come again)
    st.integers(1, 3),  # times
    st.integers(0, 900),  # wall seconds since the last
    st.floats(0, 8),  # monotonic seconds since the last
)


class Writer:
    """What refusal_rows.write does with intervals: a tally opens its key's hour, or joins
    the open one when it began within FOLD of its start."""

    def __init__(self, fold: Fold) -> None:
        self.fold = fold
        self.opened: dict[Key, datetime] = {}
        self.hours: dict[tuple[Key, datetime], list[Tally]] = defaultdict(list)

    def write(self, due: list[tuple[Key, Tally]]) -> None:
        for key, tally in due:
            raised = self.opened.get(key)
            if raised is None or tally.first_at - raised >= FOLD:
                raised = self.opened[key] = tally.first_at
            self.hours[key, raised].append(tally)
            self.fold.written(key, raised)


@settings(max_examples=300, deadline=None)
@given(st.lists(one, max_size=250))
def test_refusals_fold_by_device_or_class_and_reason_never_by_address(
        steps: list[tuple[bool, int, int, int, int, int, float]]) -> None:
    fold, now, mono = Fold(), T0, 100.0
    writer = Writer(fold)
    sent: list[tuple[Key, Refusal]] = []
    handed: dict[Key, list[float]] = defaultdict(list)
    logged: dict[Key, list[float]] = defaultdict(list)
    lines_held = 0
    for forged, who, why, addr, times, dt, dm in steps:
        now, mono = now + timedelta(seconds=dt), mono + dm
        address = f"127.10.0.{addr}" if forged else None
        r = Refusal(CLASSES[who % 2] if forged else KNOWN[who], REASONS[why],
                    f"szczegół {addr} ✓", now, None, False, address, times)
        key = Key(r.device, r.reason_pl if forged else "")
        sent.append((key, r))
        added = fold.add(r, mono, WRITE_S if forged else 0.0)
        assert all(k == key for k, _ in added.due)  # only its own key is handed on
        if not forged:  # a known device's refusal is written at once, alone
            assert [t.count for _, t in added.due] == [times]
        if added.due:
            handed[key].append(mono)
        if added.log:
            logged[key].append(mono)
        lines_held += added.held
        writer.write(added.due)
        writer.write(fold.due(mono, WRITE_S))  # what refusals' thread does meanwhile
        assert sum(1 for k in fold.slots if k.reason) <= refusal_fold.ADDRESS_KEYS
    writer.write(fold.take_all(mono))
    # keyed by device or class and reason: as many keys as those, whatever the addresses
    assert {k for k, _ in sent} == {k for k, _ in writer.hours}
    assert len({k for k, _ in writer.hours}) <= len(KNOWN) + len(CLASSES) * len(REASONS)
    assert not any(k.device.startswith("127.") or k.reason.startswith("127.")
                   for k, _ in writer.hours)
    # nothing lost, nothing twice
    assert sum(t.count for ts in writer.hours.values() for t in ts) == sum(r.times
                                                                         for _, r in sent)
    for key, times in handed.items():  # a forgeable key: once a write_s, or as its hour turns
        if key.reason:
            turns = len({raised for k, raised in writer.hours if k == key})
            quick = sum(1 for a, b in pairwise(times) if b - a < WRITE_S)
            assert quick <= turns, (key, times)
    for times in logged.values():  # a line a LOG_S at most, per key
        assert all(b - a >= LOG_S for a, b in pairwise(times)), times
    assert sum(len(t) for t in logged.values()) + lines_held <= sum(r.times for _, r in sent)
    hours = _hours_of(sent)
    for (key, raised), tallies in writer.hours.items():  # an hour's addresses: once each
        if not key.reason:
            assert all(t.new_addresses == 0 and t.sample == [] for t in tallies)
            continue
        distinct = hours[key, raised]
        assert sum(t.new_addresses for t in tallies) == len(distinct)
        named: list[str] = []
        for t in tallies:  # as refusal_rows keeps them: the hour's first SAMPLE
            assert len(t.sample) <= SAMPLE
            named += [a for a in t.sample if a not in named]
        assert named[:SAMPLE] == distinct[:SAMPLE]


def _hours_of(sent: list[tuple[Key, Refusal]]) -> dict[tuple[Key, datetime], list[str]]:
    """Each forged key's hours as the rule says (an hour opens with the first refusal at or
    past the last one's end) and their distinct addresses, in order of first appearance."""
    out: dict[tuple[Key, datetime], list[str]] = defaultdict(list)
    opened: dict[Key, datetime] = {}
    for key, r in sent:
        if r.address is None:
            continue
        if key not in opened or r.at >= opened[key] + FOLD:
            opened[key] = r.at
        if r.address not in out[key, opened[key]]:
            out[key, opened[key]].append(r.address)
    return out


def test_the_addresses_of_an_hour_are_counted_once_each_and_the_first_named() -> None:
    fold = Fold()
    due = []
    for n in range(1000):
        due += fold.add(Refusal(CLASSES[0], REASONS[0], "", T0 + timedelta(seconds=n),
                                address=f"127.10.{n // 250}.{n % 250 + 1}"), 0.0, WRITE_S).due
        due += fold.add(Refusal(CLASSES[0], REASONS[0], "", T0 + timedelta(seconds=n),
                                address="127.10.0.1"), 0.0, WRITE_S).due  # again and again
    due += fold.take_all(1.0)
    assert sum(t.count for _, t in due) == 2000
    assert sum(t.new_addresses for _, t in due) == 1000
    # the first write names the first; the next the following ones (the row keeps SAMPLE)
    assert [t.sample for _, t in due] == [["127.10.0.1"], ["127.10.0.2", "127.10.0.3",
                                                          "127.10.0.4"]]
    assert due[-1][1].last_address == "127.10.0.1"


def test_more_kinds_of_forged_refusal_than_it_holds_fold_into_one_key() -> None:
    """A guard: callers pass fixed reasons, but a caller that put outside text into a reason
    still makes no more than ADDRESS_KEYS + 1 keys."""
    fold = Fold()
    keys = set()
    for n in range(refusal_fold.ADDRESS_KEYS + 100):
        added = fold.add(Refusal(CLASSES[0], f"powód {n}", "", T0, address="127.10.0.1"), 0.0,
                         WRITE_S)
        keys |= {k for k, _ in added.due}
    keys |= {k for k, _ in fold.take_all(0.0)}
    assert len(keys) == refusal_fold.ADDRESS_KEYS + 1
    assert Key(refusal_fold.OVERFLOW_DEVICE, refusal_fold.OVERFLOW_REASON) in keys
