"""One line of `kustosz doctor`: its statuses and the result each check gives. Apart from
doctor.py so that the checks kept in their own modules (doctor_accessibility.py) import it
without importing doctor, which imports them."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL, UNKNOWN = "OK", "WARN", "FAIL", "UNKNOWN"


@dataclass(frozen=True)
class Check:
    check: str
    status: str  # OK | WARN | FAIL | UNKNOWN
    detail: str  # what was found and, unless OK, what to do about it (one line)
    pl: str = ""  # the same in Polish, where an office worker must act on it
