"""The call records of a phone source: Master.csv read incrementally into
`phone_cdr_records`, where each waits to be paired with its recording."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, update

from kustosz.db.calls import PhoneCdrRecord, PhoneIntakeState, PhoneProblem
from kustosz.ingest.phone.cdr import CallRecord, CdrError, read_cdr
from kustosz.ingest.phone.settings import PhoneSettings
from kustosz.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CdrRead:
    """What one reading of Master.csv did: records taken, and the bad lines skipped."""
    lines: int = 0
    problems: tuple[str, ...] = ()


def read_new_records(vault: Vault, source_id: int, cfg: PhoneSettings,
                     now: datetime) -> CdrRead:
    """Read Master.csv from where the last pass stopped; bad lines become problems."""
    path = cfg.cdr_path
    if not path.is_file():
        return CdrRead()  # no call yet, or not reachable: recordings wait, then go no_cdr
    with vault.reading() as s:
        state = s.get(PhoneIntakeState, source_id)
        offset, lines = state.cdr_offset, state.cdr_lines
    args: dict[str, Any] = {"tz": vault.policy.timezone, "utc": cfg.cdr_utc}
    try:
        try:
            records, errors, new_offset = read_cdr(path, start_offset=offset, **args)
        except CdrError as exc:
            # Rotated or truncated (logrotate of Master.csv): the new file starts over.
            log.warning("phone source %s: %s; reading it again from the start", source_id, exc)
            offset = lines = 0
            records, errors, new_offset = read_cdr(path, start_offset=0, **args)
        with path.open("rb") as f:
            f.seek(offset)
            consumed = f.read(new_offset - offset).count(b"\n")
    except (OSError, CdrError) as exc:
        log.warning("phone source %s: cannot read %s: %s", source_id, path, exc)
        return CdrRead()
    problems: list[str] = []
    with vault.transaction() as s:
        rows = [_cdr_row(source_id, r, now) for r in records]
        if rows:
            s.execute(insert(PhoneCdrRecord), rows)
        for err in errors:
            # read_cdr counts lines from where it started; people count from the file's top.
            where = f"{path.name} line {lines + (err.lineno or 0)} (byte offset {err.offset})"
            message = f"{where}: {err.problem}"
            log.warning("phone source %s: skipped call record: %s", source_id, message)
            s.add(PhoneProblem(source_id=source_id, at=now, item=path.name, message=message))
            problems.append(message)
        s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == source_id)
                  .values(cdr_offset=new_offset, cdr_lines=lines + consumed,
                          skipped=PhoneIntakeState.skipped + len(errors)))
    return CdrRead(len(records), tuple(problems))


def _cdr_row(source_id: int, r: CallRecord, now: datetime) -> dict[str, Any]:
    # Shallow on purpose: dataclasses.asdict deep-copies every value and was a third of the
    # intake's time; CallRecord's fields are all scalars.
    record = {f.name: (v.isoformat() if isinstance(v := getattr(r, f.name), datetime) else v)
              for f in fields(r)}
    record["caller_number"], record["caller_name"] = r.caller_number, r.caller_name
    return {"source_id": source_id, "uniqueid": r.uniqueid[:64],
            "recordingfile": Path(r.recordingfile).name[:400], "start_at": r.start,
            "read_at": now, "record": record}


CdrRow = tuple[int, str, str, dict[str, Any]]  # id, uniqueid, recordingfile, record


def records_for(vault: Vault, source_id: int, names: list[str],
                uniqueids: list[str]) -> list[CdrRow]:
    """The waiting call records that may belong to a batch of recordings, in one query per
    few hundred files rather than one per file."""
    out: dict[int, CdrRow] = {}
    t = PhoneCdrRecord
    with vault.reading() as s:
        for i in range(0, max(len(names), len(uniqueids)), 400):
            for row in s.execute(select(t.id, t.uniqueid, t.recordingfile, t.record).where(
                    t.source_id == source_id,
                    or_(t.recordingfile.in_(names[i:i + 400]),
                        t.uniqueid.in_(uniqueids[i:i + 400])))):
                out[row[0]] = (row[0], row[1], row[2], row[3])
    return [out[k] for k in sorted(out)]


def pick_record(rows: list[CdrRow], filename: str, uniqueid: str,
                claimed: set[int]) -> tuple[int, dict[str, Any]] | None:
    """The call record of a recording: the line naming this file, else the answered line
    of its uniqueid, else any line of it; never one an earlier file of the batch took."""
    mine = [r for r in rows if r[0] not in claimed and (r[2] == filename or r[1] == uniqueid)]
    if not mine:
        return None
    # Stable sort: among equals the oldest line (lowest id) wins.
    mine.sort(key=lambda r: (r[2] != filename, r[3].get("disposition") != "ANSWERED"))
    return mine[0][0], mine[0][3]
