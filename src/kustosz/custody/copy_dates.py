"""A copy's dates as people read them: the span of what it holds and the last day it is kept.

One definition for the label, `kustosz copies list`, the web pages and the registers (issue 12
item 6): they used to disagree by a day, and the label named the request's window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kustosz.db.custody import Copy
from kustosz.policy import Policy


def kept_until(expires_at: datetime, policy: Policy) -> str:
    """"Przechowywać do" as a person reads it: the last local day a copy may be kept.

    The stored expiry is the local midnight after that day (Period.end); printed as a date it
    would name the day after. The one place every label, list, page and register takes it
    from.
    """
    return (expires_at.astimezone(policy.timezone) - timedelta(seconds=1)).strftime("%d.%m.%Y")


def held_period(copy: Copy) -> tuple[datetime, datetime]:
    """The span of the material actually in a copy: first recording's start to last
    recording's end (the request's window may be wider)."""
    starts = [datetime.fromisoformat(s["from"]) for s in copy.sources if s.get("from")]
    ends = [datetime.fromisoformat(s["to"]) for s in copy.sources if s.get("to")]
    if not starts or not ends:  # a copy from before the sources carried their span
        return copy.start_at, copy.end_at
    return min(starts), max(ends)
