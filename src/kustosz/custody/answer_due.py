"""The rule of art. 12 ust. 3 RODO as dates, with nothing else around it (the register and the
request's deadline both read it): one month from receipt, three once extended by a further two.
Months are counted as `kustosz.policy.periods` counts them; the date is not moved off a weekend
or holiday (custody/answer_deadline.py says why)."""

from __future__ import annotations

from datetime import date

from kustosz.policy.periods import Period

MONTH = Period(1, "months")  # art. 12 ust. 3 zd. 1 RODO
EXTENDED = Period(3, "months")  # one month and "a further two months", zd. 2


def due_on(received_on: date, extended_on: date | None) -> date:
    """The last day to answer a data subject's request received on ``received_on``."""
    return (EXTENDED if extended_on else MONTH).last_day(received_on)
