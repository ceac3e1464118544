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
        """An upper bound of the period's length in days, for comparisons between periods."""
        per = {"days": 1, "weeks": 7, "months": 31, "years": 366}[self.unit]
        return self.count * per

    def min_days(self) -> int:
        """A lower bound of the period's length in days."""
        per = {"days": 1, "weeks": 7, "months": 28, "years": 365}[self.unit]
        return self.count * per


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
