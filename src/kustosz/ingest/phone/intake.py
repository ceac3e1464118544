"""Taking a phone source's recordings into the vault (issue 4).

One pass (:func:`scan`): read the new lines of Master.csv; look at the spool twice; take the
files that stopped growing and were not dealt with before in batches of `BATCH_FILES`: pair
each with its call record (by the recordingfile logged in the CDR, else by uniqueid), decide
the scope, and either take the batch in through :func:`kustosz.ingest.files.ingest_batch`
(its call rows and "dealt with" marks commit in the same transaction as the recordings become
`stored`), or only count it. Two batches overlap: the next is checked and paired, and its
copies begun (`begin_batch`), while the copies of the one before finish; each batch still
commits alone and in turn (`finish_batch`), and a failure undoes the batch begun after it.

Restart safety: a file counts as dealt with only once that transaction commits, and the
`phone_spool_items` unique key lets only one intake commit it; a pass killed earlier leaves a
`pending` row that `kustosz recover` removes, and the next pass takes the file again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kustosz.db.bulk import insert_many
from kustosz.db.calls import PhoneCdrRecord, PhoneIntakeState, PhoneProblem, PhoneSpoolItem
from kustosz.db.models import Source
from kustosz.db.tables import table_of
from kustosz.errors import InputError, KustoszError
from kustosz.index.sources import get_source
from kustosz.ingest.batching import BatchBound
from kustosz.ingest.files import (
    Begun,
    Item,
    OnStored,
    Stored,
    abandon,
    begin_batch,
    finish_batch,
    ingest_batch,
)
from kustosz.ingest.phone import refusing
from kustosz.ingest.phone.calls_written import NewCall, write_calls
from kustosz.ingest.phone.dealt import (
    dealt_items,
    ensure_state,
    forget_skip,
    is_dealt,
    remove_from_spool,
)
from kustosz.ingest.phone.facts import (
    Facts,
    Named,
    Skip,
    Unnamed,
    named_by,
    paired,
)
from kustosz.ingest.phone.format_checks import FormatChecks
from kustosz.ingest.phone.records import (
    CdrIndex,
    keep_records,
    read_new_records,
    start_reader,
)
from kustosz.ingest.phone.report import ScanReport
from kustosz.ingest.phone.scope import judge
from kustosz.ingest.phone.spool import item_hash, item_hashes, look, stable
from kustosz.kinds import SourceKind, kind_of
from kustosz.phone_numbers import Kept
from kustosz.phone_numbers import keep as number_kept
from kustosz.phones.settings import PhoneSettings
from kustosz.states import SpoolOutcome
from kustosz.vault import Vault

log = logging.getLogger(__name__)
ACTOR = "phone-intake"
# Files per intake batch (two transactions, one syncfs and one audit entry each; the bounds:
# ingest/batching.py): large enough that the per-batch commits and the syncfs are spread thin
# (a syncfs costs 10-20 ms on a shared disk: at 64 files a batch it was a third of a tiny-file
# intake), small enough that a kill costs little work to redo. The first batch is small and
# each next one twice as large, so the progress display moves at once and a short pass is not
# one big batch.
FIRST_BATCH_FILES = 64
# Not 1 024 (2026-11-30): at the 5 000 files/s target 1 024 files are 0.2 s, a fifth of it
# the batch's fixed costs; the deadline below is what bounds a fast pass's batches now.
BATCH_FILES = 4096
BATCH_BYTES = 256 << 20
# A batch's work, after which the next is cut to fit: a batch's fixed costs (syncfs, two
# commits, the audit head's three fsyncs) were 30-40 ms a batch on the shared machine, a
# fifth of a 200 ms batch, against under a tenth of this one (2 500 files at 5 000 files/s).
BATCH_DEADLINE_S = 0.5


@dataclass
class Observer:
    """The previous look at the spool, for a watcher that looks once per pass."""

    files: dict[str, tuple[int, int]] | None = None


def load(vault: Vault, name: str) -> tuple[Source, PhoneSettings]:
    with vault.reading() as s:
        source = get_source(s, name)
    if source.kind != SourceKind.PHONE:
        raise InputError(f"source {name!r} is a {source.kind}, not a phone line",
                         pl=f"Źródło „{name}” nie jest linią telefoniczną (rodzaj źródła: "
                            f"{kind_of(source.kind).label_pl}).")
    return source, PhoneSettings.of(source.settings)


def scan(vault: Vault, name: str, *, observer: Observer | None = None,
         now: datetime | None = None, sleep: Callable[[float], None] = time.sleep,
         progress: Callable[[int, int], None] | None = None) -> ScanReport:
    """One intake pass over source ``name``. Without ``observer`` it looks twice itself,
    ``settle_s`` apart; with one it compares with the observer's previous look."""
    source, cfg = load(vault, name)
    if not source.enabled:
        raise InputError(f"phone source {name!r} is disabled (kustosz phones enable {name})",
                         pl=f"Linia telefoniczna „{name}” jest wyłączona (kustosz phones enable "
                            f"{name}).")
    if cfg.recorded_by_kustosz:
        how = "through SIPREC" if cfg.by_siprec else f"off the mirrored port {cfg.capture}"
        how_pl = "przez SIPREC" if cfg.by_siprec else f"z portu lustrzanego {cfg.capture}"
        raise InputError(f"phone line {name!r} is recorded {how} by kustosz serve; it has no "
                         "spool to scan",
                         pl=f"Linię telefoniczną „{name}” nagrywa kustosz serve {how_pl}; nie ma "
                            "ona katalogu nagrań do przeszukania.")
    if not cfg.spool_path.is_dir():
        raise InputError(f"recording spool {cfg.spool} of {name!r} is not reachable",
                         pl=f"Katalog nagrań {cfg.spool} linii „{name}” jest niedostępny.")
    return IntakePass(vault, source, cfg, now or datetime.now(UTC)).run(observer, sleep,
                                                                         progress)


@dataclass
class _Take:
    rel: str
    seen: tuple[int, int]
    h: str
    facts: Facts
    caller: Kept
    callee: Kept
    direction: str
    cdr_id: int | None


@dataclass
class IntakePass:
    """One pass over one phone source: what it took, counted and skipped is its own state,
    changed only by its methods; `run` returns it as a `ScanReport`."""

    vault: Vault
    source: Source
    cfg: PhoneSettings
    now: datetime
    stored: int = 0
    out_of_scope: int = 0
    waiting: int = 0
    cdr_lines: int = 0
    skipped: list[str] = field(default_factory=list)
    cdr: CdrIndex = field(default_factory=CdrIndex)  # the waiting call records (run loads it)
    folder_sizes: Counter[str] = field(default_factory=Counter)  # files a folder, first look
    hashes: dict[str, str] = field(default_factory=dict)  # each path of the first look: its key

    def report(self) -> ScanReport:
        return ScanReport(self.source.name, stored=self.stored, out_of_scope=self.out_of_scope,
                          skipped=list(self.skipped), waiting=self.waiting,
                          cdr_lines=self.cdr_lines)

    def run(self, observer: Observer | None, sleep: Callable[[float], None],
            progress: Callable[[int, int], None] | None) -> ScanReport:
        cfg = self.cfg
        ensure_state(self.vault, self.source.id)
        start_reader(self.vault, self.source.id, cfg)
        first = look(cfg.spool_path)
        self.folder_sizes = Counter(rel.rpartition("/")[0] for rel in first.files)
        self.hashes = item_hashes(cfg.item_key, [*first.files, *first.refused])
        dealt = dealt_items(self.vault, self.source.id, self.hashes)
        for rel, why in sorted(first.refused.items()):
            if self.hashes[rel] not in dealt:
                self._skip(rel, (0, 0), f"refused: {why}")
        new = {rel: seen for rel, seen in first.files.items()
               if not is_dealt(dealt, self.hashes[rel], seen)}
        if observer is None:
            before = new
            if new:
                sleep(cfg.settle_s)
                after = {rel: seen for rel, seen in look(cfg.spool_path).files.items()
                         if rel in new}
            else:
                after = {}
        else:
            before, after = observer.files or {}, new
            observer.files = dict(first.files)
        ready = sorted(stable(before, after))
        self.waiting = len(new) - len(ready)
        done = 0
        bound = BatchBound(FIRST_BATCH_FILES, BATCH_FILES, BATCH_BYTES, BATCH_DEADLINE_S)
        # Two batches overlap: the next is checked, paired and its copies begun while the
        # copies of the one before finish (`begin_batch`); each still commits alone, in turn.
        under_way: tuple[list[_Take], Begun] | None = None
        checks = FormatChecks(cfg.spool_path, self.vault.policy.timezone, ready, after,
                              self.folder_sizes)
        # Master.csv while the side process checks the first files' formats; read after the
        # looks, it already holds more of the calls whose recordings they found ended.
        cdr = read_new_records(self.vault, self.source.id, cfg, self.now)
        self.cdr_lines = cdr.lines
        self.skipped.extend(cdr.problems)
        self.cdr = CdrIndex.load(self.vault, self.source.id)
        self.cdr.add_new(cdr.rows)  # paired in memory; kept (`keep_records`) at the end
        try:
            for batch in bound.batches(ready, lambda rel: after[rel][0]):
                keep = self._take_batch(batch, after, checks)
                before_it, under_way = under_way, self._begin(keep)
                if before_it is not None:
                    self._end(*before_it)
                done += len(batch)
                if progress:
                    progress(done, len(ready))
            last, under_way = under_way, None
            if last is not None:
                self._end(*last)
        finally:
            if under_way is not None:  # a batch before it failed: undone, taken next pass
                abandon(under_way[1])
        if keep_records(self.vault, self.source.id, cdr, self.cdr.unpaired(),
                        cfg.cdr_path.name, self.now):
            refusing.cdr_lines(self.vault, self.source.name, cfg.cdr_path.name, cdr.refused)
        self._finish(first.files)
        return self.report()

    def _take_batch(self, rels: list[str], seen: dict[str, tuple[int, int]],
                    checks: FormatChecks) -> list[_Take]:
        """The batch's files checked and paired: those out of scope counted, the skipped
        noted; the ones to store returned."""
        vault, cfg, now = self.vault, self.cfg, self.now
        # Per batch, not per file: the path checks look at each folder once, each folder is
        # listed at most once for sidecars, and the call records come from the pass's index.
        unsafe, parsed = checks.take(rels)
        known: list[Facts | Named] = []
        unnamed: list[Unnamed] = []
        for rel in rels:
            got = parsed.get(rel)
            if rel in unsafe:
                self._skip(rel, seen[rel], unsafe[rel])
            elif isinstance(got, Skip):
                self._skip(rel, seen[rel], str(got))
            elif isinstance(got, Unnamed):
                unnamed.append(got)
            elif got is not None:
                known.append(got)
        if unnamed:
            known.extend(self._by_record(unnamed))
        cdr = self.cdr
        wanted = {k.rel: cdr.candidates(k.rel.rpartition("/")[2], k.name.uniqueid,
                                        k.name.started)
                  for k in known if isinstance(k, Named)}
        rows = cdr.rows(vault, sorted({i for ids in wanted.values() for i in ids}))
        keep: list[_Take] = []
        out: list[_Take] = []
        maxd, untold = cfg.extension_max_digits, 0
        office = frozenset(cfg.office_numbers)
        for k in known:
            if isinstance(k, Named):
                facts, cdr_id = paired(k, [rows[i] for i in wanted[k.rel] if i in rows],
                                       cdr.claimed, cfg, now)
            else:
                facts, cdr_id = k, None
            if facts is None:
                self.waiting += 1
                continue
            if cdr_id is not None:
                cdr.claimed.add(cdr_id)  # one call record per recording
            verdict = judge(facts.direction, facts.caller_raw, facts.callee_raw,
                            vault.policy.call_scope, office, extension_max_digits=maxd)
            take = _Take(facts.rel, facts.seen, self.hashes[facts.rel], facts,
                         number_kept(facts.caller_raw, internal_max_digits=maxd),
                         number_kept(facts.callee_raw, internal_max_digits=maxd),
                         verdict.direction, cdr_id)
            (keep if verdict.keep else out).append(take)
            untold += verdict.untold
        if out:
            self.out_of_scope += self._each(out, self._count_out_of_scope)
        if untold:  # not kept, and not silently (scope.py)
            refusing.direction_untold(vault, self.source.name, untold)
        return keep

    def _by_record(self, unnamed: list[Unnamed]) -> list[Named]:
        """Files of no known name, taken when a call record names them; without one they
        wait for it as any recording does, then are skipped for their name."""
        cdr, found = self.cdr, []
        ids = {u.rel: [i for i in cdr.by_file.get(u.rel.rpartition("/")[2], ())
                       if i not in cdr.claimed] for u in unnamed}
        rows = cdr.rows(self.vault, sorted({i for v in ids.values() for i in v}))
        wait = timedelta(seconds=self.cfg.no_cdr_wait_s)
        for u in unnamed:
            named = named_by(u, [rows[i] for i in ids[u.rel] if i in rows])
            if named is not None:
                found.append(named)
            elif self.now - datetime.fromtimestamp(u.seen[1] / 1e9, UTC) < wait:
                self.waiting += 1
            else:
                self._skip(u.rel, u.seen, f"{u.why}; no line of {self.cfg.cdr_path.name} "
                                          "names the file")
        return found

    def _each(self, takes: list[_Take], write: Callable[[list[_Take]], int]) -> int:
        """``write`` the batch; if a concurrent intake committed one of its files first (the
        unique key refuses it), the batch is undone whole and goes again in halves, down to
        the files the other intake took (a few conflicts cost a few halvings, not a
        transaction per file of a large batch)."""
        try:
            return write(takes)
        except IntegrityError:
            if len(takes) == 1:
                log.info("phone source %s: %s was taken by a concurrent intake",
                         self.source.name, takes[0].rel)
                return 0
        except InputError as exc:  # e.g. the source was disabled while this pass ran
            log.warning("phone source %s: %d files not taken: %s", self.source.name,
                        len(takes), exc)
            return 0
        half = len(takes) // 2
        return self._each(takes[:half], write) + self._each(takes[half:], write)

    def _begin(self, takes: list[_Take]) -> tuple[list[_Take], Begun] | None:
        if not takes:
            return None
        try:
            return takes, begin_batch(self.vault, self.source.name, self._items(takes),
                                      actor=ACTOR, audit_it=False)
        except InputError as exc:  # e.g. the source was disabled while this pass ran
            log.warning("phone source %s: %d files not taken: %s", self.source.name,
                        len(takes), exc)
            return None

    def _end(self, takes: list[_Take], begun: Begun) -> None:
        """The begun batch committed; on a conflict with a concurrent intake (undone whole)
        it goes again through `_each`, which halves it."""
        try:
            results = finish_batch(begun, self._on_stored(takes))
        except IntegrityError:
            if len(takes) == 1:
                log.info("phone source %s: %s was taken by a concurrent intake",
                         self.source.name, takes[0].rel)
                return
            half = len(takes) // 2
            self.stored += self._each(takes[:half], self._store) \
                + self._each(takes[half:], self._store)
            return
        self.stored += self._results(takes, results)

    def _store(self, takes: list[_Take]) -> int:
        """The batch through `ingest_batch`, at once (`_each`'s halves)."""
        return self._results(takes, ingest_batch(
            self.vault, self.source.name, self._items(takes), actor=ACTOR, audit_it=False,
            on_stored=self._on_stored(takes)))

    def _items(self, takes: list[_Take]) -> list[Item]:
        spool = self.cfg.spool_path  # a new Path each time it is asked for
        return [Item(spool / t.rel, t.facts.start, t.facts.end,
                     {**t.facts.meta, "caller_raw": t.facts.caller_raw,
                      "callee_raw": t.facts.callee_raw, "direction": t.direction,
                      "no_cdr": t.facts.no_cdr}) for t in takes]

    def _on_stored(self, takes: list[_Take]) -> OnStored:
        """Calls, spool marks, counters and one audit entry, committed in the batch's step
        (3): a file is dealt with exactly when its copy is."""
        source, now = self.source, self.now

        def on_stored(s: Session, done: list[Stored]) -> None:
            mine = [(d, takes[d.index]) for d in done]
            write_calls(s, source, [NewCall(d, t.facts.start, t.caller, t.callee, t.direction,
                                            t.facts.uniqueid, t.facts.disposition or "",
                                            t.facts.no_cdr) for d, t in mine], now, ACTOR)
            _mark(s, source.id, [t for _, t in mine], SpoolOutcome.STORED, now)
        return on_stored

    def _results(self, takes: list[_Take], results: list[Stored | OSError | KustoszError]
                 ) -> int:
        """What each file's copy came to; the stored ones are acknowledged (removed from the
        spool where the line says so) only now, after the batch's commit."""
        source, cfg = self.source, self.cfg
        stored = 0
        for t, result in zip(takes, results, strict=True):
            if isinstance(result, FileNotFoundError):  # the PBX removed it between looks
                log.warning("phone source %s: %s not taken: %s", source.name, t.rel, result)
            elif isinstance(result, KustoszError):
                # The store's failure, not the file's (an object store away and the local
                # spool unable to keep it): nothing is kept, so the file stays the PBX's,
                # unmarked, and the next pass takes it (`Unavailable` is an OSError too).
                log.warning("phone source %s: %s not taken now, tried again on the next "
                            "pass: %s", source.name, t.rel, result)
            elif isinstance(result, OSError):
                self._skip(t.rel, t.seen, f"cannot be read: {result}")
            else:
                stored += 1
                if t.cdr_id is not None:
                    self.cdr.taken.add(t.cdr_id)
                if t.facts.no_cdr:
                    refusing.no_record(self.vault, source.name, t.rel, t.facts.uniqueid,
                                       cfg.cdr_path.name, cfg.no_cdr_wait_s)
                if cfg.remove_after_intake:
                    remove_from_spool(cfg.spool_path / t.rel, t.seen, source.name)
        return stored

    def _count_out_of_scope(self, takes: list[_Take]) -> int:
        """R1.4: not stored; only a count, and a keyed hash so the next pass does not recount."""
        with self.vault.transaction() as s:
            _mark(s, self.source.id, takes, SpoolOutcome.OUT_OF_SCOPE, self.now)
            s.execute(update(PhoneIntakeState)
                      .where(PhoneIntakeState.source_id == self.source.id)
                      .values(out_of_scope=PhoneIntakeState.out_of_scope + len(takes)))
        self.cdr.taken.update(t.cdr_id for t in takes if t.cdr_id is not None)
        return len(takes)

    def _skip(self, rel: str, seen: tuple[int, int], why: str) -> None:
        source_id, now = self.source.id, self.now
        log.warning("phone source %s: skipped %s: %s", source_id, rel, why)
        h = item_hash(self.cfg.item_key, rel)
        with self.vault.transaction() as s:
            forget_skip(s, source_id, h)
            s.add(PhoneSpoolItem(source_id=source_id, item=h, outcome=SpoolOutcome.SKIPPED,
                                 size=seen[0], mtime_ns=seen[1], at=now))
            s.add(PhoneProblem(source_id=source_id, at=now, item=rel[:400], message=why))
            s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == source_id)
                      .values(skipped=PhoneIntakeState.skipped + 1))
        self.skipped.append(f"{rel}: {why}")
        refusing.file_skipped(self.vault, self.source.name, rel, why)

    def _finish(self, files: dict[str, tuple[int, int]]) -> None:
        source_id, now = self.source.id, self.now
        newest = max((mtime for _, mtime in files.values()), default=None)
        with self.vault.transaction() as s:
            state = s.get_one(PhoneIntakeState, source_id)
            state.last_scan_at, state.waiting = now, self.waiting
            if newest is not None:
                newest_at = datetime.fromtimestamp(newest / 1e9, UTC)
                if state.last_file_at is None or newest_at > state.last_file_at:
                    state.last_file_at = newest_at
            # A call record no recording claimed in this long (unanswered, not recorded, or
            # out of scope) is dropped: it is the PBX's log, not the vault's.
            s.execute(delete(PhoneCdrRecord).where(
                PhoneCdrRecord.source_id == source_id,
                PhoneCdrRecord.read_at < now - timedelta(hours=self.cfg.cdr_keep_h)))


def _mark(s: Session, source_id: int, takes: list[_Take], outcome: str, now: datetime) -> None:
    """Note files as dealt with (replacing earlier skips) and drop their paired records."""
    hashes = [t.h for t in takes]
    s.execute(delete(PhoneSpoolItem).where(PhoneSpoolItem.source_id == source_id,
                                           PhoneSpoolItem.item.in_(hashes),
                                           PhoneSpoolItem.outcome == SpoolOutcome.SKIPPED))
    insert_many(s, table_of(PhoneSpoolItem), [
        {"source_id": source_id, "item": t.h, "outcome": outcome, "size": t.seen[0],
         "mtime_ns": t.seen[1], "at": now} for t in takes])
    cdr_ids = [t.cdr_id for t in takes if t.cdr_id is not None and t.cdr_id > 0]
    if cdr_ids:  # the waiting ones; this pass's own are not written (`keep_records`)
        s.execute(delete(PhoneCdrRecord).where(PhoneCdrRecord.id.in_(cdr_ids)))
