"""Polish words for values printed on documents."""

from __future__ import annotations

from kustosz.policy import Period

_FORMS = {"days": ("dzień", "dni", "dni"), "weeks": ("tydzień", "tygodnie", "tygodni"),
          "months": ("miesiąc", "miesiące", "miesięcy"), "years": ("rok", "lata", "lat")}


def period_pl(period: Period) -> str:
    """'14 dni', '3 miesiące', '5 miesięcy' — Polish plural rules for a period."""
    one, few, many = _FORMS[period.unit]
    n = period.count
    if n == 1:
        word = one
    elif n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        word = few
    else:
        word = many
    return f"{n} {word}"
