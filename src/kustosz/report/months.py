"""The report's calendar in words: a month as a Polish reader says it after "za" (the
accusative, which for the months is the nominative: "za listopad 2026 r.") and after "od"
(the genitive: "od listopada 2026 r."), in English, and a day as the office writes it
(1.12.2026). The one place these names are spelled (the PDF, the page and the CLI use them)."""

from __future__ import annotations

from datetime import date

MONTHS = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień",
          "wrzesień", "październik", "listopad", "grudzień")
MONTHS_GEN = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
              "września", "października", "listopada", "grudnia")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


def _year_month(label: str) -> tuple[str, int]:
    y, m = label.split("-")
    return y, int(m)


def month_pl(label: str) -> str:
    """"2026-11" after "za": "listopad 2026 r."."""
    y, m = _year_month(label)
    return f"{MONTHS[m - 1]} {y} r."


def month_gen(label: str) -> str:
    """"2026-11" after "od": "listopada 2026 r."."""
    y, m = _year_month(label)
    return f"{MONTHS_GEN[m - 1]} {y} r."


def month_en(label: str) -> str:
    y, m = _year_month(label)
    return f"{MONTHS_EN[m - 1]} {y}"


def month_in(label: str, lang: str) -> str:
    """The month for a page's sentence in ``lang``: "listopad 2026" (after "za"; without
    "r.", so a sentence may end with it), "November 2026"."""
    if lang == "en":
        return month_en(label)
    y, m = _year_month(label)
    return f"{MONTHS[m - 1]} {y}"


def day_pl(day: date) -> str:
    """1.12.2026: the day without a leading zero, the month with one, as an office dates."""
    return f"{day.day}.{day.month:02d}.{day.year}"
