"""A database that flaps — answers one probe in a dozen (a failing network card, a PostgreSQL
in a crash loop) — is one outage (issue 27; found by the review): told once when its time away
reaches the grace, its end told once it has answered for the grace without a break; neither
silence for an hour nor a message at every flap. The rule alone, its readings given: the
channel is a list (what a channel does is tested in tests/test_alerts_database.py with real
ones), and no row store (the outage's row is written there too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.alerts.without_database import DatabaseAlerts
from kustosz.db.watch import Reading

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
GRACE = timedelta(seconds=60)
EVERY_S = 5


class Kept:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


def _run(pattern: list[bool]) -> tuple[DatabaseAlerts, Kept]:
    """One probe every 5 s; ``pattern[i]``: did probe i get an answer."""
    kept = Kept()
    vault = SimpleNamespace(policy=SimpleNamespace(timezone=UTC, office_name="Urząd Miasta"))
    alerts = DatabaseAlerts(vault, channels={"kept": kept}, grace=GRACE)  # type: ignore[arg-type]
    alerts._write_owed = lambda: None  # type: ignore[method-assign]
    reading = Reading(None, T0)
    for step, up in enumerate(pattern):
        now = T0 + timedelta(seconds=EVERY_S * step)
        since = reading.since if reading.up is up else now
        reading = Reading(up, since, now, None if up else "OperationalError", step + 1)
        alerts.tick(reading, now)
        alerts.deliver()
    return alerts, kept


def _events(kept: Kept) -> list[str]:
    return [getattr(m, "event", None) or ("clear" if "znów" in str(m) else "start")
            for m in kept.sent]


def test_away_55_s_of_every_minute_is_told_once() -> None:
    alerts, kept = _run([step % 12 == 11 for step in range(720)])  # an hour
    assert len(kept.sent) == 1, "away 92 % of an hour: told once, when it began"
    assert alerts.told == T0


def test_away_65_s_then_back_5_s_is_one_outage_not_a_message_a_minute() -> None:
    alerts, kept = _run([step % 14 == 13 for step in range(720)])
    assert len(kept.sent) == 1 and alerts.told is not None


def test_its_end_is_told_once_it_has_answered_for_the_grace() -> None:
    flapping = [step % 12 == 11 for step in range(120)]
    alerts, kept = _run(flapping + [True] * 11)
    assert len(kept.sent) == 1, "answered 55 s: not yet sure it is back"
    alerts, kept = _run(flapping + [True] * 14)
    assert len(kept.sent) == 2 and alerts.told is None
    # back since the last flap (probe 119), which then held
    assert alerts.owed == [(T0, T0 + timedelta(seconds=EVERY_S * 119))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40)), min_size=1, max_size=30))
def test_starts_and_ends_alternate_and_match_the_time_away(runs: list[tuple[bool, int]]
                                                           ) -> None:
    """Over any pattern: messages alternate start, clear, start …; a start is told only
    once the time away within the outage reached the grace."""
    pattern = [up for up, n in runs for _ in range(n)]
    _alerts, kept = _run(pattern)
    texts = [str(getattr(m, "subject", m)) for m in kept.sent]
    for i, text in enumerate(texts):
        assert ("znów dostępna" in text) == (i % 2 == 1), texts
    if kept.sent:
        first_start = next(i for i, up in enumerate(pattern) if not up)
        away = sum(EVERY_S for up in pattern if not up)
        assert away + EVERY_S >= GRACE.total_seconds(), (first_start, away)
    else:
        longest_down = max((n for up, n in runs if not up), default=0)
        assert longest_down * EVERY_S < GRACE.total_seconds() + 2 * EVERY_S
