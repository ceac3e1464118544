"""The audit log's record asked once per source and day, not per row (issue 68 item 3).

`disagreements` reads every victim's row into Python and works out its recorded end; for a
whole local day (864 000 rows for 100 cameras) that was half of the day sweep's time. Here the
database gives, per source of the day, the envelope of its rows — first start, last end, and
the latest of each row's start, `retain_from` and the time its storage key names — and the
record is asked once for that latest moment. A recorded end grows with the day it is counted
from (a period runs from a local day), and an approved clock undo only moves ends earlier,
so when the end counted from that latest moment is past, no row of the source disagrees on
its period. A source whose envelope an open hold of the record may touch, whose periods the
record lacks, or whose end is not past is asked row by row as before, as is every row a hold
names by id: the shortcut only ever skips rows that provably agree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source
from kustosz.holds.coverage import ItemFacts, covers
from kustosz.holds.record import (
    VICTIM_FACTS,
    Disagreement,
    RecordVault,
    _open_hold_facts,
    disagreements,
    record_of,
    recorded_end,
)

# The "YYYY/MM/DD/HHMMSS" a storage key names (holds.record._KEY_TIME): sorts as time does.
KEY_STAMP = r"/(\d{4}/\d{2}/\d{2}/\d{6})-[0-9a-f]+"


def key_stamp(key: Any) -> Any:
    """SQL: the stamp ``key`` names, as `key_time` finds it. `key_time` takes the leftmost
    match, so where the 19 characters after the key's first slash are ASCII digits and
    slashes in the stamp's shape and then "-" and a hex digit, the match starts at that slash:
    those characters are read by position (a key the intake makes,
    `source/YYYY/MM/DD/HHMMSS-hex.ext`, always has them). Any other key is read by
    PostgreSQL's regular expression.
    The shape is one `translate` of 19 characters (digits to "0", hex letters to "x"): the
    stamps' `max` over a day of 100 cameras took 2.8–3.4 s of one core with the key split at
    every slash and checked, 1.9–2.4 s so (PostgreSQL's regular expression: 9.5–12 s). A digit
    of another script fails the shape (it is not translated), so the day's `max` compares only
    stamps that sort as time does ("2024/9/01" would sort after "2024/12/31")."""
    after = func.substr(key, func.strpos(key, "/") + 1, 19)
    shape = func.translate(after, "0123456789abcdef", "0000000000xxxxxx")
    fixed = shape.in_(("0000/00/00/000000-0", "0000/00/00/000000-x"))
    return case((fixed, func.left(after, 17)), else_=func.substring(key, KEY_STAMP))


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)


def _stamp(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y/%m/%d/%H%M%S").replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


def day_disagreements(vault: RecordVault, session: Session, in_day: ColumnElement[bool],
                      now: datetime) -> list[Disagreement]:
    """`disagreements` (with the period asked) for the rows ``in_day`` selects (PostgreSQL:
    one day partition), reading rows only of the sources the shortcut cannot clear."""
    record = record_of(vault, session)
    tz = vault.policy.timezone
    sources = {s.id: s for s in session.execute(select(Source)).scalars()}
    holds = _open_hold_facts(record, session)
    by_range = [replace(h, items=frozenset()) for h in holds if h.sources]
    named = sorted({i for h in holds for i in h.items})
    stamp = key_stamp(Recording.storage_key)
    asked: list[int] = []
    for sid, first, last, latest, moved, stamped in session.execute(select(
            Recording.source_id, func.min(Recording.start_at), func.max(Recording.end_at),
            func.max(Recording.start_at), func.max(Recording.retain_from), func.max(stamp))
            .where(in_day).group_by(Recording.source_id)):
        envelope = ItemFacts(0, sid, _utc(first), _utc(last))  # type: ignore[arg-type]
        top = [t for t in (_utc(latest), _utc(moved), _stamp(stamped)) if t is not None]
        end = recorded_end(record, sources[sid], max(top), None, "", tz)
        # A key without a stamp counts from its start (as key_time's None); the latest stamp
        # not a date would hide the ones below it: asked row by row.
        if ((stamped and _stamp(stamped) is None) or end is None or end > now
                or any(covers(h, envelope) for h in by_range)):
            asked.append(sid)
    if not asked and not named:
        return []
    which = or_(Recording.source_id.in_(asked), Recording.id.in_(named))
    rows = session.execute(select(*VICTIM_FACTS).where(in_day, which))
    return disagreements(vault, session, (), now, True, rows=rows)
