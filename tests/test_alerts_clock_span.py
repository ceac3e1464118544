"""Issue 48 item 14: after the server's clock was set 40 days ahead, a camera down for ten
minutes across it was told "znów nagrywa (przerwa 40 dni)". A problem's length is the time
between its start and end less the server clock's steps between them (kustosz.clock's
ClockJump rows, which the notifier reads into the message's item)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kustosz.alerts.messages import compose
from kustosz.alerts.notifier import jumped_s
from kustosz.db.clock import ClockJump
from kustosz.vault import Vault

T = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
AHEAD = timedelta(days=40)


def test_a_camera_down_across_a_clock_step_is_told_its_own_length(vault: Vault) -> None:
    """SQLite and PostgreSQL: the step between start and end is taken away; a camera's own
    clock's steps and steps outside the span are not."""
    with vault.transaction() as s:
        s.add(ClockJump(detected_at=T + timedelta(minutes=4) + AHEAD, clock="server",
                        delta_s=AHEAD.total_seconds(), before_at=T + timedelta(minutes=4)))
        s.add(ClockJump(detected_at=T + timedelta(minutes=5) + AHEAD, clock="camera",
                        delta_s=3600.0))
        s.add(ClockJump(detected_at=T - timedelta(days=1), clock="server", delta_s=-7200.0))
    end = T + AHEAD + timedelta(minutes=10)
    with vault.reading() as s:
        step = jumped_s(s, T, end)
    assert step == AHEAD.total_seconds()
    item = {"alert": 1, "kind": "camera_down", "row_kind": "camera_down", "source": "wejscie",
            "since": T.isoformat(), "at": end.isoformat(), "text": "", "event": "clear",
            "jumped_s": step}
    assert compose(item).subject == "[Kustosz] Kamera „wejscie” znów nagrywa (przerwa 10 min)"
    past = dict(item, event="past")
    assert "nie nagrywała przez 10 min" in compose(past).subject
    old = dict(item, jumped_s=None)  # an item queued before this release: as before
    assert "40 dni" in compose(old).subject
