"""The rule of the capture's table of offers (issue 64 S9, capture/pending.py), over many
tables: an answered call is never pushed out, a dialog that progressed goes only when no bare
offer is left, one sender's bare offers never pass their bound, and the table never holds
more than its limit of offers (answered calls aside)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.ingest.phone.capture.dialogs import Dialog
from kustosz.ingest.phone.capture.pending import to_forget

LIMIT, PER_SOURCE = 12, 4

# each offer: its sender (of four), and what became of it before the next came
OFFERS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["bare", "ringing", "answered"])),
                  max_size=60)


@settings(max_examples=300, deadline=None)
@given(OFFERS)
def test_the_table_keeps_what_progressed_and_bounds_each_sender(offers: list[tuple[int, str]]
                                                                ) -> None:
    calls: dict[str, Dialog] = {}
    for n, (sender, fate) in enumerate(offers):
        new = Dialog(f"c{n}", "+48581112233", "+48221234567", "", float(n),
                     source=f"10.0.0.{sender}")
        calls[new.call_id] = new
        forget = to_forget(calls, new, LIMIT, PER_SOURCE)
        if forget is not None:
            gone = calls.pop(forget[0])
            assert gone.answered is None  # never an answered call
            if gone.progressed:
                assert all(d.progressed for d in calls.values() if d.answered is None)
            if forget[1]:  # its sender's bound: one of that sender's bare offers
                assert gone.source == new.source and not gone.progressed
        if new.call_id in calls:
            new.progressed = fate != "bare"
            new.answered = float(n) if fate == "answered" else None
        bare = [d for d in calls.values() if d.answered is None and not d.progressed]
        for source in {d.source for d in bare}:
            assert sum(d.source == source for d in bare) <= PER_SOURCE
        assert sum(d.answered is None for d in calls.values()) <= LIMIT


def test_a_flood_from_one_sender_pushes_out_only_its_own_offers() -> None:
    real = Dialog("real", "+48581112233", "+48221234567", "", 0.0, source="10.0.0.1")
    calls = {"real": real}  # a bare offer still: nothing answered it yet
    for n in range(50):
        junk = Dialog(f"j{n}", "", "", "", 1.0 + n, source="10.6.6.6")
        calls[junk.call_id] = junk
        forget = to_forget(calls, junk, LIMIT, PER_SOURCE)
        if forget is not None:
            assert calls.pop(forget[0]).source == "10.6.6.6"
    assert "real" in calls
