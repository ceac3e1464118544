"""When the reports come, as the reports' page says it: serve makes a month's report on the
1st of the next (report.monthly), so the running month's comes on the 1st after it — the
first of all when the running month is the vault's first — and the month before, if the vault
existed in it, is due already. Read from the vault's first moment and the office's calendar;
one rule, so the page's sentences can never contradict each other or the monthly job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def first_of_next(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


@dataclass(frozen=True)
class Outlook:
    began: date  # the vault's first day, office time
    running: str  # the month now running, 2026-11
    due: date  # when the running month's report is made: the 1st after it
    first: bool  # the running month is the vault's first: its report is the first of all
    past: list[str]  # the months over that the vault existed in, the newest first
    since: datetime  # the running month's start (UTC): a draft covers from here to now

    @property
    def last_month(self) -> str | None:
        """The month before, if the vault existed in it (its report is due already)."""
        return self.past[0] if self.past else None


def outlook(began: datetime, now: datetime, tz: ZoneInfo) -> Outlook:
    first_day = began.astimezone(tz).date()
    today = now.astimezone(tz).date()
    month = today.replace(day=1)
    past: list[str] = []
    cursor = (month - timedelta(days=1)).replace(day=1)
    while cursor >= first_day.replace(day=1):
        past.append(f"{cursor:%Y-%m}")
        cursor = (cursor - timedelta(days=1)).replace(day=1)
    return Outlook(first_day, f"{today:%Y-%m}", first_of_next(today),
                   first=first_day.replace(day=1) == month, past=past,
                   since=datetime.combine(month, time(0), tzinfo=tz).astimezone(UTC))
