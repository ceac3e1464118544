"""The sweep of whole local days on a partitioned index (PostgreSQL, issue 68 item 3).

docs/design.md, "Retention as partitions": a day partition whose rows have all expired, or all
but `KEEP_SHARE`, is (1) detached in one transaction that first copies back into `recordings`
the rows that must stay (held, not yet expired, kept by the audit log's record), (2) recorded
as one `deletion_days` row per source with the list's digest, (3) its files unlinked, (4)
dropped. `recover_days` finishes a sweep cut between (1) and (4).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from kustosz.audit.deletion_days import record_problem
from kustosz.db.dependents import drop_dependents
from kustosz.db.models import DeletionDay, PartitionSweep, Recording
from kustosz.holds.coverage import any_hold_active, covered_by_active_hold, hold_active
from kustosz.holds.record import Disagreement
from kustosz.holds.record_days import day_disagreements
from kustosz.retention.partitions import (
    DAY_NAME,
    day_bounds,
    detached_name,
    ensure_days,
    existing_days,
    partition_name,
)
from kustosz.states import RecordingState
from kustosz.storage.base import Lockable, Refused, delete_content
from kustosz.vault import Vault

log = logging.getLogger(__name__)
KEEP_SHARE = 0.10  # at most this share of a day kept back (copied out) for the day to go whole
DETACHED, RECORDED, DROPPED = "detached", "recorded", "dropped"
UNLINK_WORKERS = 4  # as the per-item sweep's (retention/sweep.py): unlink(2) frees the GIL


@dataclass
class DaysResult:
    days: list[date] = field(default_factory=list)
    deleted: int = 0
    kept: int = 0
    records: list[tuple[int, date, int, str]] = field(default_factory=list)
    early: list[Disagreement] = field(default_factory=list)  # kept by the store's lock
    ids: list[int] = field(default_factory=list)  # the items deleted, for a report's count


class _KeptBack(Exception):
    """The day's transaction rolled back: more of it stays than a day going whole allows."""


class _Changed(Exception):
    """The day's rows changed between the audit log's record being asked and the lock (a
    late segment indexed into it): the day waits for the next sweep, asked again."""


def _fingerprint(in_day: Any) -> Any:
    """SQL: the day's row count and sum of ids, read before the lock and under it — a row
    indexed or removed in between changes it (ids are never reused), so no row goes
    unasked."""
    return select(func.count(), func.coalesce(func.sum(Recording.id), 0)).where(in_day)


def _stays(now: datetime) -> Any:
    """SQL: a row of the day that must not go now. The holds' joins are asked per row only
    while some hold is active (one look, in the same statement): with none, asking them
    for every row of a day of 100 cameras cost step 1 0.45 s under the index's lock."""
    expired = and_(Recording.state == RecordingState.STORED, Recording.expires_at <= now)
    return or_(~expired, and_(any_hold_active(), covered_by_active_hold()))


def candidates(vault: Vault, now: datetime) -> list[date]:
    """Past days whose partition may go whole: something in it expired, and what stays is
    at most `KEEP_SHARE` of it. A day with nothing expired is passed over by one probe of
    its `(state, expires_at)` index; only a day with expired rows is counted, and its rows
    asked about holds only while some hold is active."""
    tz = vault.policy.timezone
    expired = and_(Recording.state == RecordingState.STORED, Recording.expires_at <= now)
    out = []
    with vault.reading() as s:
        holds = hold_active(s)
        for day in sorted(existing_days(s.connection())):
            lo, hi = (t.replace(tzinfo=UTC) for t in day_bounds(day, tz))
            if hi > now:
                continue
            in_day = and_(Recording.start_at >= lo, Recording.start_at < hi)
            if not s.execute(select(exists().where(in_day, expired))).scalar_one():
                continue
            total, gone = s.execute(select(func.count(), func.count().filter(expired))
                                    .where(in_day)).one()
            held = s.execute(select(func.count()).select_from(Recording).where(
                in_day, expired, covered_by_active_hold())).scalar_one() if holds else 0
            if gone - held and total - gone + held <= KEEP_SHARE * total:
                out.append(day)
    return out


def sweep_days(vault: Vault, sweep_id: int, now: datetime, rules: dict[int, str],
               actor: str) -> DaysResult:
    """Steps 1–4 for every candidate day; ``rules``: each source's rule, by id."""
    result = DaysResult()
    with vault.engine.begin() as conn:
        ensure_days(conn, vault.policy.timezone, now)
    for day in candidates(vault, now):
        try:
            name = _detach(vault, sweep_id, day, now, result)
        except _KeptBack:
            log.warning("day %s: the audit log keeps more than a few of its rows; swept row "
                        "by row", day)
            continue
        except _Changed:
            log.info("day %s: rows came or went while it was asked; swept row by row", day)
            continue
        _finish_day(vault, sweep_id, name, day, rules, result)
        result.days.append(day)
    return result


def _detach(vault: Vault, sweep_id: int, day: date, now: datetime, result: DaysResult) -> str:
    """Step 1: the day out of the index, what must stay copied back, in one transaction."""
    part, gone = partition_name(day), detached_name(sweep_id, day)
    lo, hi = (t.replace(tzinfo=UTC) for t in day_bounds(day, vault.policy.timezone))
    in_day = and_(Recording.start_at >= lo, Recording.start_at < hi)  # one partition read
    with vault.reading() as s:
        # The audit log's record asked before the lock, once per source of the day
        # (holds/record_days.py); the record only grows (a hold it gains is in the database
        # first, which the locked check below sees).
        asked = s.execute(_fingerprint(in_day)).one()
        total = asked[0]
        early = {d.id for d in day_disagreements(vault, s, in_day, now)}
    with vault.transaction() as s:
        # The parent's lock before the holds are read: a hold committed before it is seen,
        # one placed after it waits and finds the day gone.
        s.execute(text("LOCK TABLE recordings IN ACCESS EXCLUSIVE MODE"))
        if s.execute(_fingerprint(in_day)).one() != asked:
            raise _Changed(day)  # a row came or went since the record was asked: unasked
        kept = set(s.execute(select(Recording.id).where(in_day, _stays(now))).scalars())
        if len(kept | early) > KEEP_SHARE * total:
            raise _KeptBack(day)  # the audit log keeps them: row by row (sweep.py tells)
        kept |= early
        s.execute(text(f"ALTER TABLE recordings DETACH PARTITION {part}"))
        s.execute(text(f"ALTER TABLE {part} RENAME TO {gone}"))
        if kept:
            ids = sorted(kept)
            s.execute(text(f"INSERT INTO recordings SELECT * FROM {gone} WHERE id = ANY(:ids)"),
                      {"ids": ids})
            s.execute(text(f"DELETE FROM {gone} WHERE id = ANY(:ids)"), {"ids": ids})
        drop_dependents(s, select(text("id")).select_from(text(gone)))
        s.add(PartitionSweep(sweep_id=sweep_id, name=gone, day=day, state=DETACHED))
    result.kept += len(kept)
    return gone


def _finish_day(vault: Vault, sweep_id: int, name: str, day: date, rules: dict[int, str],
                result: DaysResult) -> None:
    """Steps 2–4 (also recovery's): the record built while the files go, then the drop.
    The detached table keeps every row until the drop, so a crash before the record's commit
    loses nothing: recovery records the day from it (state `detached`) and unlinks again."""

    def record() -> None:
        with vault.transaction() as s:
            row = s.get(PartitionSweep, (sweep_id, name))
            assert row is not None
            if row.state == DETACHED:
                _record(s, sweep_id, name, day, rules)
                row.state = RECORDED

    with ThreadPoolExecutor(1, thread_name_prefix="kustosz-day-record") as pool:
        recorded = pool.submit(record)
        ids, kept = _unlink(vault, name)
        recorded.result()
    if kept:  # the store's lock kept them: back in the index, out of the day's record
        back = sorted(f.id for f, _until in kept)
        with vault.transaction() as s:
            s.execute(text(f"INSERT INTO recordings SELECT * FROM {name} WHERE id = ANY(:ids)"),
                      {"ids": back})
            s.execute(text(f"DELETE FROM {name} WHERE id = ANY(:ids)"), {"ids": back})
            s.execute(delete(DeletionDay).where(DeletionDay.sweep_id == sweep_id,
                                                DeletionDay.day == day))
            _record(s, sweep_id, name, day, rules)
        result.early += [Disagreement(f.id, f.storage_key, None, until) for f, until in kept]
        result.kept += len(kept)
    _drop(vault, sweep_id, name, day, result)
    gone = {f.id for f, _until in kept}
    result.ids += [i for i in ids if i not in gone] if gone else ids
    result.deleted += len(ids) - len(kept)


def _drop(vault: Vault, sweep_id: int, name: str, day: date, result: DaysResult) -> None:
    """Step 4: the detached table dropped and the day marked so, in one transaction."""
    with vault.transaction() as s:
        s.execute(text(f"DROP TABLE IF EXISTS {name}"))
        _dropped(s, sweep_id, name)
        result.records += [(sid, d, n, sha) for sid, d, n, sha in s.execute(
            select(DeletionDay.source_id, DeletionDay.day, DeletionDay.count,
                   DeletionDay.list_sha256)  # not the lists: tens of MB a day
            .where(DeletionDay.sweep_id == sweep_id, DeletionDay.day == day))]


def _dropped(s: Session, sweep_id: int, name: str) -> None:
    row = s.get(PartitionSweep, (sweep_id, name))
    assert row is not None
    row.state = DROPPED


def _plain_keys(vault: Vault, name: str) -> tuple[list[str], list[int]] | None:
    """The detached day's storage keys and ids when each item is removed by its key alone
    (no version, no line break in a key; a store with a lock is never asked): two texts the
    database joins, not a row each (864 000 rows cost the sweep 2.4 s of its 10–19). None:
    the rows are needed."""
    with vault.reading() as s:  # a key with a line break in it (a file's name can) by rows
        by_rows, keys, ids = s.execute(text(
            f"SELECT bool_or(version_id IS NOT NULL OR strpos(storage_key, chr(10)) > 0), "
            f"string_agg(storage_key, chr(10)), string_agg(id::text, ',') FROM {name}")).one()
    if by_rows:
        return None
    if ids is None:  # no row: string_agg gives NULL (an empty key is still a key, refused)
        return [], []
    return keys.split("\n"), list(map(int, ids.split(",")))


def _unlink(vault: Vault, name: str) -> tuple[list[int], list[tuple[Any, datetime]]]:
    """Step 3: the detached day's content removed; returns the ids of the items it held and those
    an object store's lock still keeps (a retain-until ahead: the database says their time
    is up, the store says not), with that date. A legal hold on one is stale: every hold was
    read under the parent's lock at step 1, and a hold placed since cannot reach rows no
    longer indexed."""
    store = vault.deleting_storage()
    # A store with a lock may refuse, and a refusal is answered by its row's lock: by rows.
    plain = None if isinstance(store, Lockable) else _plain_keys(vault, name)
    if plain is not None:
        store.delete_many(plain[0], UNLINK_WORKERS)
        return plain[1], []
    with vault.reading() as s:
        files = list(s.execute(text(f"SELECT id, storage_key, version_id FROM {name}")).all())
    kept: list[tuple[Any, datetime]] = []
    lockable: Any = store  # refusals come from a store with a lock (Lockable) only

    def one(f: Any) -> None:
        try:
            delete_content(store, f.storage_key, f.version_id)
        except Refused:
            lock = lockable.lock_of(f.storage_key, f.version_id)
            if lock.retain_until is not None and lock.retain_until > datetime.now(UTC):
                kept.append((f, lock.retain_until))
            elif lock.legal_hold:
                log.warning("a legal hold no hold stands behind on %s: cleared before its "
                            "deletion", f.storage_key)
                lockable.legal_hold(f.storage_key, False, f.version_id)
                delete_content(store, f.storage_key, f.version_id)
            else:
                raise  # not the lock: the credentials (named in the message)

    with ThreadPoolExecutor(UNLINK_WORKERS, thread_name_prefix="kustosz-unlink") as pool:
        list(pool.map(one, files))
    return [f.id for f in files], kept


def _iso(column: str) -> str:
    """SQL: a UTC timestamp as Python's `isoformat` writes it (db/deleted.py `list_line`).
    The timestamp's own text under DateStyle ISO (`_record` sets it) differs only by the
    space for the "T" and the fraction's trailing zeros trimmed; `to_char` twice took 0.5 s
    more of the server's CPU for a day of 100 cameras (2.5 s against 2.0), beside the unlinks."""
    text_ = f"replace({column}::text, ' ', 'T')"
    return (f"CASE WHEN date_trunc('second', {column}) = {column} THEN {text_} "
            f"ELSE rpad({text_}, 26, '0') END || '+00:00'")


# The day's rows for its list in id order, read by the primary key (ids grow as rows are
# written, so the heap is read nearly in its own order) and aggregated in the order they come:
# no sort at all. `string_agg(… ORDER BY id)` made PostgreSQL 15 (no presorted aggregates)
# read the day through the (source_id, start_at, …) index, heap page after heap page for every
# source, and sort each source again: 4.7–5.4 s of the server's CPU for a day of 100 cameras
# against 2.8–3.0 (bench/README.md, partition_sweep, fourth round). The order a sorted
# subquery gives its aggregate is PostgreSQL's documented practice, not the standard's:
# `tests/test_partition_sweep.py` writes a day whose heap is in reverse id order and
# requires the list in id order. A chunk's line count is parsed from `meta` once a row.
_BY_ID = ("SELECT source_id, id, sha256, size, start_at, end_at, "
          "(meta->>'lines')::bigint AS lines")


def _record(s: Session, sweep_id: int, name: str, day: date, rules: dict[int, str]) -> None:
    """Step 2: one `deletion_days` row per source of the detached day, its list built by the
    database (one `list_line` per row, by id) and only compressed here; recorded at the
    moment it is written, as a per-item sweep's rows are (the report's late deletions)."""
    at = datetime.now(UTC)
    s.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))  # `_iso` reads the text it sets
    # The plan `_BY_ID` needs, pinned: one process (the list runs beside the unlinks on the
    # same cores, and a parallel plan spends more of their CPU to finish sooner), and the
    # sources grouped by hashing, which keeps each source's rows in the order they come (a
    # sort by source, PostgreSQL's other way to group, is not stable).
    s.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    s.execute(text("SET LOCAL enable_sort = off"))
    for r in s.execute(text(
            f"SELECT source_id, count(*) AS n, sum(size) AS size, min(start_at) AS first, "
            f"max(end_at) AS last, sum(lines) AS entries, string_agg(id || ':' || "
            f"coalesce(sha256, '') || ':' || size || ':' || {_iso('start_at')} || ':' || "
            f"{_iso('end_at')} || ':' || coalesce(lines::text, '') || E'\\n', '') "
            f"AS body FROM ({_BY_ID} FROM {name} ORDER BY id) AS day "
            f"GROUP BY source_id")):
        body = r.body.encode()
        s.add(DeletionDay(
            sweep_id=sweep_id, source_id=r.source_id, day=day, count=r.n, size=r.size,
            entries=r.entries, first_start=r.first.replace(tzinfo=UTC),
            last_end=r.last.replace(tzinfo=UTC), rule=rules.get(r.source_id, "retention"),
            deleted_at=at, list_sha256=hashlib.sha256(body).hexdigest(),
            # level 1: the listing is compressed while the unlinks run on the same cores, and
            # level 6 took 2.5× the CPU (2.9 s for a day of 100 cameras) for 7 % less
            listing=gzip.compress(body, 1)))


check_record = record_problem  # the one check, audit verify's (audit/deletion_days.py)


def recover_days(vault: Vault, rules: dict[int, str]) -> int:
    """Finish every day a sweep detached and did not drop (steps 2–4 from where it was)."""
    with vault.reading() as s:
        open_days = list(s.execute(select(PartitionSweep).where(
            PartitionSweep.state != DROPPED)).scalars())
    result = DaysResult()
    for row in open_days:
        log.warning("finishing the deletion of day %s (sweep %d) a crash interrupted",
                    row.day, row.sweep_id)
        _finish_day(vault, row.sweep_id, row.name, row.day, rules, result)
    return result.deleted


__all__ = ["DAY_NAME", "KEEP_SHARE", "DaysResult", "candidates", "check_record",
           "recover_days", "sweep_days"]
