"""Period arithmetic of the Civil Code (art. 111, 112) and each preset's boundaries (R2.1)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kustosz.errors import ConfigError
from kustosz.policy import Period, load_policy
from kustosz.policy.periods import WARSAW, expires_at


def local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=WARSAW).astimezone(UTC)


@pytest.mark.parametrize(("start", "months", "last_day"), [
    (date(2026, 11, 30), 3, date(2027, 2, 28)),   # no 30 February: last day of the month
    (date(2027, 11, 30), 3, date(2028, 2, 29)),   # leap year
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 1, 15), 3, date(2026, 4, 15)),    # same date three months on
    (date(2026, 10, 31), 4, date(2027, 2, 28)),   # Wałbrzych copies: 4 months
])
def test_months_end_on_corresponding_day_or_month_end(start: date, months: int,
                                                      last_day: date) -> None:
    assert Period(months, "months").last_day(start) == last_day
    assert Period(months, "months").end(start) == local_midnight(last_day + timedelta(days=1))


def test_days_do_not_count_the_start_day() -> None:
    # Recorded on 1 March: day 1 of 30 is 2 March, day 30 is 31 March (art. 111 §2).
    assert Period(30, "days").last_day(date(2026, 3, 1)) == date(2026, 3, 31)
    # Ends with the end of 31 March local time: 22:00 UTC because Poland is on summer time.
    assert Period(30, "days").end(date(2026, 3, 1)) == datetime(2026, 3, 31, 22, tzinfo=UTC)


def test_day_of_recording_is_the_warsaw_day() -> None:
    # 23:30 UTC on 31 Dec is already 1 January in Warsaw: the period counts from 1 January.
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert expires_at(late, Period(30, "days")) == local_midnight(date(2027, 1, 31) +
                                                                  timedelta(days=1))


PRESET_CASES = {
    # preset: (kind, recorded local, last local day material may exist)
    "elblag": ("camera", datetime(2026, 1, 31, 12, 0), date(2026, 3, 2)),
    "pleszew": ("camera", datetime(2026, 2, 1, 0, 0), date(2026, 3, 3)),
    "miedziana-gora": ("camera", datetime(2026, 11, 30, 23, 59), date(2027, 2, 28)),
    "boleslawiec": ("phone", datetime(2027, 11, 30, 8, 0), date(2028, 2, 29)),
    "walbrzych": ("phone", datetime(2026, 10, 25, 2, 30), date(2026, 11, 24)),  # DST change day
}


@pytest.mark.parametrize("preset", sorted(PRESET_CASES))
def test_preset_boundary(preset: str) -> None:
    kind, recorded, last_day = PRESET_CASES[preset]
    policy = load_policy(preset)
    at = recorded.replace(tzinfo=WARSAW)
    end = expires_at(at, policy.retention_for(kind))
    assert end == local_midnight(last_day + timedelta(days=1))


@pytest.mark.parametrize(("preset", "lifetime", "counted_from"), [
    ("pleszew", "3 months", "recording_date"), ("miedziana-gora", "3 months", "copy_date"),
    ("walbrzych", "4 months", "copy_date"),
])
def test_copy_lifetimes(preset: str, lifetime: str, counted_from: str) -> None:
    policy = load_policy(preset)
    assert str(policy.copy_lifetime) == lifetime
    assert policy.copy_counted_from == counted_from


@pytest.mark.parametrize(("preset", "scope", "deadline", "after"), [
    ("walbrzych", "external_incoming", Period(14, "days"), "warn"),  # 004 §7.4
    ("boleslawiec", "all", None, None),  # 001 sets no deadline (issue 13 item 6)
    ("pleszew", "all", Period(14, "days"), "reject"),  # 002 zał.5 §6.4
])
def test_scope_and_deadline(preset: str, scope: str, deadline: Period | None,
                            after: str | None) -> None:
    policy = load_policy(preset)
    assert str(policy.call_scope) == scope
    assert policy.after_deadline == after
    assert policy.request_deadline == deadline


@settings(max_examples=3000, deadline=None)
@given(start=st.dates(date(2000, 1, 1), date(2090, 12, 31)), n=st.integers(1, 36))
def test_month_periods_property(start: date, n: int) -> None:
    last = Period(n, "months").last_day(start)
    months_apart = (last.year - start.year) * 12 + last.month - start.month
    assert months_apart == n
    month_len = calendar.monthrange(last.year, last.month)[1]
    assert last.day == min(start.day, month_len)
    end = Period(n, "months").end(start)
    assert end.astimezone(WARSAW).time().hour == 0
    assert end.astimezone(WARSAW).date() == last + timedelta(days=1)


@settings(max_examples=2000, deadline=None)
@given(start=st.dates(date(2000, 1, 1), date(2090, 12, 31)), n=st.integers(1, 400))
def test_day_periods_property(start: date, n: int) -> None:
    end = Period(n, "days").end(start).astimezone(WARSAW)
    assert end.date() == start + timedelta(days=n + 1)
    assert (end.hour, end.minute) == (0, 0)


@pytest.mark.parametrize("text", ["", "30", "days", "-3 days", "0 days", "3 fortnights", "3.5 m"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        Period.parse(text)


@pytest.mark.parametrize(("text", "period"), [
    ("30 days", Period(30, "days")), ("3 months", Period(3, "months")),
    ("3 miesiące", Period(3, "months")), ("30 dni", Period(30, "days")),
    ("1 month", Period(1, "months")),
])
def test_periods_parse(text: str, period: Period) -> None:
    assert Period.parse(text) == period
