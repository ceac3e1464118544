"""Search over the chunks that are still open: what a listener took in this hour (or today)
is found before its chunk closes, and merged with the index in the index's order.

Cost. An open daily chunk of a busy syslog source can hold millions of lines, so it is read
in blocks, never whole; a folder whose time bounds (its window, widened by ``extent.json``,
see `chunks`) cannot meet the query is not opened; when a query names a host, user, text
or address, only lines containing it (in lower case) are parsed; and once enough rows are
known, anything that would sort after them is passed over by its time alone.

A chunk being closed. `close_folder` takes a folder in (the chunk recording with its index
rows in one transaction, meta ``folder`` naming the folder) and only then removes the
folder. A search reads the spool first and the index afterwards, in a session of its own
whose snapshot is newer than that read (the caller's may be older: SQLite keeps one
snapshot per read transaction). Then, for a chunk that closed at time c:
- c before the folder was read: either the folder was already gone (the index query sees
  its rows) or it was still there; then its rows were read as pending, and the check below
  finds its recording and swaps them for the indexed rows;
- c after the folder was read: its rows were read as pending. The check for a recording of
  that folder runs after the main index query; if it sees none, the index query (earlier)
  saw none either, so the pending rows are the only copy; if it sees one, the pending rows
  are dropped and that recording's rows are queried again (the main query may have run
  just before c — PostgreSQL gives each statement its own snapshot).
So each item comes back once, as pending or as indexed, never twice and never not at all.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source
from kustosz.ingest.chunks.spool import CHUNK_FILE, EXTENT_FILE, spool_dir
from kustosz.kinds import kind_of
from kustosz.states import RecordingState

Row = dict[str, Any]
# (time, 0 = stored / 1 = pending, index id, folder, source, line): stored rows sort before
# pending ones of the same time, and pending ones in the order they will be indexed.
Key = tuple[datetime, int, int, str, str, int]
Indexed = Callable[[Session, Sequence[int] | None], list[Row]]
SPAN = timedelta(hours=25)  # the longest window a folder can have (a local day, DST)
BLOCK = 4 << 20
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OpenChunk:
    source: str
    source_id: int
    folder: Path
    low: datetime  # no line's search time lies outside low..high (see `chunks`)
    high: datetime


@dataclass
class OpenQuery:
    """What one search asks of the open chunks of one kind of source."""

    kind: str  # the sources' kind: mailbox | endpoint
    time_field: str  # the result row's field holding its search time
    source: str | None
    start: datetime | None
    end: datetime | None
    needles: list[str]  # values every matching line contains (any letter case)
    # The row of one complete line that passes every filter (time aside), or None.
    match: Callable[[bytes, OpenChunk, int], Row | None]

    @property
    def time_key(self) -> str:
        """The record's field that gives its search time (the registry's, kustosz.kinds)."""
        return kind_of(self.kind).time_keys[0]


def _extent(folder: Path) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(folder.name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return EARLIEST, LATEST  # not named by a listener: read it rather than guess
    low, high = start, start + SPAN
    try:
        wider = json.loads((folder / EXTENT_FILE).read_text())
        low = min(low, datetime.fromisoformat(wider["low"]))
        high = max(high, datetime.fromisoformat(wider["high"]))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        return EARLIEST, LATEST
    return low, high


def open_chunks(session: Session, root: Path, kind: str, source: str | None) -> list[OpenChunk]:
    query = select(Source.id, Source.name).where(Source.kind == kind).order_by(Source.name)
    if source:
        query = query.where(Source.name == source)
    found = []
    for source_id, name in session.execute(query).all():
        try:
            folders = sorted(p for p in spool_dir(root, name).iterdir()
                             if p.is_dir() and not p.name.startswith("."))
        except FileNotFoundError:
            continue
        # A folder read as existing and then taken in before its bounds are read gets the
        # widest bounds: it is read (if still there) and settled by the check for its chunk.
        found += [OpenChunk(name, source_id, f, *_extent(f)) for f in folders]
    return found


def _plain(data: bytes) -> bool:
    # ASCII without \u escapes: bytes.lower() then folds exactly as str.lower() would.
    return data.isascii() and b"\\u" not in data


def lines(path: Path, needles: Sequence[bytes]) -> Iterator[tuple[int, bytes]]:
    """The complete lines of a chunk, numbered as `close_folder` numbers them, that may
    contain every needle (lower case). A last line without its newline is being written
    (or was torn by a crash): it is left out, as closing the chunk cuts a torn one off."""
    base, rest = 0, b""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return  # taken in meanwhile: the index has it
    with f:
        while block := f.read(BLOCK):
            data = rest + block
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
            if not data:
                continue
            if needles and _plain(data):
                yield from _hits(data, base, needles)
            else:
                for i, line in enumerate(data.split(b"\n")[:-1], start=base + 1):
                    if not needles or not _plain(line) or all(n in line.lower()
                                                              for n in needles):
                        yield i, line
            base += data.count(b"\n")


def _hits(data: bytes, base: int, needles: Sequence[bytes]) -> Iterator[tuple[int, bytes]]:
    """Lines of a block containing every needle, found by jumping from one occurrence of the
    longest needle to the next rather than by looking at each line."""
    low = data.lower()
    first = max(needles, key=len)
    counted, number = 0, base
    pos = low.find(first)
    while pos >= 0:
        begin = low.rfind(b"\n", 0, pos) + 1
        end = low.find(b"\n", pos)
        number += low.count(b"\n", counted, begin)
        counted = begin
        if all(n in low[begin:end] for n in needles):
            yield number + 1, data[begin:end]
        pos = low.find(first, end + 1)


def fast_time(line: bytes, key: str) -> datetime | None:
    """A line's search time without parsing it, when that is certain: the first occurrence of
    the top-level key, before any nested object could open, holding a time with a zone."""
    marker = b'"' + key.encode() + b'":"'
    pos = line.find(marker)
    if pos <= 0 or line[pos - 1:pos] not in (b"{", b",") or \
            line.find(b"{", 1, pos) >= 0 or line.find(b"[", 1, pos) >= 0:
        return None
    begin = pos + len(marker)
    try:
        at = datetime.fromisoformat(line[begin:line.index(b'"', begin)].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return at if at.tzinfo is not None else None


def key_of(row: Row, field: str) -> Key:
    if row.get("pending"):
        return (row[field], 1, 0, row["_folder"], row["source"], row["line"])
    return (row[field], 0, row["id"], "", "", 0)


def _scan(chunks: list[OpenChunk], q: OpenQuery, limit: int,
          cutoff: Key | None) -> list[tuple[Key, Row, OpenChunk]]:
    """The best ``limit`` pending rows (by key) that sort before ``cutoff``."""
    best: list[tuple[Key, Row, OpenChunk]] = []
    needles = [json.dumps(n, ensure_ascii=False)[1:-1].lower().encode() for n in q.needles]
    start = q.start or EARLIEST
    for chunk in chunks:
        bound = min(q.end or LATEST, cutoff[0] if cutoff else LATEST,
                    best[-1][0][0] if len(best) >= limit else LATEST)
        if chunk.high < start or chunk.low > bound:
            continue
        for number, line in lines(chunk.folder / CHUNK_FILE, needles):
            at = fast_time(line, q.time_key)
            if at is not None and not start <= at <= bound:
                continue
            row = q.match(line, chunk, number)
            if row is None or not start <= row[q.time_field] <= (q.end or LATEST):
                continue
            row.update(pending=True, _folder=chunk.folder.name)
            key = key_of(row, q.time_field)
            if (cutoff is not None and key >= cutoff) or \
                    (len(best) >= limit and key >= best[-1][0]):
                continue
            bisect.insort(best, (key, row, chunk), key=lambda b: b[0])
            if len(best) >= limit:
                del best[limit:]
                bound = min(bound, best[-1][0][0])
    return best


@contextmanager
def fresh_reading(session: Session) -> Iterator[Session]:
    """A read session of its own, so its snapshot is newer than the spool read before it."""
    bind = session.get_bind()
    fresh = Session(getattr(bind, "engine", bind), info=dict(session.info))
    try:
        fresh.connection(execution_options={"kustosz_read": True})
        yield fresh
    finally:
        fresh.close()


def taken_in(session: Session, chunks: Sequence[OpenChunk]) -> dict[Path, int]:
    """The folders among ``chunks`` whose chunk is stored and indexed by now."""
    if not chunks:
        return {}
    folder = Recording.meta["folder"].as_string()
    by_name = {(c.source_id, c.folder.name): c.folder for c in chunks}
    rows = session.execute(select(Recording.id, Recording.source_id, folder).where(
        Recording.source_id.in_({c.source_id for c in chunks}),
        Recording.state != RecordingState.PENDING, folder.in_({c.folder.name for c in chunks})))
    return {by_name[(sid, name)]: rid for rid, sid, name in rows if (sid, name) in by_name}


def search_with_open(session: Session, q: OpenQuery, limit: int, indexed: Indexed,
                     include_open: bool) -> list[Row]:
    """The first ``limit`` rows of the index and of the open chunks together, by time
    (stored before pending at the same time). ``indexed(session, recording_ids)`` runs the
    index query (only within those chunk recordings when given), ordered and limited."""
    first = indexed(session, None)
    root = session.info.get("data_root")
    if not include_open or root is None or limit <= 0:
        return [dict(r, pending=False) for r in first]
    return _merge(session, Path(root), q, limit, indexed, first, use_cutoff=True)


def _merge(session: Session, root: Path, q: OpenQuery, limit: int, indexed: Indexed,
           first: list[Row], use_cutoff: bool) -> list[Row]:
    # With `limit` indexed rows in hand, nothing pending that sorts after the last can show.
    cutoff = key_of(first[limit - 1], q.time_field) \
        if use_cutoff and len(first) >= limit else None
    chunks = open_chunks(session, root, q.kind, q.source)
    best = _scan(chunks, q, limit, cutoff)
    with fresh_reading(session) as fresh:
        rows = indexed(fresh, None)
        taken = taken_in(fresh, list({c.folder: c for _, _, c in best}.values()))
        if taken:
            best = [b for b in best if b[2].folder not in taken]
            known = {r["id"] for r in rows}
            rows += [r for r in indexed(fresh, sorted(set(taken.values())))
                     if r["id"] not in known]
    stored = sorted(((key_of(r, q.time_field), dict(r, pending=False)) for r in rows),
                    key=lambda kr: kr[0])
    if cutoff is not None and sum(1 for k, _ in stored if k <= cutoff) < limit:
        # Rows the cutoff counted on are gone (the sweep deleted their chunk): once more,
        # without it.
        return _merge(session, root, q, limit, indexed, rows, use_cutoff=False)
    merged = sorted([*stored, *((k, r) for k, r, _ in best)], key=lambda kr: kr[0])[:limit]
    for _, row in merged:
        row.pop("_folder", None)
    return [row for _, row in merged]
