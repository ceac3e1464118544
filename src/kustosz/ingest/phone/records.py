"""The call records of a phone source: Master.csv read incrementally into
`phone_cdr_records`, where each waits to be paired with its recording."""

from __future__ import annotations

import logging
import marshal
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, select, update

from kustosz import side_process
from kustosz.db.bulk import insert_many
from kustosz.db.calls import PhoneCdrRecord, PhoneIntakeState, PhoneProblem
from kustosz.db.tables import table_of
from kustosz.ingest.phone.cdr import CdrError, read_cdr
from kustosz.ingest.phone.cdr_rows import cdr_row, row_of
from kustosz.ingest.phone.filenames import PLAIN_TYPE, RecordingName
from kustosz.phones.settings import PhoneSettings
from kustosz.vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CdrRead:
    """What one reading of Master.csv found: records, and the bad lines skipped. Nothing of
    it is written yet: `keep_records` writes it at the pass's end (see `read_new_records`)."""
    lines: int = 0
    problems: tuple[str, ...] = ()
    refused: tuple[tuple[int, str], ...] = ()  # (line of the file, what is wrong with it)
    rows: tuple[dict[str, Any], ...] = ()  # phone_cdr_records rows of the records read
    offset: int = 0  # where the last kept reading had stopped
    new_offset: int = 0  # where this one stopped
    cdr_lines: int = 0  # lines of the file up to new_offset


def read_new_records(vault: Vault, source_id: int, cfg: PhoneSettings,
                     now: datetime) -> CdrRead:
    """Read Master.csv from where the last kept reading stopped; bad lines become problems.

    Nothing is written here: the pass pairs its files with these records in memory, and
    `keep_records` writes what no stored file took, the bad lines and the new offset in one
    transaction when the pass ends. A record paired at once is never written, read back and
    deleted (two thirds of a tiny-file intake's rows, bench/README.md). A pass killed before
    its end leaves the offset where it was: the next reads the same lines again, and the
    records of the files stored meanwhile wait unpaired until `cdr_keep_h` drops them."""
    path = cfg.cdr_path
    if not path.is_file():
        return CdrRead()  # no call yet, or not reachable: recordings wait, then go no_cdr
    with vault.reading() as s:
        state = s.get_one(PhoneIntakeState, source_id)  # made with the source's first pass
        kept, lines = state.cdr_offset, state.cdr_lines
    offset = kept
    read = partial(_read_rows, path, tz=vault.policy.timezone, utc=cfg.cdr_utc,
                   source_id=source_id, now=now)
    try:
        try:
            rows, errors, new_offset = read(offset)
        except CdrError as exc:
            # Rotated or truncated (logrotate of Master.csv): the new file starts over.
            log.warning("phone source %s: %s; reading it again from the start", source_id, exc)
            offset = lines = 0
            rows, errors, new_offset = read(0)
        consumed = _lines_in(path, offset, new_offset)
    except (OSError, CdrError) as exc:
        log.warning("phone source %s: cannot read %s: %s", source_id, path, exc)
        return CdrRead()
    problems: list[str] = []
    refused: list[tuple[int, str]] = []
    for err in errors:
        # read_cdr counts lines from where it started; people count from the file's top.
        where = f"{path.name} line {lines + (err.lineno or 0)} (byte offset {err.offset})"
        problems.append(f"{where}: {err.problem}")
        refused.append((lines + (err.lineno or 0), err.problem))
    return CdrRead(len(rows), tuple(problems), tuple(refused), tuple(rows), kept, new_offset,
                   lines + consumed)


def start_reader(vault: Vault, source_id: int, cfg: PhoneSettings) -> None:
    """The side process that reads half a long new stretch of Master.csv started now, at the
    pass's start, if this pass will have one: its interpreter's start (~0.3 s) is then over
    by the time the pass reads the file, after its looks at the spool."""
    try:
        size = cfg.cdr_path.stat().st_size
    except OSError:
        return
    if size < SPLIT_BYTES:
        return
    with vault.reading() as s:
        offset = s.get_one(PhoneIntakeState, source_id).cdr_offset
    if size - offset >= SPLIT_BYTES:
        try:
            side_process.start("phone-cdr")
        except OSError as exc:  # the reading finds it missing and reads the file itself
            log.warning("the call records' process could not start: %s", exc)


# A new stretch of Master.csv this long is read in two halves at once, the later one in the
# side process ("phone-cdr", cdr_rows.py): ~4 000 calls, a tenth of a second of one core.
# Below it the side process's start and the rows' way back would cost more than they save.
SPLIT_BYTES = 1 << 20
# How long the side process's half may take beyond the time the thread's half took (which it
# should about equal) before the thread reads it itself: a stopped helper costs a pass this
# much, never the pass.
SIDE_SLACK_S = 10.0


def _read_rows(path: Path, offset: int, *, tz: ZoneInfo, utc: bool, source_id: int,
               now: datetime) -> tuple[list[dict[str, Any]], list[CdrError], int]:
    """The complete lines of ``path`` from ``offset`` on, as rows, the bad lines' errors
    (line numbers counted from ``offset``) and where the reading stopped: a long stretch
    read in two halves at once (`SPLIT_BYTES`), the same rows and errors as in one."""
    middle = _middle(path, offset)
    later: Future[Any] | None = None
    if middle is not None:
        try:
            later = side_process.submit("phone-cdr", str(path), tz.key, utc, middle)
        except (OSError, side_process.SideGone) as exc:
            log.warning("the call records' process could not start (%s); %s is read here",
                        exc, path.name)
    began = time.monotonic()
    records, errors, end = read_cdr(path, tz=tz, utc=utc, start_offset=offset,
                                    end_offset=middle if later is not None else None)
    rows = [cdr_row(source_id, r, now) for r in records]
    if later is None:
        return rows, errors, end
    if end == middle:  # else the file shrank under the reading: the side's half is not it
        try:
            values, more_errors, end = later.result(
                timeout=time.monotonic() - began + SIDE_SLACK_S)
        except TimeoutError:
            side_process.end("phone-cdr")  # stuck: the next pass starts a new one
            log.warning("the call records' process did not read %s in time; read here",
                        path.name)
        except (RuntimeError, side_process.SideGone) as exc:
            log.warning("the call records' process did not read %s (%s); read here",
                        path.name, exc)
        else:
            before = _lines_in(path, offset, middle)
            rows.extend(row_of(source_id, v, now) for v in marshal.loads(values))
            return rows, errors + [
                CdrError(e.problem, lineno=None if e.lineno is None else e.lineno + before,
                         offset=e.offset, source=e.source, pl=e.problem_pl)
                for e in more_errors], end
    records, more_errors, end = read_cdr(path, tz=tz, utc=utc, start_offset=offset)
    return [cdr_row(source_id, r, now) for r in records], more_errors, end


def _middle(path: Path, offset: int) -> int | None:
    """The start of the line at the middle of the new stretch, if it is long enough to be
    read in halves."""
    size = path.stat().st_size
    if size - offset < SPLIT_BYTES:
        return None
    with path.open("rb") as f:
        f.seek(offset + (size - offset) // 2)
        f.readline()
        middle = f.tell()
    return middle if middle < size else None


def _lines_in(path: Path, start: int, end: int) -> int:
    with path.open("rb") as f:
        f.seek(start)
        return f.read(end - start).count(b"\n")


def keep_records(vault: Vault, source_id: int, read: CdrRead, unpaired: list[dict[str, Any]],
                 cdr_name: str, now: datetime) -> bool:
    """The end of a pass: the records of ``read`` that no file took (``unpaired``) wait in
    `phone_cdr_records`, the bad lines become problems, and the offset moves on — together,
    and only if no other pass moved the offset since this one read it (then that pass kept
    the same lines, and this one's would be twice there). Whether it wrote them."""
    if read.new_offset == read.offset and not read.rows and not read.problems:
        return False
    with vault.transaction() as s:
        moved = cast("CursorResult[Any]", s.execute(
            update(PhoneIntakeState)
            .where(PhoneIntakeState.source_id == source_id,
                   PhoneIntakeState.cdr_offset == read.offset)
            .values(cdr_offset=read.new_offset, cdr_lines=read.cdr_lines,
                    skipped=PhoneIntakeState.skipped + len(read.problems))))
        if not moved.rowcount:
            return False
        # Core, multi-row: the ORM's bulk path costs more per row than the insert itself.
        insert_many(s, table_of(PhoneCdrRecord), unpaired)
        for message in read.problems:
            log.warning("phone source %s: skipped call record: %s", source_id, message)
            s.add(PhoneProblem(source_id=source_id, at=now, item=cdr_name, message=message))
    return True


CdrRow = tuple[int, str, str, dict[str, Any]]  # id, uniqueid, recordingfile, record


def pick_record(rows: list[CdrRow], filename: str, uniqueid: str, claimed: set[int],
                name: RecordingName | None = None) -> tuple[int, dict[str, Any]] | None:
    """The call record of a recording: the line naming this file, else the answered line
    of its uniqueid, else any line of it; never one an earlier file of the batch took.
    Asterisk's default Master.csv has no uniqueid: then the line whose call was up when the
    recording started and whose numbers are the name's (`_fits`), the latest such."""
    mine = [r for r in rows if r[0] not in claimed
            and (r[2] == filename or (uniqueid and r[1] == uniqueid))]
    if not mine and name is not None:
        timed = [(at, r) for r in rows if r[0] not in claimed and not r[1]
                 and (at := _fits(r[3], name)) is not None]
        if timed:
            latest = max(at for at, _ in timed)
            mine = [r for at, r in timed if at == latest]
    if not mine:
        return None
    # Stable sort: among equals the oldest line (lowest id) wins.
    mine.sort(key=lambda r: (r[2] != filename, r[3].get("disposition") != "ANSWERED"))
    return mine[0][0], mine[0][3]


# How far the seconds of a name and of a call record may disagree: both are cut to the second,
# and MixMonitor starts a moment after the channel.
SLACK = timedelta(seconds=2)
# How long before its recording a call may have started (ringing, a queue) and still be
# looked for by time.
RING_MAX = timedelta(minutes=30)


def _fits(record: dict[str, Any], name: RecordingName) -> datetime | None:
    """The call's start if the recording ``name`` fits it: started while the call was up,
    and, if the name gives numbers, one of them is one of the record's (not all: an incoming
    call's dst is the DID on one exchange, the extension or "s" on another); None otherwise."""
    try:
        start = datetime.fromisoformat(record["start"])
        end = (datetime.fromisoformat(record["end"]) if record.get("end")
               else start + timedelta(seconds=int(record.get("duration") or 0)))
    except (KeyError, TypeError, ValueError):
        return None
    if not start - SLACK <= name.started <= end + SLACK:
        return None
    if name.type == PLAIN_TYPE and name.started > start + SLACK:
        # A name that is only a uniqueid starts at the channel's creation, which is the
        # call's start too: "up at the time" alone would take any concurrent call.
        return None
    numbers = {_digits(record.get(k) or "") for k in ("src", "dst", "caller_number")} - {""}
    parties = {_digits(party) for party in (name.dest, name.src)} - {""}
    return start if not parties or parties & numbers else None


def _digits(number: str) -> str:
    """A number as both sides may write it: its digits, without Poland's country code
    (the offices' exchanges) or a trunk 0, so "+48 600…", "0048600…" and "600…" compare."""
    digits = "".join(c for c in number if c.isdigit()).lstrip("0")
    return digits.removeprefix("48") if len(digits) > 9 else digits


def _age(rid: int) -> tuple[bool, int]:
    """Oldest first: the waiting records by id, then those read this pass in file order."""
    return (rid < 0, abs(rid))


@dataclass
class CdrIndex:
    """The waiting call records of one source, indexed by the file they name and by uniqueid:
    read once per pass (ids and keys only), so pairing a file is two dict look-ups and the
    records themselves are fetched by primary key, once per batch, for the files that have
    one. Records claimed by a file of this pass are not offered again."""

    by_file: dict[str, list[int]] = field(default_factory=dict)
    by_uid: dict[str, list[int]] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    # Records without a uniqueid (Asterisk's default Master.csv), by start: found by time.
    timeless: list[tuple[datetime, int]] = field(default_factory=list)
    # The records this pass read (`read_new_records`), not written: negative ids, in memory.
    new: dict[int, CdrRow] = field(default_factory=dict)
    new_rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)  # of those, the ones a committed file took

    @classmethod
    def load(cls, vault: Vault, source_id: int) -> CdrIndex:
        t = PhoneCdrRecord
        by_file: defaultdict[str, list[int]] = defaultdict(list)
        by_uid: defaultdict[str, list[int]] = defaultdict(list)
        timeless: list[tuple[datetime, int]] = []
        with vault.reading() as s:
            for rid, uid, name, start in s.execute(
                    select(t.id, t.uniqueid, t.recordingfile, t.start_at)
                    .where(t.source_id == source_id).order_by(t.id)):
                if name:
                    by_file[name].append(rid)
                if uid:
                    by_uid[uid].append(rid)
                else:
                    timeless.append((start, rid))
        timeless.sort()
        return cls(dict(by_file), dict(by_uid), timeless=timeless)

    def add_new(self, rows: tuple[dict[str, Any], ...]) -> None:
        """The records just read, offered with the waiting ones (ids -1, -2, ...: after
        them, in the file's order, as their table ids would be)."""
        timeless = False
        for n, row in enumerate(rows, 1):
            rid, uid, name = -n, row["uniqueid"], row["recordingfile"]
            self.new[rid] = (rid, uid, name, row["record"])
            self.new_rows[rid] = row
            if name:
                self.by_file.setdefault(name, []).append(rid)
            if uid:
                self.by_uid.setdefault(uid, []).append(rid)
            else:
                self.timeless.append((row["start_at"], rid))
                timeless = True
        if timeless:
            self.timeless.sort()

    def unpaired(self) -> list[dict[str, Any]]:
        """The rows of the records read this pass that no committed file took."""
        return [row for rid, row in self.new_rows.items() if rid not in self.taken]

    def candidates(self, filename: str, uniqueid: str,
                   started: datetime | None = None) -> list[int]:
        """Ids of the unclaimed records naming ``filename`` or carrying ``uniqueid``, and,
        given the recording's start, those without a uniqueid whose call began up to
        `RING_MAX` before it (`pick_record` decides which fits)."""
        ids = {*self.by_file.get(filename, ()), *self.by_uid.get(uniqueid, ())}
        if started is not None and self.timeless:
            low = bisect_left(self.timeless, (started - RING_MAX, -(1 << 62)))
            high = bisect_right(self.timeless, (started + SLACK, 1 << 62))
            ids.update(rid for _, rid in self.timeless[low:high])
        return sorted(ids - self.claimed, key=_age)

    def rows(self, vault: Vault, ids: list[int]) -> dict[int, CdrRow]:
        """The records ``ids`` (one query per few hundred, by primary key)."""
        out = {i: self.new[i] for i in ids if i < 0}
        ids = [i for i in ids if i > 0]
        t = PhoneCdrRecord
        if not ids:
            return out
        with vault.reading() as s:
            for i in range(0, len(ids), 500):
                for row in s.execute(select(t.id, t.uniqueid, t.recordingfile, t.record)
                                     .where(t.id.in_(ids[i:i + 500]))):
                    out[row[0]] = (row[0], row[1], row[2], row[3])
        return out
