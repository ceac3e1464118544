"""Master.csv's records as the rows the intake pairs and keeps (`phone_cdr_records`), and the
later part of a long new stretch of the file read into them in the side process
("phone-cdr", `kustosz.side_process`) while the intake's thread reads the earlier part
(`records.read_new_records`; bench/README.md, calls: a pass of 30 000 calls spent 0.8 s of its
one thread on Master.csv before it could pair its first file).

Only plain data crosses: the path, the zone's name and the offsets in; the rows, each bad
line's error (`CdrError` pickles whole, its Polish text too) and the offset where the reading
stopped back."""

from __future__ import annotations

import marshal
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kustosz.ingest.phone.cdr import CallRecord, CdrError, read_cdr, split_clid

_FIELDS = tuple(f.name for f in fields(CallRecord))
_VALUES = attrgetter(*_FIELDS)  # a record's fields at once, in C
_TIMES = tuple(i for i, f in enumerate(fields(CallRecord)) if "datetime" in str(f.type))
# A record as kept: its fields, the times as ISO text, and the caller ID's two halves.
RECORD_FIELDS = (*_FIELDS, "caller_number", "caller_name")
Values = tuple[str | int | None, ...]  # a record's, in RECORD_FIELDS' order


def record_values(r: CallRecord) -> Values:
    """``r`` as the record kept beside its row: plain values only (they cross from the side
    process by `marshal`: a row's dicts and times by pickle cost the intake's thread as much
    to load as half the reading itself)."""
    values: list[Any] = list(_VALUES(r))
    for i in _TIMES:
        if (at := values[i]) is not None:
            values[i] = at.isoformat()
    # One split of the caller ID, not one per property (each normalises the number).
    name, number = split_clid(r.clid)
    return (*values, number or r.src, name)


def row_of(source_id: int, values: Values, now: datetime) -> dict[str, Any]:
    """The `phone_cdr_records` row of a record's ``values``, read at ``now``."""
    # Shallow on purpose: dataclasses.asdict deep-copies every value and was a third of the
    # intake's time; the values are all scalars.
    record: dict[str, Any] = dict(zip(RECORD_FIELDS, values, strict=True))
    return {"source_id": source_id, "uniqueid": record["uniqueid"][:64],
            "recordingfile": _file_name(record["recordingfile"])[:400],
            "start_at": datetime.fromisoformat(record["start"]), "read_at": now,
            "record": record}


def cdr_row(source_id: int, r: CallRecord, now: datetime) -> dict[str, Any]:
    """The `phone_cdr_records` row of ``r``, read at ``now``."""
    return row_of(source_id, record_values(r), now)


def _file_name(path: str) -> str:
    """``Path(path).name``, without building a Path for the usual plain name."""
    name = path.rpartition("/")[2]
    return name if name not in ("", ".") else Path(path).name


def cdr_span(path: str, tz: str, utc: bool, start: int) -> tuple[bytes, list[CdrError], int]:
    """The complete lines of ``path`` from ``start`` (a line's start) on: their records'
    values (`record_values`, a `marshal`led list), the bad lines' errors (their line numbers
    counted from ``start``), and where the reading stopped."""
    records, errors, end = read_cdr(path, tz=ZoneInfo(tz), utc=utc, start_offset=start)
    return marshal.dumps([record_values(r) for r in records]), errors, end
