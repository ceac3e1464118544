"""Finding calls as a written request describes them [004 §7.5; 001 annex 3]: the calling
number, the called number, the exact date and the approximate hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kustosz.db.calls import Call
from kustosz.db.models import Recording, Source
from kustosz.errors import InputError
from kustosz.phone_numbers import (
    WRITTEN_MAX,
    is_unknown,
    looks_like_number,
    search_keys,
    written,
)
from kustosz.states import RecordingState

MAX_RESULTS = 1000


@dataclass(frozen=True)
class CallHit:
    recording_id: int
    source: str
    start_at: datetime
    end_at: datetime
    caller: str
    callee: str
    direction: str
    disposition: str
    no_cdr: bool
    sha256: str | None

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"recording_id": self.recording_id, "source": self.source,
                "start": self.start_at.astimezone(tz).isoformat(),
                "end": self.end_at.astimezone(tz).isoformat(), "caller": self.caller,
                "callee": self.callee, "direction": self.direction,
                "disposition": self.disposition, "no_cdr": self.no_cdr, "sha256": self.sha256}


# How a page names the number a search or a request was given.
NUMBER_PL = {"calling number": "numer dzwoniący", "called number": "numer wybrany",
             "--number": "numer", "--callee": "numer wybrany"}


def canonical(number: str, what: str, *, digits_only: bool = False) -> str:
    """The number a search or a request gives, in the form calls are stored by
    (`phone_numbers.keep`): any writing a source may have used is searchable, a number with
    no canonical form as written and by its digits (issue 64 item 9). ``digits_only``: a
    written request names a telephone number, so it must be written as one (digits and the
    usual separators)."""
    said = NUMBER_PL.get(what, what)
    text = written(number)
    if digits_only and text and not is_unknown(text) and not looks_like_number(text):
        raise InputError(f"{what}: not a phone number: {number!r} (only digits, a leading "
                         "'+', spaces, '-', '.', '/' and brackets are allowed)",
                         pl=f"To nie jest numer telefonu ({said}): {number}.")
    if len(number.strip()) > WRITTEN_MAX:
        raise InputError(f"{what}: not a phone number (longer than {WRITTEN_MAX} characters)",
                         pl=f"To nie jest numer telefonu ({said}): ma ponad {WRITTEN_MAX} "
                            "znaki.")
    if not text or is_unknown(text):
        raise InputError(f"{what}: give a number (an unknown caller cannot be searched for)",
                         pl=f"Podaj numer telefonu ({said}) — nie można szukać rozmów "
                            "nieznanego rozmówcy.")
    return search_keys(text)[0]


def window(day: date, tz: ZoneInfo, hour: int | None = None, around: time | None = None,
           minutes: int = 30) -> tuple[datetime, datetime]:
    """The local period a request means: the whole day; or the given hour widened by
    ``minutes`` each side; or ``around`` ± ``minutes``."""
    if minutes < 0 or minutes > 24 * 60:
        raise InputError("the window must be between 0 and 1440 minutes",
                         pl="Margines musi mieć od 0 do 1440 minut.")
    if hour is not None and around is not None:
        raise InputError("give either the hour or the time around which to look, not both",
                         pl="Podaj godzinę albo przybliżoną porę, nie obie naraz.")
    if hour is not None:
        if not 0 <= hour <= 23:
            raise InputError(f"hour {hour} is not between 0 and 23",
                             pl=f"Godzina {hour} nie mieści się między 0 a 23.")
        begin = datetime.combine(day, time(hour), tzinfo=tz)
        return begin - timedelta(minutes=minutes), begin + timedelta(hours=1, minutes=minutes)
    if around is not None:
        centre = datetime.combine(day, around, tzinfo=tz)
        return centre - timedelta(minutes=minutes), centre + timedelta(minutes=minutes)
    begin = datetime.combine(day, time(0), tzinfo=tz)
    return begin, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def search_query(number: str | None, callee: str | None, begin: datetime | None,
                 end: datetime | None, source_id: int | None = None,
                 limit: int = MAX_RESULTS) -> Select[Any]:
    """``number`` matches either side; with ``callee`` too, ``number`` is the caller. Each
    matches every key its writing may be stored under (`phone_numbers.search_keys`).

    Each branch is a short IN list on a number and a range on start_at, so it stays a range
    scan of ix_calls_caller_start / ix_calls_callee_start however many calls are indexed.
    """
    if number is None and callee is None:
        raise InputError("give --number or --callee",
                         pl="Podaj numer dzwoniącego albo numer wybrany.")

    def on(column: InstrumentedAttribute[str], value: str) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = [column.in_(search_keys(value))]
        if begin is not None:
            parts.append(Call.start_at >= begin)
        if end is not None:
            parts.append(Call.start_at < end)
        return and_(*parts)

    if number is not None and callee is not None:
        where = and_(on(Call.caller, number), Call.callee.in_(search_keys(callee)))
    elif number is not None:
        where = or_(on(Call.caller, number), on(Call.callee, number))
    else:
        where = on(Call.callee, callee)
    if source_id is not None:
        where = and_(where, Call.source_id == source_id)
    return _hits(where, limit)


def _hits(where: ColumnElement[bool], limit: int) -> Select[Any]:
    return (select(Call, Recording.end_at, Recording.sha256, Source.name)
            .join(Recording, Recording.id == Call.recording_id)
            .join(Source, Source.id == Call.source_id)
            .where(where, Recording.state == RecordingState.STORED)
            .order_by(Call.start_at).limit(limit))


def _as_hits(rows: Any) -> list[CallHit]:
    return [CallHit(call.recording_id, name, call.start_at, end_at, call.caller_shown,
                    call.callee_shown, call.direction, call.disposition, call.no_cdr, sha)
            for call, end_at, sha, name in rows]


def search_calls(session: Session, number: str | None = None, callee: str | None = None,
                 begin: datetime | None = None, end: datetime | None = None,
                 source_id: int | None = None, limit: int = MAX_RESULTS) -> list[CallHit]:
    n = canonical(number, "--number") if number else None
    c = canonical(callee, "--callee") if callee else None
    return _as_hits(session.execute(search_query(n, c, begin, end, source_id, limit)).all())


def calls_of_line(session: Session, source_id: int, begin: datetime, end: datetime,
                  limit: int = MAX_RESULTS) -> list[CallHit]:
    """Every stored call of one line that started inside [begin, end)."""
    # The recordings' (source_id, start_at) index bounds the scan; a call's recording starts
    # with the call, the day's slack only guards clocks that disagree.
    slack = timedelta(days=1)
    where = and_(Call.source_id == source_id, Call.start_at >= begin, Call.start_at < end,
                 Recording.source_id == source_id, Recording.start_at >= begin - slack,
                 Recording.start_at < end + slack)
    return _as_hits(session.execute(_hits(where, limit)).all())
