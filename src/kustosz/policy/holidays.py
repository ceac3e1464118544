"""Polish days free from work, and the end of a period for performing an act (art. 115 k.c.).

Art. 115 k.c.: "Jeżeli koniec terminu do wykonania czynności przypada na dzień uznany ustawowo
za wolny od pracy lub na sobotę, termin upływa następnego dnia, który nie jest dniem wolnym od
pracy ani sobotą." The days free from work are those of the ustawa z dnia 18 stycznia 1951 r.
o dniach wolnych od pracy (art. 1): every Sunday and the holidays listed there — 1 January,
6 January (from 2011), Easter Sunday and Monday, 1 May, 3 May, Pentecost Sunday, Corpus
Christi, 15 August, 1 November, 11 November, 24 December (from 2025: ustawa z dnia 6 grudnia
2024 r.), 25 and 26 December. Easter follows the Gregorian computus; Pentecost is 49 days
and Corpus Christi 60 days after it.

This module lives in `policy/` beside `periods.py` (art. 111/112 k.c.): it is calendar
arithmetic the office's rules are counted with, and `custody/` already depends on `policy/`,
never the other way round. It is the one place that knows the holidays.

Which period follows which rule (docs/design.md, "Periods and the calendar"):
* a period for a person's act — an interested person's 14 days to ask to secure material
  [002 zał.5 §6.4, 004 §7.4] — ends under art. 111 k.c. and is moved by art. 115 k.c.
  (`act_last_day`);
* the periods that bound storage — a source's retention, a copy's lifetime [002 zał.5 §7.4,
  003 §5.7, 004 §7.9] — are maxima ("nie dłuższy niż"), no act's deadline: art. 111/112 only,
  never moved (moving them would keep personal data longer than allowed, art. 5 ust. 1 lit. e
  RODO);
* the data subject's month (art. 12 ust. 3 RODO) is counted by Regulation (EEC, Euratom)
  No 1182/71 (custody/answer_due.py);
* the office's own reminders (a decision, a copy waiting) are the product's, not law: plain
  days (policy.model.CustodyRules).

Years before 1990 are counted with the list as it stood in 1990 (3 May and 11 November were
restored in 1990 and 1989); no period the office counts reaches back that far.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

from kustosz.policy.periods import Period

SATURDAY, SUNDAY = 5, 6
# The amendments of the ustawa o dniach wolnych od pracy: of 24 September 2010 (6 January) and
# of 6 December 2024 (24 December).
EPIPHANY_FROM = 2011
CHRISTMAS_EVE_FROM = 2025
# Art. 115 never moves an end by more than this: the longest run of days that are not working
# days is 24-28 December when the 24th is a Wednesday (three holidays and a weekend).
MAX_SHIFT_DAYS = 5

NAMES_PL = {
    "new_year": "Nowy Rok",
    "epiphany": "Święto Trzech Króli",
    "easter": "pierwszy dzień Wielkiej Nocy",
    "easter_monday": "drugi dzień Wielkiej Nocy",
    "labour_day": "Święto Państwowe (1 maja)",
    "constitution_day": "Święto Narodowe Trzeciego Maja",
    "pentecost": "pierwszy dzień Zielonych Świątek",
    "corpus_christi": "dzień Bożego Ciała",
    "assumption": "Wniebowzięcie Najświętszej Marii Panny",
    "all_saints": "Wszystkich Świętych",
    "independence_day": "Narodowe Święto Niepodległości",
    "christmas_eve": "Wigilia Bożego Narodzenia",
    "christmas": "pierwszy dzień Bożego Narodzenia",
    "christmas_2": "drugi dzień Bożego Narodzenia",
}


def _year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"a year must be an int, not {type(year).__name__}")
    # the Gregorian computus; 9998 so that the next working day stays within date's range
    if not 1583 <= year <= 9998:
        raise ValueError(f"year {year} is outside the Gregorian calendar this module counts "
                         "(1583-9998)")
    return year


def easter(year: int) -> date:
    """Easter Sunday of ``year`` (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher)."""
    y = _year(year)
    a, b, c = y % 19, y // 100, y % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(y, month, day + 1)


def holidays(year: int) -> dict[date, str]:
    """The holidays of ``year`` (ustawa o dniach wolnych od pracy, art. 1 pkt 1), by date, with
    their keys in NAMES_PL. Sundays are days free from work too, but not listed here."""
    return dict(_holidays(_year(year)))


@cache
def _holidays(y: int) -> dict[date, str]:
    e = easter(y)
    days = {date(y, 1, 1): "new_year", e: "easter", e + timedelta(days=1): "easter_monday",
            date(y, 5, 1): "labour_day", date(y, 5, 3): "constitution_day",
            e + timedelta(days=49): "pentecost", e + timedelta(days=60): "corpus_christi",
            date(y, 8, 15): "assumption", date(y, 11, 1): "all_saints",
            date(y, 11, 11): "independence_day", date(y, 12, 25): "christmas",
            date(y, 12, 26): "christmas_2"}
    if y >= EPIPHANY_FROM:
        days[date(y, 1, 6)] = "epiphany"
    if y >= CHRISTMAS_EVE_FROM:
        days[date(y, 12, 24)] = "christmas_eve"
    return dict(sorted(days.items()))


def _day(day: date) -> date:
    # A datetime is a date too; a moment has no calendar day until its time zone says which.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a calendar day (date), not {type(day).__name__}")
    return day


def is_day_off(day: date) -> bool:
    """A day free from work by statute (a Sunday or a holiday)."""
    day = _day(day)
    return day.weekday() == SUNDAY or day in _holidays(_year(day.year))


def is_working_day(day: date) -> bool:
    """Neither a day free from work nor a Saturday: the day art. 115 k.c. moves an end to."""
    day = _day(day)
    return day.weekday() != SATURDAY and not is_day_off(day)


def working_day_from(day: date) -> date:
    """``day`` itself when it is a working day, else the next one (art. 115 k.c.)."""
    day = _day(day)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def act_last_day(period: Period, start: date) -> date:
    """The last day of a period for performing an act that runs from the day ``start`` (the
    day of the event, not counted: art. 111 §2 k.c.; months by art. 112 k.c.), moved off a
    Saturday or a day free from work to the next working day (art. 115 k.c.)."""
    return working_day_from(period.last_day(_day(start)))


def why_moved_pl(plain: date) -> str | None:
    """Why art. 115 k.c. moved an end that fell on ``plain``, in the words a person reads:
    "21.11.2026 to sobota" — None when ``plain`` is a working day."""
    plain = _day(plain)
    if is_working_day(plain):
        return None
    name = _holidays(_year(plain.year)).get(plain)
    what = (f"dzień ustawowo wolny od pracy ({NAMES_PL[name]})" if name
            else "sobota" if plain.weekday() == SATURDAY else "niedziela")
    return f"{plain.strftime('%d.%m.%Y')} to {what}"
