"""Polish days free from work and art. 115 k.c. (kustosz.policy.holidays, issue 30 item 5).

Easter is checked against a list published independently of the algorithm (and, for many
years, against python-dateutil's implementation); the holidays against the ustawa o dniach
wolnych od pracy as amended (6 January from 2011, 24 December from 2025); the moved end of a
period by its properties.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from dateutil.easter import EASTER_WESTERN
from dateutil.easter import easter as dateutil_easter
from hypothesis import given
from hypothesis import strategies as st

from kustosz.policy.holidays import (
    MAX_SHIFT_DAYS,
    act_last_day,
    easter,
    holidays,
    is_day_off,
    is_working_day,
    why_moved_pl,
    working_day_from,
)
from kustosz.policy.periods import Period

# Western (Gregorian) Easter Sundays, from published tables (not computed here).
KNOWN_EASTER = {
    1990: date(1990, 4, 15), 1998: date(1998, 4, 12), 2000: date(2000, 4, 23),
    2008: date(2008, 3, 23), 2011: date(2011, 4, 24), 2019: date(2019, 4, 21),
    2022: date(2022, 4, 17), 2024: date(2024, 3, 31), 2025: date(2025, 4, 20),
    2026: date(2026, 4, 5), 2027: date(2027, 3, 28), 2028: date(2028, 4, 16),
    2030: date(2030, 4, 21), 2038: date(2038, 4, 25), 2285: date(2285, 3, 22),
}


@pytest.mark.parametrize(("year", "sunday"), sorted(KNOWN_EASTER.items()))
def test_easter_matches_the_published_dates(year: int, sunday: date) -> None:
    assert easter(year) == sunday
    assert sunday.weekday() == 6


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_agrees_with_dateutil(year: int) -> None:
    assert easter(year) == dateutil_easter(year, EASTER_WESTERN)


def test_the_holidays_of_2026() -> None:
    got = holidays(2026)
    assert sorted(got) == [date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 5),
                           date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 3),
                           date(2026, 5, 24), date(2026, 6, 4), date(2026, 8, 15),
                           date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 24),
                           date(2026, 12, 25), date(2026, 12, 26)]
    assert got[date(2026, 6, 4)] == "corpus_christi"  # Easter + 60 days, a Thursday
    assert got[date(2026, 5, 24)] == "pentecost"  # Easter + 49 days, a Sunday


def test_amendments_take_effect_in_their_years() -> None:
    assert date(2010, 1, 6) not in holidays(2010) and date(2011, 1, 6) in holidays(2011)
    assert date(2024, 12, 24) not in holidays(2024) and date(2025, 12, 24) in holidays(2025)
    assert is_working_day(date(2024, 12, 24))  # a Tuesday, still a working day then
    assert not is_working_day(date(2025, 12, 24))


@given(st.integers(min_value=1990, max_value=2200))
def test_each_year_has_its_holidays(year: int) -> None:
    got = holidays(year)
    e = easter(year)
    assert len(got) == 12 + (year >= 2011) + (year >= 2025)
    assert got[e + timedelta(days=1)] == "easter_monday"
    assert (e + timedelta(days=1)).weekday() == 0
    assert (e + timedelta(days=60)).weekday() == 3 and got[e + timedelta(days=60)] == \
        "corpus_christi"
    assert all(is_day_off(d) for d in got)
    got[date(year, 3, 3)] = "mine"  # the caller's copy: the module's list is not changed
    assert date(year, 3, 3) not in holidays(year)


def test_known_days() -> None:
    assert not is_working_day(date(2026, 11, 21))  # Saturday: not free from work, but moved
    assert not is_day_off(date(2026, 11, 21))
    assert is_day_off(date(2026, 11, 22))  # Sunday
    assert is_day_off(date(2026, 11, 11))
    assert is_working_day(date(2026, 11, 12))
    assert working_day_from(date(2026, 11, 21)) == date(2026, 11, 23)
    assert working_day_from(date(2026, 11, 11)) == date(2026, 11, 12)
    assert working_day_from(date(2026, 11, 16)) == date(2026, 11, 16)
    # Easter: Holy Saturday, Easter Sunday and Monday -> Tuesday
    assert working_day_from(date(2026, 4, 4)) == date(2026, 4, 7)
    # 24 December 2025 (Wednesday) to 28 December: the longest run, to Monday the 29th
    assert working_day_from(date(2025, 12, 24)) == date(2025, 12, 29)
    assert why_moved_pl(date(2026, 11, 21)) == "21.11.2026 to sobota"
    assert why_moved_pl(date(2026, 11, 22)) == "22.11.2026 to niedziela"
    assert why_moved_pl(date(2026, 12, 24)) == ("24.12.2026 to dzień ustawowo wolny od pracy "
                                                "(Wigilia Bożego Narodzenia)")
    assert why_moved_pl(date(2026, 11, 16)) is None


def test_art_115_on_the_issues_dates() -> None:
    days = Period(14, "days")
    assert act_last_day(days, date(2026, 11, 7)) == date(2026, 11, 23)  # day 14: Saturday
    assert act_last_day(days, date(2026, 10, 28)) == date(2026, 11, 12)  # day 14: 11 Nov
    assert act_last_day(days, date(2026, 11, 2)) == date(2026, 11, 16)  # a Monday: unmoved
    # a month (art. 112 k.c.) ending on Corpus Christi 2026 moves to Friday 5 June
    assert act_last_day(Period(1, "months"), date(2026, 5, 4)) == date(2026, 6, 5)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)),
       st.sampled_from([Period(14, "days"), Period(30, "days"), Period(1, "months"),
                        Period(3, "months"), Period(2, "weeks")]))
def test_the_moved_end_is_the_first_working_day_not_before_the_plain_one(
        start: date, period: Period) -> None:
    plain = period.last_day(start)
    last = act_last_day(period, start)
    assert is_working_day(last)
    assert plain <= last <= plain + timedelta(days=MAX_SHIFT_DAYS)
    day = plain
    while day < last:  # every day skipped is a Saturday or a day free from work
        assert not is_working_day(day)
        day += timedelta(days=1)
    assert (last == plain) == (why_moved_pl(plain) is None)


@pytest.mark.parametrize("bad", [datetime(2026, 11, 21, 12, 0), "2026-11-21", 20261121, None])
def test_a_day_must_be_a_date(bad: object) -> None:
    for f in (is_day_off, is_working_day, working_day_from, why_moved_pl):
        with pytest.raises(TypeError, match="calendar day"):
            f(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="calendar day"):
        act_last_day(Period(14, "days"), bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("year", [1582, 0, -5, 9999, True, 2026.0, "2026"])
def test_a_year_outside_the_calendar_is_refused(year: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        easter(year)  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError)):
        holidays(year)  # type: ignore[arg-type]
