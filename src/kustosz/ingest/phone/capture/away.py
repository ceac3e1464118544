"""The capture process away while calls are recorded off a mirrored port (issue 64).

While the capture process (kustosz capture) is away nothing of the port is read: a call in
progress loses what was said meanwhile, and its BYE, if it fell in that time, is never seen.
Each absence is kept here on serve's steady clock, the clock the frames' capture times are put
on (call_clock.py): a wall-clock step during an absence changes neither its length nor where it
falls in a call. A call's record then says which stretches of it were not heard (`unheard` in
its facts and its recording's metadata: from, to, seconds) beside the packets its RTP's
sequence numbers prove lost; a call that is not heard again within `resume_s` of the process's
return ended while it was away and is closed then (`ended: capture_away`), not left open until
its silence time-out or serve's stop. The absence itself is an alert of its own once it lasts
(capture/run.py, `phone.capture_away`); each call it cut is told on its line at once
(`phone.loss`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kustosz.ingest.phone.capture.calls import Call
from kustosz.states import AlertRow

Problem = Callable[[AlertRow, str, str], None]
KEPT = 64  # absences remembered; a call older than the oldest of them is long closed


@dataclass
class Absences:
    """When the capture process was away, oldest first; the last one may still last."""

    spans: list[tuple[float, float | None]] = field(default_factory=list)

    @property
    def away(self) -> bool:
        return bool(self.spans) and self.spans[-1][1] is None

    def went(self, at: float) -> None:
        if not self.away:
            self.spans = [*self.spans[-(KEPT - 1):], (at, None)]

    def came_back(self, at: float) -> None:
        if self.away:
            start, _ = self.spans[-1]
            self.spans[-1] = (start, max(at, start))

    def during(self, start: float, end: float,
               at: Callable[[float], datetime] = lambda t: datetime.fromtimestamp(t, UTC)
               ) -> list[dict[str, object]]:
        """The stretches of [start, end] the port was not read, for a call's record, each
        end told on the wall clock by ``at`` (the call's own clock)."""
        out: list[dict[str, object]] = []
        for a, b in self.spans:
            lo, hi = max(a, start), min(end if b is None else b, end)
            told_from, told_to = at(lo), at(hi)
            # Every absence the record's times (microseconds) can tell apart is kept: a
            # reconnection within a millisecond was dropped, and the call's record then
            # said it was heard throughout (CI, 2026-11-30).
            if told_to > told_from:
                out.append({"from": told_from.isoformat(), "to": told_to.isoformat(),
                            "seconds": round(hi - lo, 6)})
        return out

    def ended_while_away(self, call: Call, now: float, resume_s: float) -> bool:
        """The call was in progress when the process went away, the process has been back
        ``resume_s`` and nothing of the call was heard since: its end (a BYE) fell in the
        absence. A call in progress sends RTP every few tens of milliseconds."""
        if not self.spans or self.away:
            return False  # still away: the silence time-out closes it
        start, back = self.spans[-1]
        assert back is not None
        return call.started <= start and call.last_heard < back and now - back > resume_s


def tell_cut(calls: Iterable[Call], problem: Problem, at: float) -> None:
    """Every call recorded now loses what the port shows while the capture process is
    away: told on its line at once, whatever the absence's own alert's bound."""
    said = datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S UTC")
    for call in calls:
        if call.folder is not None:
            problem(AlertRow.PHONE_LOSS, call.line.name,
                    f"call {call.folder.path.name} read off {call.interface}: the capture "
                    f"process went away at {said}; what the port carried until it is back "
                    "is not recorded")
