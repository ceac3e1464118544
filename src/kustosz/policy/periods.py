"""Periods counted the way the Polish Civil Code counts them.

Art. 111 k.c.: a period in days ends with the end of its last day, and the day of the event
that starts it is not counted. Art. 112 k.c.: a period in weeks, months or years ends with the
end of the day that corresponds by name or date to the starting day, or with the end of the
last day of the month where there is no such day. Both are applied to the *local* calendar of
the office (Europe/Warsaw), so a period never ends at a UTC midnight by accident. Art. 115 k.c.
(an act's deadline on a Saturday or a day free from work) is in policy/holidays.py, which says
which period follows which rule.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from kustosz.errors import ConfigError

WARSAW = ZoneInfo("Europe/Warsaw")

_UNITS = {
    "d": "days", "day": "days", "days": "days", "dzien": "days", "dni": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks", "tydzien": "weeks", "tygodnie": "weeks",
    "m": "months", "month": "months", "months": "months", "miesiac": "months",
    "miesiace": "months", "miesiecy": "months",
    "y": "years", "year": "years", "years": "years", "rok": "years", "lata": "years",
}
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")


@dataclass(frozen=True, order=True)
class Period:
    count: int
    unit: str  # "days" | "weeks" | "months" | "years"

    @classmethod
    def parse(cls, text: str) -> Period:
        if not isinstance(text, str):
            raise ConfigError(f"a period must be text like '30 days' or '3 months', got {text!r}",
                              pl=f"Okres musi być tekstem, np. „30 days” lub „3 months”, a jest: "
                                 f"„{text}”.")
        folded = text.lower().translate(str.maketrans("ąęńóśłżź", "aenoslzz"))
        m = _PATTERN.match(folded)
        if not m or m.group(2) not in _UNITS:
            raise ConfigError(
                f"cannot read period {text!r}: write a whole number and a unit, "
                "e.g. '30 days' or '3 months'",
                pl=f"Nie można odczytać okresu „{text}”: podaj liczbę całkowitą i jednostkę, "
                   "np. „30 days” lub „3 months”.")
        count = int(m.group(1))
        if count <= 0:
            raise ConfigError(f"period {text!r} must be longer than zero",
                              pl=f"Okres „{text}” musi być dłuższy niż zero.")
        return cls(count, _UNITS[m.group(2)])

    def __str__(self) -> str:
        unit = self.unit if self.count != 1 else self.unit[:-1]
        return f"{self.count} {unit}"

    def last_day(self, start: date) -> date:
        """The last day of the period that starts on the local day ``start``."""
        if self.unit == "days":
            return start + timedelta(days=self.count)
        if self.unit == "weeks":
            return start + timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "years" else 1)
        y, m = divmod(start.month - 1 + months, 12)
        year, month = start.year + y, m + 1
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))

    def end(self, start: date, tz: ZoneInfo = WARSAW) -> datetime:
        """The instant (UTC) at which the period has run out: local midnight after its last day.

        Material kept "not longer than" this period must be gone by this instant. A storage
        period (retention, a copy's lifetime) is such a maximum, not a period for performing an
        act: art. 115 k.c. does not move its end off a weekend or holiday (that would keep data
        longer than allowed). Periods for an act: policy.holidays.act_last_day.
        """
        following = self.last_day(start) + timedelta(days=1)
        return datetime.combine(following, time(0), tzinfo=tz).astimezone(UTC)

    def max_days(self) -> int:
        """The longest the period can run, in days, from any start day (k.c. art. 112: a
        month is as long as the calendar makes it): 3 months are 92 days at most."""
        months = self._months()
        return _month_span(months)[1] if months else self._days()

    def min_days(self) -> int:
        """The shortest the period can run, in days, from any start day: 3 months are 89
        days from 31 January of a common year (they end with 30 April), 1 month is 28 days
        from 31 January of a common year."""
        months = self._months()
        return _month_span(months)[0] if months else self._days()

    def _months(self) -> int:
        return self.count * {"months": 1, "years": 12}.get(self.unit, 0)

    def _days(self) -> int:
        return self.count * (7 if self.unit == "weeks" else 1)


# The Gregorian calendar repeats every 400 years (146 097 days, a whole number of weeks): a
# rule between two periods that holds from every day of one cycle holds from every day.
CYCLE = (2000, 2400)
# Where a witness of an overrun is looked for: from the first day of the year Kustosz's
# rules were written in, so that a message names a date a person can check on a calendar.
WITNESS_FROM = date(2026, 1, 1)


@cache
def _month_span(months: int) -> tuple[int, int]:
    """(shortest, longest) number of days ``months`` calendar months take, over every start
    day. From day d of a month with ms days the end is day min(d, mt) of the month ``months``
    later (mt days): the span is the whole months' days while d <= mt and shrinks by a day for
    each day past mt, so the longest is from the 1st and the shortest from the last day."""
    shortest, longest = 10**9, 0
    for year in range(*CYCLE):
        for month in range(1, 13):
            ms = calendar.monthrange(year, month)[1]
            y, m = divmod(month - 1 + months, 12)
            ty, tm = year + y, m + 1
            mt = calendar.monthrange(ty, tm)[1]
            longest = max(longest, (date(ty, tm, 1) - date(year, month, 1)).days)
            shortest = min(shortest, (date(ty, tm, min(ms, mt)) - date(year, month, ms)).days)
    return shortest, longest


def never_longer(period: Period, cap: Period) -> bool:
    """Whether ``period`` ends no later than ``cap`` from every start day (k.c. art. 111-112):
    "93 days" outlives "3 months" (from 28 November 2026 it ends with 2 March, the months with
    28 February), so do "90 days" (from 31 January 2026: 1 May against 30 April) and
    "13 weeks"; "89 days" never does."""
    pm, cm = period._months(), cap._months()
    if pm and cm:
        return pm <= cm
    if not pm and not cm:
        return period._days() <= cap._days()
    return period.max_days() <= cap.min_days()


def overrun(period: Period, cap: Period, after: date = WITNESS_FROM
            ) -> tuple[date, date, date] | None:
    """The first start day from ``after`` on from which ``period`` ends after ``cap``, with
    both last days: (start, period's last day, cap's last day); None when it never does."""
    if never_longer(period, cap):
        return None
    day = after
    for _ in range(146_097):  # one cycle holds every case of the calendar
        if period.last_day(day) > cap.last_day(day):
            return day, period.last_day(day), cap.last_day(day)
        day += timedelta(days=1)
    raise AssertionError(f"{period} outlives {cap} from no day of a whole cycle")


def chunk_window(at: datetime, granularity: str, tz: ZoneInfo = WARSAW
                 ) -> tuple[datetime, datetime]:
    """The window of the monitoring chunk that holds ``at``: its UTC hour, or its local day
    (the day of recording retention counts from). A listener's spool closes a chunk at the
    window's end (kustosz.ingest.chunks.spool); a copy of the lines waits for it
    (kustosz.custody.copy_material.ready_at)."""
    if granularity == "hour":
        start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    day = at.astimezone(tz).date()
    return (datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC))


def local_day(instant: datetime, tz: ZoneInfo = WARSAW) -> date:
    """The office's calendar day on which an instant falls ("day of recording")."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(tz).date()


def expires_at(recorded_at: datetime, period: Period, tz: ZoneInfo = WARSAW) -> datetime:
    """When material recorded at ``recorded_at`` must be gone, counted from its day."""
    return period.end(local_day(recorded_at, tz), tz)
