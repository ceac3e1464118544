"""How a clock's jump is said to a person (Polish)."""

from __future__ import annotations

from datetime import datetime

from kustosz.policy.periods import WARSAW
from kustosz.words import count_pl

# Accusative: the span follows "o" ("przeskoczył o 1 godzinę", "o 3 godziny", "o 5 minut").
_UNITS = ((86400, ("dzień", "dni", "dni")), (3600, ("godzinę", "godziny", "godzin")),
          (60, ("minutę", "minuty", "minut")), (1, ("sekundę", "sekundy", "sekund")))


def span_pl(seconds: float) -> str:
    """'40 dni', '1 godzinę i 5 minut', '12 sekund' (accusative, after "o"): the two largest
    units that are not 0."""
    left = round(abs(seconds))
    parts: list[str] = []
    for size, forms in _UNITS:
        n, left = divmod(left, size)
        if n and len(parts) < 2:
            parts.append(count_pl(n, *forms))
        elif parts:
            break  # '1 dzień i 0 godzin 3 minuty' would mislead: two adjacent units only
    return " i ".join(parts) or "mniej niż sekundę"


def when_pl(at: datetime) -> str:
    return f"{at.astimezone(WARSAW):%d.%m.%Y %H:%M:%S}"
