"""The office's today: the day in Europe/Warsaw, which is the day the product reckons in.

The machine's day and UTC's day are a day behind the office between 23:00 and midnight UTC
(22:00 in summer); a test that mixed them with the product's dates failed for that hour only
(CI failed so twice)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


def office_today() -> date:
    return datetime.now(WARSAW).date()
