"""The period a report covers: a month, a quarter or a year of the office's calendar
(its zone, Europe/Warsaw), as local days and as the UTC instants [lo, hi) its rows are read by."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from kustosz.errors import InputError
from kustosz.report.months import day_pl, month_en, month_gen, month_pl

_MONTH = re.compile(r"\A(\d{4})-(\d{2})\Z")
_QUARTER = re.compile(r"\A(\d{4})-[Qq]([1-4])\Z")
_YEAR = re.compile(r"\A(\d{4})\Z")


@dataclass(frozen=True)
class ReportPeriod:
    kind: str  # month | quarter | year
    label: str  # "2026-11", "2026-Q4", "2026"
    first: date  # the first local day
    after: date  # the day after the last
    lo: datetime  # UTC instants: rows with lo <= at < hi belong to the period
    hi: datetime

    @property
    def last(self) -> date:
        return date.fromordinal(self.after.toordinal() - 1)

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "first_day": self.first.isoformat(),
                "last_day": self.last.isoformat(), "from_utc": self.lo.isoformat(),
                "to_utc": self.hi.isoformat()}


def _next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def parse(month: str | None, quarter: str | None, year: str | None,
          tz: ZoneInfo) -> ReportPeriod:
    """Exactly one of --month YYYY-MM, --quarter YYYY-QN, --year YYYY."""
    given = [(k, v) for k, v in (("month", month), ("quarter", quarter), ("year", year)) if v]
    if len(given) != 1:
        raise InputError("give exactly one of --month YYYY-MM, --quarter YYYY-QN, --year YYYY",
                         pl="Podaj dokładnie jedno z: --month RRRR-MM, --quarter RRRR-QN, "
                            "--year RRRR.")
    kind, text = given[0][0], given[0][1].strip()
    m = (_MONTH if kind == "month" else _QUARTER if kind == "quarter" else _YEAR).match(text)
    if m is None or not 1 <= int(m.group(1)) - 1999 <= 1000 or (
            kind == "month" and not 1 <= int(m.group(2)) <= 12):
        shapes = {"month": ("YYYY-MM, e.g. 2026-11", "RRRR-MM, np. 2026-11"),
                  "quarter": ("YYYY-QN, e.g. 2026-Q4", "RRRR-QN, np. 2026-Q4"),
                  "year": ("YYYY, e.g. 2026", "RRRR, np. 2026")}[kind]
        raise InputError(f"--{kind} {text!r} is not {shapes[0]}",
                         pl=f"--{kind}: „{text}” nie ma postaci {shapes[1]}.")
    y = int(m.group(1))
    if kind == "month":
        first, after, label = date(y, int(m.group(2)), 1), _next_month(y, int(m.group(2))), \
            f"{y}-{int(m.group(2)):02d}"
    elif kind == "quarter":
        q = int(m.group(2))
        first, after, label = date(y, 3 * q - 2, 1), _next_month(y, 3 * q), f"{y}-Q{q}"
    else:
        first, after, label = date(y, 1, 1), date(y + 1, 1, 1), str(y)
    return ReportPeriod(kind, label, first, after,
                        datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
                        datetime.combine(after, time(0), tzinfo=tz).astimezone(UTC))


def _since(began: datetime, tz: ZoneInfo, now: datetime) -> tuple[str, str]:
    """From when reports exist (English, Polish): the vault's first month, and when its
    report comes or came (serve makes it on the 1st after: report.monthly)."""
    first_day = began.astimezone(tz).date()
    first = f"{first_day:%Y-%m}"
    due = _next_month(first_day.year, first_day.month)
    made_from = datetime.combine(due, time(0), tzinfo=tz).astimezone(UTC)
    if made_from > now:
        return (f"reports cover {month_en(first)} on: the first, for {month_en(first)}, will "
                f"be made on {day_pl(due)}",
                f"Sprawozdania obejmują okresy od {month_gen(first)}: pierwsze, za "
                f"{month_pl(first)}, powstanie {day_pl(due)}.")
    return (f"reports cover {month_en(first)} on (the first is for {month_en(first)})",
            f"Sprawozdania obejmują okresy od {month_gen(first)} (pierwsze jest za "
            f"{month_pl(first)}).")


def _before_vault(period: ReportPeriod, began: datetime | None, tz: ZoneInfo,
                  now: datetime) -> InputError:
    if began is None:
        return InputError(f"the period {period.label} ended before this vault existed; there "
                          "is nothing to report",
                          pl=f"Okres {period.label} skończył się, zanim powstał ten skarbiec; "
                             "nie ma o czym sprawozdawać.")
    en, pl = _since(began, tz, now)
    day = day_pl(began.astimezone(tz).date())
    return InputError(f"the period {period.label} ended before this vault existed (it began on "
                      f"{day}); {en}",
                      pl=f"Okres {period.label} skończył się, zanim powstał ten skarbiec "
                         f"(działa od {day}). {pl}")


def running(period: ReportPeriod, now: datetime) -> bool:
    return period.lo <= now < period.hi


def check_within(period: ReportPeriod, began: datetime | None, now: datetime,
                 tz: ZoneInfo) -> None:
    """Refuse a period not over yet (its facts would still change, and a report regenerated
    later would differ: the part gone by is a draft, so_far) and one that ended before the
    vault existed, saying from when reports exist."""
    if period.hi > now:
        raise InputError(f"the period {period.label} has not ended yet (it ends "
                         f"{period.last.isoformat()}); a final report covers only a past "
                         "period",
                         pl=f"Okres {period.label} jeszcze się nie skończył (trwa do "
                            f"{day_pl(period.last)}); sprawozdanie końcowe obejmuje "
                            "tylko okres miniony.")
    if began is None or period.hi <= began:
        raise _before_vault(period, began, tz, now)


def so_far(period: ReportPeriod, began: datetime | None, now: datetime,
           tz: ZoneInfo) -> ReportPeriod:
    """The part of a running period gone by at ``now``: what a draft covers. Its rows are
    read up to ``now`` (hi) and its days end today (last), so nothing is judged late before
    its day has come; the label stays the period's."""
    if now >= period.hi:
        raise InputError(f"the period {period.label} is over: make its final report, not a "
                         "draft",
                         pl=f"Okres {period.label} już się skończył: sporządź sprawozdanie "
                            "końcowe zamiast wstępnego.")
    if now < period.lo:
        raise InputError(f"the period {period.label} has not begun yet",
                         pl=f"Okres {period.label} jeszcze się nie zaczął.")
    if began is None or began > now:
        raise _before_vault(period, began, tz, now)
    today = now.astimezone(tz).date()
    return replace(period, after=date.fromordinal(today.toordinal() + 1), hi=now)
