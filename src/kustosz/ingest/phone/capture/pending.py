"""Which offer the capture stops following when its table of calls is full (issue 64 S9).

Every INVITE seen on a mirrored port is followed until it is answered, fails or is forgotten
(CaptureSettings.unanswered_s), and the table holds at most `max_calls` of them (issue 48 item
5: unbounded, junk INVITEs filled it). Making room by the oldest unanswered offer alone let
1 001 junk INVITEs push out a real call that was ringing. So:

* an answered call is never pushed out;
* a dialog that progressed — the other side answered its INVITE at all (100 Trying, 180
  Ringing, a final error) — goes only when no bare offer (an INVITE nobody answered, which is
  what junk is) is left to go;
* one sender's bare offers are bounded by `max_offers_per_source`: past it, that sender's
  oldest goes, whatever the others do, so a flood from one address pushes out only its own.

Each offer pushed out is told (refusals.Refusals.not_followed)."""

from __future__ import annotations

from kustosz.ingest.phone.capture.dialogs import Dialog


def to_forget(calls: dict[str, Dialog], new: Dialog, limit: int,
              per_source: int) -> tuple[str, bool] | None:
    """The Call-ID to stop following now that ``new`` joined ``calls``, and whether it went
    for its sender's bound (True) or the table's (False); None while there is room."""
    pending = [d for d in calls.values() if d.answered is None]
    bare = [d for d in pending if not d.progressed]
    from_sender = [d for d in bare if d.source == new.source]
    if len(from_sender) > per_source:
        return min(from_sender, key=_age).call_id, True
    if len(calls) <= limit:
        return None
    for group in (bare, pending):
        if group:
            return min(group, key=_age).call_id, False
    return new.call_id, False  # every call in the table is answered: the new offer waits


def _age(dialog: Dialog) -> float:
    return dialog.started
