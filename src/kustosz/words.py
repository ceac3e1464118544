"""Polish words for counts and values printed on pages and documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, TypeVar

W = TypeVar("W")


class PeriodLike(Protocol):
    """What the words need of a period (kustosz.policy.periods.Period, which sits above them:
    the policy words its own errors with these)."""

    @property
    def count(self) -> int: ...

    @property
    def unit(self) -> str: ...

_FORMS = {"days": ("dzień", "dni", "dni"), "weeks": ("tydzień", "tygodnie", "tygodni"),
          "months": ("miesiąc", "miesiące", "miesięcy"), "years": ("rok", "lata", "lat")}
# The genitive, after "przez okres", "nieprzekraczający", "do": 1 miesiąca, 3 miesięcy.
_GENITIVE = {"days": ("dnia", "dni", "dni"), "weeks": ("tygodnia", "tygodni", "tygodni"),
             "months": ("miesiąca", "miesięcy", "miesięcy"), "years": ("roku", "lat", "lat")}


def plural(n: int, one: W, few: W, many: W) -> W:
    """The form of a Polish word that goes with the number ``n``: 1 segment, 2 segmenty,
    5 segmentów, 12 segmentów, 22 segmenty, 0 segmentów. The only definition of the rule
    (the web templates use it as the ``plural`` filter). The forms may be whole phrases, so
    that a verb agrees too: 1 nagranie czeka, 2 nagrania czekają, 5 nagrań czeka."""
    n = abs(int(n))
    if n == 1:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many


def count_pl(n: int, one: str, few: str, many: str) -> str:
    """'1 plik', '3 pliki', '7 plików': the number with its word."""
    return f"{n} {plural(n, one, few, many)}"


def period_pl(period: PeriodLike) -> str:
    """'14 dni', '3 miesiące', '5 miesięcy' — Polish plural rules for a period."""
    return count_pl(period.count, *_FORMS[period.unit])


def period_gen(period: PeriodLike) -> str:
    """'30 dni', '3 miesięcy', '1 miesiąca' — the period in the genitive ("przez okres …")."""
    return count_pl(period.count, *_GENITIVE[period.unit])


def listing(items: list[str], last: str = "oraz") -> str:
    """'a', 'a oraz b', 'a, b oraz c' — items in one sentence."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def duration_pl(span: timedelta) -> str:
    """"45 s", "1 min 44 s", "12 min", "3 godz. 20 min", "2 dni 4 godz." — abbreviations need
    no plural. Seconds count under 10 minutes; above, minutes are rounded to the nearest (a
    1 min 44 s gap is not "1 min"), hours and days keep the rounded minutes."""
    s = max(0, round(span.total_seconds()))
    if s < 60:
        return f"{s} s"
    if s < 600:
        m, sec = divmod(s, 60)
        return f"{m} min" + (f" {sec} s" if sec else "")
    s = (s + 30) // 60 * 60  # to the nearest minute
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} godz." + (f" {m} min" if m else "")
    d, h = divmod(s // 3600, 24)
    return count_pl(d, "dzień", "dni", "dni") + (f" {h} godz." if h else "")
