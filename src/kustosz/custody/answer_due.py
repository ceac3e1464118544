"""The rule of art. 12 ust. 3 RODO as dates, with nothing else around it (the register and the
request's deadline both read it): one month from receipt, three once extended by a further two.
Months are counted as `kustosz.policy.periods` counts them, which for a month is also the rule
of Regulation (EEC, Euratom) No 1182/71 art. 3 ust. 2 lit. c that governs the RODO's periods.
Its art. 3 ust. 4 would move a last day on a Saturday, Sunday or holiday to the next working day
(policy.holidays.working_day_from); the date is deliberately not moved: the office answers by the
earlier date shown, never later than the law allows (custody/answer_deadline.py)."""

from __future__ import annotations

from datetime import date

from kustosz.policy.periods import Period

MONTH = Period(1, "months")  # art. 12 ust. 3 zd. 1 RODO
EXTENDED = Period(3, "months")  # one month and "a further two months", zd. 2


def due_on(received_on: date, extended_on: date | None) -> date:
    """The last day to answer a data subject's request received on ``received_on``."""
    return (EXTENDED if extended_on else MONTH).last_day(received_on)
