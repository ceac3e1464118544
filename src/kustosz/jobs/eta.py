"""How long a long job still needs, in words a person can trust (issue 29 item 14).

The estimate is the rate so far carried forward: ``elapsed × (1 − done) / done``. It is said
only once it means something (`MIN_DONE` of the work and `MIN_ELAPSED_S` behind it: the first
seconds of a copy or a masking are starting ffmpeg and the detector, not its pace), and never
more precisely than it can be: under a minute, whole minutes up to ten, five minutes up to an
hour, half hours up to three, whole hours beyond. A number the next refresh would contradict
by a minute is noise, not help.

Polish counts go through `kustosz.words.plural`; after "około" the noun is in the
genitive (około minuty, około 2 minut, około 5 godzin, około 1,5 godziny)."""

from __future__ import annotations

import math

from kustosz.words import plural

MIN_DONE = 0.03  # of the work done before any estimate
MIN_ELAPSED_S = 8.0  # seconds of work behind it before any estimate
UNDER_A_MINUTE = 0.0  # `rounded`'s value for "less than a minute"


def remaining_s(done: float, elapsed_s: float) -> float | None:
    """Seconds still needed by a job ``done`` (0..1) after ``elapsed_s`` seconds at its pace
    so far; None while it is too early to say (or the job is done)."""
    if not (math.isfinite(done) and math.isfinite(elapsed_s)):
        return None
    if done < MIN_DONE or done >= 1.0 or elapsed_s < MIN_ELAPSED_S:
        return None
    return elapsed_s * (1.0 - done) / done


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def rounded(seconds: float) -> float:
    """``seconds`` as precisely as an estimate may be said (in seconds; `UNDER_A_MINUTE`
    below one). Never decreases as ``seconds`` grows."""
    minutes = seconds / 60.0
    if minutes < 1.0:
        return UNDER_A_MINUTE
    if minutes < 10.0:
        return 60.0 * _half_up(minutes)  # 1..10 min
    if minutes < 60.0:
        return 60.0 * 5 * _half_up(minutes / 5)  # 10, 15 .. 60 min
    hours = minutes / 60.0
    if hours < 3.0:
        return 3600.0 * _half_up(hours * 2) / 2  # 1, 1.5 .. 3 h
    return 3600.0 * _half_up(hours)


def _decimal_pl(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def words(seconds: float, lang: str = "pl") -> str:
    """The estimate ``seconds`` (`remaining_s`) as a person reads it: "około 5 minut do
    końca" / "about 5 minutes left"."""
    shown = rounded(seconds)
    en = lang == "en"
    if shown == UNDER_A_MINUTE:
        return "less than a minute left" if en else "mniej niż minuta do końca"
    if shown < 3600.0:
        n = int(shown // 60)
        if n == 1:
            return "about a minute left" if en else "około minuty do końca"
        return f"about {n} minutes left" if en else \
            f"około {n} {plural(n, 'minuty', 'minut', 'minut')} do końca"
    hours = shown / 3600.0
    if hours == 1.0:
        return "about an hour left" if en else "około godziny do końca"
    if not hours.is_integer():  # 1,5 godziny, 2,5 godziny: a fraction takes the genitive singular
        return f"about {hours:g} hours left" if en else \
            f"około {_decimal_pl(hours)} godziny do końca"
    n = int(hours)
    return f"about {n} hours left" if en else \
        f"około {n} {plural(n, 'godziny', 'godzin', 'godzin')} do końca"


def estimate(done: float, elapsed_s: float, lang: str = "pl") -> str | None:
    """The words for a job ``done`` after ``elapsed_s``, or None while it is too early."""
    left = remaining_s(done, elapsed_s)
    return None if left is None else words(left, lang)
