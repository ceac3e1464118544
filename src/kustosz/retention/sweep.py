"""Deleting material whose period has ended, never material a hold covers (invariant 1).

Crash safety: a sweep (1) marks its victims `deleting` with its sweep id and commits,
(2) unlinks their files, (3) moves the rows into `deletions` and writes one audit entry whose
digest covers every deletion record. A sweep killed anywhere is finished by the next start
(`recover`): rows a hold has meanwhile covered and whose files still exist go back to
`stored`; the rest are deleted and recorded. Unlinks are idempotent, so repeating is safe.

The database is not trusted alone (issue 28 item 5). Before anything is deleted, each victim
is checked against the audit log's record of its retention and of the holds on it
(`kustosz.holds.record`): one the record keeps goes back to `stored`, and the alert
`retention_disagrees` says so. On an object store the store checks too: the sweep deletes
without the governance bypass, so a version whose retain-until is ahead is refused by the
store itself and kept the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.audit import append as audit
from kustosz.audit.deletion_days import sweep_digest
from kustosz.clock.confirm import unconfirmed
from kustosz.clock.watch import before_sweep
from kustosz.db.deadline import patient
from kustosz.db.deleted import day_items
from kustosz.db.dependents import drop_dependents
from kustosz.db.models import Deletion, DeletionDay, Recording, Source, Sweep
from kustosz.holds.coverage import (
    ItemFacts,
    active_holds,
    covered_by_active_hold,
    covering,
    holds_of,
)
from kustosz.holds.object_lock import held_ids, mirror_legal_holds
from kustosz.holds.record import Disagreement, disagreements
from kustosz.index.expiry import period_for
from kustosz.retention.day_sweep import DaysResult, recover_days, sweep_days
from kustosz.retention.orphans import remove_orphans
from kustosz.retention.partitions import make_days, partitioned_index
from kustosz.retention.traces import prune_marks, prune_traces
from kustosz.states import AlertRow, RecordingState, SweepMode
from kustosz.storage.base import Lockable, Refused, delete_content
from kustosz.vault import Vault

log = logging.getLogger(__name__)
UNLINK_WORKERS = 4
# What deleting a victim needs; a report with detail names each one fully (VICTIM_COLUMNS).
# The narrow set matters at scale: an expired day of 100 cameras is 864 000 rows, and decoding
# their three times alone took 7 s of a 57 s sweep (bench/retention.py, 80 M rows).
UNLINK_COLUMNS = (Recording.id, Recording.source_id, Recording.storage_key,
                  Recording.version_id)
VICTIM_COLUMNS = (*UNLINK_COLUMNS, Recording.start_at, Recording.end_at, Recording.size,
                  Recording.sha256, Recording.expires_at)


@dataclass
class SweepReport:
    as_of: datetime
    dry_run: bool
    mode: str = SweepMode.RETENTION
    sweep_ids: list[int] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    kept_by_hold: list[dict[str, Any]] = field(default_factory=list)
    recovered: int = 0
    traces: int = 0  # rows about skipped phone files removed with their period (traces.py)
    refused: list[int] = field(default_factory=list)  # kept against the database (record.py)
    held_by_clock: bool = False  # a reboot left the clock unconfirmed (kustosz.clock.confirm)
    deleted_days: list[dict[str, Any]] = field(default_factory=list)  # whole days (day_sweep)

    def as_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run, "mode": self.mode,
                "sweeps": self.sweep_ids, "recovered": self.recovered,
                "deleted_count": len(self.deleted), "kept_by_hold_count": len(self.kept_by_hold),
                "deleted": self.deleted, "kept_by_hold": self.kept_by_hold,
                "traces_removed": self.traces, "refused": self.refused,
                "held_by_clock": self.held_by_clock, "deleted_days": self.deleted_days}


def _rule(source: Source, vault: Vault) -> str:
    period = period_for(source, vault.policy)
    origin = "source setting" if source.retention else f"policy retention.{source.kind}"
    return f"retention {period} ({origin})"


def _item(rec: Any, source_name: str, **extra: Any) -> dict[str, Any]:
    return {"id": rec.id, "source": source_name, "start": rec.start_at.isoformat(),
            "end": rec.end_at.isoformat(), "size": rec.size, "sha256": rec.sha256,
            "expires_at": rec.expires_at.isoformat() if rec.expires_at else None, **extra}


def _day_items(vault: Vault, sweep_id: int, sources: dict[int, Source]) -> list[dict[str, Any]]:
    """The items the sweep's whole days deleted (day_sweep.py), reported in detail as the
    per-item ones are: from the day records' lists, which keep no expiry (None here)."""
    with vault.reading() as s:
        rows = s.execute(select(DeletionDay).where(DeletionDay.sweep_id == sweep_id)).scalars()
        items = [d for row in rows for d in day_items(row)]
    return [{"id": d.recording_id, "source": sources[d.source_id].name,
             "start": d.start_at.isoformat(), "end": d.end_at.isoformat(), "size": d.size,
             "sha256": d.sha256, "expires_at": None, "rule": d.rule} for d in items]


def _names(session: Session) -> dict[int, Source]:
    return {s.id: s for s in session.execute(select(Source)).scalars()}


def _unlink_all(vault: Vault, victims: list[Any], now: datetime,
                early: list[Disagreement]) -> set[int]:
    """Remove the victims' content (rows with id, storage_key, version_id); the ids kept
    because a hold covered them meanwhile or the store's lock still keeps them (they are
    `stored` again; the latter also added to ``early``)."""
    store = vault.deleting_storage()
    if not isinstance(store, Lockable) and not any(v.version_id for v in victims):
        # unlink(2) releases the GIL; a few threads keep the disk queue busy.
        store.delete_many([v.storage_key for v in victims], UNLINK_WORKERS)
        return set()
    # On an object store only the sweep's credentials may delete: the version the index
    # names, without the governance bypass. A legal hold, or a retain-until still ahead,
    # refuses them.
    refused: list[tuple[Any, Refused]] = []

    def one(victim: Any) -> None:
        try:
            delete_content(store, victim.storage_key, victim.version_id)
        except Refused as exc:
            refused.append((victim, exc))

    with ThreadPoolExecutor(UNLINK_WORKERS, thread_name_prefix="kustosz-unlink") as pool:
        list(pool.map(one, victims))
    return _refused(vault, store, refused, now, early) if refused else set()


def _refused(vault: Vault, store: Any, refused: list[tuple[Any, Refused]], now: datetime,
             early: list[Disagreement]) -> set[int]:
    """Victims the store refused: its retain-until is still ahead (the database says the
    time is up, the store's lock says not: kept, and told), or the object is under legal
    hold — a hold placed after the sweep chose them covers them (the object lock saved them:
    they go back to `stored`), or the legal hold is stale, left by a release whose clearing
    did not happen or a hold that never committed (holds/object_lock.py), and no hold
    covers them, active in the database or open in the audit log (asked before the
    deletion): then it is cleared and the content deleted."""
    with vault.transaction() as s:
        kept = held_ids(s, [v.id for v, _exc in refused])
    stale = []
    for victim, exc in refused:
        if victim.id in kept:
            continue
        lock = store.lock_of(victim.storage_key, victim.version_id)
        if lock.retain_until is not None and lock.retain_until > datetime.now(UTC):
            kept.add(victim.id)
            early.append(Disagreement(victim.id, victim.storage_key, None, lock.retain_until))
        elif lock.legal_hold:
            stale.append(victim)
        else:
            raise exc  # not the lock: the credentials (named in the message)
    _back_to_stored(vault, kept)
    for victim in stale:
        log.warning("a legal hold no hold stands behind on %s: cleared before its deletion",
                    victim.storage_key)
        store.legal_hold(victim.storage_key, False, victim.version_id)
        delete_content(store, victim.storage_key, victim.version_id)
    return kept


def _back_to_stored(vault: Vault, ids: set[int]) -> None:
    if not ids:
        return
    with vault.transaction() as s:
        s.execute(update(Recording).where(Recording.id.in_(ids),
                                          Recording.state == RecordingState.DELETING)
                  .values(state=RecordingState.STORED, sweep_id=None)
                  .execution_options(synchronize_session=False))


def _checked(vault: Vault, victims: list[Any], now: datetime, early: list[Disagreement],
             *, expiry: bool = True, present: Callable[[Any], bool] | None = None
             ) -> list[Any]:
    """The victims the audit log lets go (and no hold placed meanwhile covers); the others
    go back to `stored`, those the record keeps added to ``early``. ``present``: whether a
    victim's content is still there (recovery: one already gone is recorded deleted)."""
    if not victims:
        return victims
    with vault.reading() as s:
        ids = [v.id for v in victims]
        found = disagreements(vault, s, ids, now, expiry)
        held = held_ids(s, ids)
    keep = held | {d.id for d in found}
    if present is not None:
        keep = {v.id for v in victims if v.id in keep and present(v)}
        # One already gone was unlinked once it had been checked: what disagrees now (a hold
        # placed since) came after it. Recorded deleted, never told as kept.
        found = [d for d in found if d.id in keep]
    early += found
    _back_to_stored(vault, keep)
    return [v for v in victims if v.id not in keep]


def _tell(vault: Vault, sweep_id: int, early: list[Disagreement], actor: str) -> None:
    """Record (audit) and raise the alert for victims kept against the database; clear the
    alert after a sweep that found none."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        if not early:
            clear_rows(s, AlertRow.RETENTION_DISAGREES, now)
            return
        early = sorted({d.id: d for d in early}.values(), key=lambda d: d.id)
        audit(s, actor, "sweep.refused", f"sweep {sweep_id}", {
            "count": len(early), "recordings": [d.as_json() for d in early[:200]]})
        raise_row(s, AlertRow.RETENTION_DISAGREES,
                  disagreement_text(early, _per_source(s, [d.id for d in early])), now)


def _per_source(s: Session, ids: list[int]) -> dict[str, int]:
    """How many of ``ids`` (kept: back in the index) each source has, by its name: a whole
    day kept back is thousands of ids, which only the count per source makes readable."""
    names = {src.id: src.name for src in _names(s).values()}
    counts: dict[str, int] = {}
    for at in range(0, len(ids), 1000):
        for sid, n in s.execute(select(Recording.source_id, func.count()).where(
                Recording.id.in_(ids[at:at + 1000])).group_by(Recording.source_id)):
            counts[names[sid]] = counts.get(names[sid], 0) + n
    return dict(sorted(counts.items()))


def disagreement_text(early: list[Disagreement], per_source: dict[str, int] | None = None
                      ) -> str:
    """The alert's words, Polish first; folded per source when ``per_source`` names them."""
    shown = ", ".join(str(d.id) for d in early[:20]) + (" …" if len(early) > 20 else "")
    fold = "; ".join(f"{name}: {n}" for name, n in (per_source or {}).items())
    fold_pl, fold_en = (f"; według źródeł: {fold}", f"; by source: {fold}") if fold else ("", "")
    holds = sorted({h for d in early for h in d.holds})
    held_pl = (f" Dziennik zdarzeń zapisał też aktywne zabezpieczenia nr "
               f"{', '.join(map(str, holds))}, których baza danych nie uwzględnia."
               if holds else "")
    held_en = (f" The audit log also has holds {', '.join(map(str, holds))} open that the "
               "database leaves out." if holds else "")
    return (f"Usuwanie po terminie wstrzymało usunięcie nagrań ({len(early)}; nr {shown}"
            f"{fold_pl}): "
            "baza danych podaje dla nich termin wcześniejszy niż okres przechowywania "
            f"zapisany w dzienniku zdarzeń albo w magazynie obiektów.{held_pl} Nagrania "
            "zostały zachowane. Sprawdź, kto zmieniał bazę danych (kustosz audit verify); "
            "jeśli okres skrócono w kustosz.toml, skrócenie musi zatwierdzić druga osoba "
            "(kustosz retention shorten propose, approve). / The sweep kept "
            f"{len(early)} recording(s) (nos. {shown}{fold_en}): the database gives them an "
            "earlier end "
            f"than the retention the audit log or the object store records.{held_en} Nothing "
            "of them was deleted. Find who changed the database (kustosz audit verify); if "
            "a period was shortened in kustosz.toml, a second person must approve it "
            "(kustosz retention shorten propose, approve).")


def delete_marked(vault: Vault, sweep_id: int, now: datetime, actor: str,
                  rules: Callable[[Source], str], *, columns: tuple[Any, ...] = UNLINK_COLUMNS,
                  expiry: bool = True, clear_agreed: bool = True,
                  already: Iterable[Disagreement] = ()
                  ) -> tuple[list[Any], set[int], list[Disagreement]]:
    """The steps after a sweep marked its victims `deleting`, the one way for the retention
    sweep and disk pressure alike: each victim asked again against the audit log's record
    (``expiry``: its period too, not only its holds), unlinked, the sweep finished and what
    the record kept told. Returns the victims read, the ids kept after all (a hold placed
    meanwhile) and the disagreements. ``clear_agreed``: a sweep that found none clears the
    `retention_disagrees` alert (disk pressure, which does not ask about periods, leaves it).
    ``already``: what the same sweep's whole days kept (day_sweep.py), told with the rest.
    """
    with vault.reading() as s:
        # Plain rows: building ORM objects for 100 000+ victims costs more than deleting them.
        victims = list(s.execute(select(*columns).where(
            Recording.sweep_id == sweep_id, Recording.state == RecordingState.DELETING)).all())
    early: list[Disagreement] = list(already)
    victims = _checked(vault, victims, now, early, expiry=expiry)
    kept = _unlink_all(vault, victims, now, early)
    _finish(vault, sweep_id, actor, rules)
    if early or clear_agreed:
        _tell(vault, sweep_id, early, actor)
    return victims, kept, early


def _finish(vault: Vault, sweep_id: int, actor: str, rules: Callable[[Source], str]) -> int:
    """Step 3: record the deletions of a sweep whose files are gone, and close the sweep."""
    now = datetime.now(UTC)
    with vault.transaction() as s:
        sweep = s.get(Sweep, sweep_id)
        if sweep is None or sweep.finished_at is not None:
            return 0
        sources = _names(s)
        present = s.execute(select(Recording.source_id).where(
            Recording.sweep_id == sweep_id, Recording.state == RecordingState.DELETING)
            .distinct()).scalars()
        _move_to_deletions(s, sweep_id, {sid: rules(sources[sid]) for sid in present}, now)
        sealed = sweep_digest(s, sweep_id)  # the day records' lists are not read
        sweep.finished_at, sweep.deleted = now, sealed.items
        audit(s, actor, f"sweep.{sweep.mode}", f"sweep {sweep_id}", {
            "as_of": sweep.as_of.isoformat(), "deleted": sealed.items,
            "deletions_sha256": sealed.digest})
    return sealed.items


def _move_to_deletions(s: Session, sweep_id: int, rules: dict[int, str], now: datetime) -> None:
    """The sweep's `deleting` rows become `deletions` rows (with the rule of each one's
    source; ``rules`` names every source they come from) and leave the index. PostgreSQL: one
    statement, a DELETE … RETURNING feeding the INSERT, so the rows are read once
    (bench/retention.py: an expired day of 100 cameras is 864 000 rows, and every pass over
    them costs seconds); elsewhere an INSERT … SELECT, then the DELETE."""
    if not rules:
        return  # nothing of this sweep is left in the index
    mine = (Recording.sweep_id == sweep_id) & (Recording.state == RecordingState.DELETING)
    columns = ["sweep_id", "recording_id", "source_id", "start_at", "end_at", "size", "sha256",
               "rule", "deleted_at", "entries"]
    entries = Recording.meta["lines"].as_integer()  # a chunk's messages or events
    at = literal(now.replace(tzinfo=None))
    drop_dependents(s, select(Recording.id).where(mine))  # the keys' cascade (0062)
    if s.get_bind().dialect.name == "postgresql":
        moved = delete(Recording).where(mine).returning(
            Recording.id, Recording.source_id, Recording.start_at, Recording.end_at,
            Recording.size, Recording.sha256, entries.label("entries")).cte("moved")
        rule = case(rules, value=moved.c.source_id)
        s.execute(insert(Deletion).from_select(columns, select(
            literal(sweep_id), moved.c.id, moved.c.source_id, moved.c.start_at, moved.c.end_at,
            moved.c.size, moved.c.sha256, rule, at, moved.c.entries)))
        return
    rule = case(rules, value=Recording.source_id)
    s.execute(insert(Deletion).from_select(columns, select(
        Recording.sweep_id, Recording.id, Recording.source_id, Recording.start_at,
        Recording.end_at, Recording.size, Recording.sha256, rule, at, entries).where(mine)))
    s.execute(delete(Recording).where(mine))


def recover(vault: Vault, actor: str = "system") -> int:
    """Finish (or roll back) sweeps that a crash interrupted; returns rows handled. Nothing
    in a process that does not delete (`serve` with [storage] sweep = "separate"): the
    sweeper finishes them. The index's days ahead are made first, in every process."""
    make_days(vault)  # serve's start: no recording lands in the default partition
    if not vault.may_delete:
        return 0
    handled = 0
    with vault.reading() as s:
        open_sweeps = list(s.execute(select(Sweep.id, Sweep.mode)
                                     .where(Sweep.finished_at.is_(None))).all())
    handled += remove_orphans(vault)  # undone intakes the app's credentials could not remove
    with vault.reading() as s:
        rules = {sid: _rule(src, vault) for sid, src in _names(s).items()}
    handled += recover_days(vault, rules)  # days detached and not dropped (day_sweep.py)
    for sweep_id, mode in open_sweeps:
        handled += finish_open(vault, sweep_id, mode, actor)
    return handled


def finish_open(vault: Vault, sweep_id: int, mode: str, actor: str = "system") -> int:
    """Finish one sweep cut short after it marked its victims: each still `deleting` goes
    back to `stored` if a hold covers it and its file is there, else is unlinked (if it is
    not gone already) and recorded; the sweep closed. By `recover` at a start, and by the
    disk-pressure sweep for its own sweep whose last write the full disk refused. Returns
    the rows handled."""
    with vault.transaction() as s:
        rows = list(s.execute(select(Recording).where(
            Recording.sweep_id == sweep_id,
            Recording.state == RecordingState.DELETING)).scalars())
        gone = []
        holds = active_holds(s)  # the coverage rule read in Python (holds/coverage.py)
        for rec in rows:
            facts = ItemFacts(rec.id, rec.source_id, rec.start_at, rec.end_at)
            if covering(holds, facts) and vault.storage.exists(rec.storage_key):
                rec.state, rec.sweep_id = RecordingState.STORED, None
            else:
                gone.append(rec)
        as_of = s.get(Sweep, sweep_id).as_of  # type: ignore[union-attr]
    # An open sweep with rows `deleting` is a database's word too: the record is asked
    # as of the sweep's time, never later than now.
    early: list[Disagreement] = []
    at = min(as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of,
             datetime.now(UTC))
    gone = _checked(vault, gone, at, early, expiry=mode == SweepMode.RETENTION,
                    present=lambda v: vault.storage.exists(v.storage_key))
    _unlink_all(vault, gone, at, early)
    if early:
        _tell(vault, sweep_id, early, actor)
    rules = (lambda src: _rule(src, vault)) if mode == SweepMode.RETENTION else \
        (lambda src: "disk pressure (recovered)")
    _finish(vault, sweep_id, actor, rules)
    return len(rows)


def _expired(now: datetime) -> ColumnElement[bool]:
    return (Recording.state == RecordingState.STORED) & (Recording.expires_at <= now)


@patient
def run_sweep(vault: Vault, now: datetime | None = None, dry_run: bool = False,
              actor: str = "system", detail: bool = True) -> SweepReport:
    before_sweep(vault)  # a clock jump just made re-bases its material first (kustosz.clock)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = SweepReport(as_of=now, dry_run=dry_run)
    with vault.reading() as s:
        report.held_by_clock = unconfirmed(s) is not None
    if report.held_by_clock and not dry_run:
        log.warning("retention sweep held: the server's clock is unconfirmed since a reboot "
                    "(kustosz clock confirm)")
        return report
    if not dry_run:
        report.recovered = recover(vault, actor)
        mirror_legal_holds(vault, actor)  # the sweep's identity alone sets and clears them
    with vault.reading() as s:
        sources = _names(s)
        if detail:
            for rec in s.execute(select(Recording).where(_expired(now), covered_by_active_hold())
                                 .order_by(Recording.start_at)).scalars():
                report.kept_by_hold.append(_item(rec, sources[rec.source_id].name,
                                                 holds=holds_of(s, rec)))
        if dry_run:
            for rec in s.execute(select(Recording).where(_expired(now), ~covered_by_active_hold())
                                 .order_by(Recording.start_at)).scalars():
                source = sources[rec.source_id]
                report.deleted.append(_item(rec, source.name, rule=_rule(source, vault)))
            return report
    with vault.transaction() as s:
        sweep = Sweep(started_at=datetime.now(UTC), as_of=now, mode=SweepMode.RETENTION)
        s.add(sweep)
        s.flush()
        sweep_id = sweep.id
    days = DaysResult()
    if partitioned_index(vault):  # whole expired days first, as partitions (day_sweep.py)
        days = sweep_days(vault, sweep_id, now, {sid: _rule(src, vault) for sid, src in
                                                 sources.items()}, actor)
        report.deleted_days = [{"source": sources[sid].name, "day": day.isoformat(),
                                "count": n, "list_sha256": h} for sid, day, n, h in days.records]
    with vault.transaction() as s:
        s.execute(update(Recording).where(_expired(now), ~covered_by_active_hold())
                  .values(state=RecordingState.DELETING, sweep_id=sweep_id)
                  .execution_options(synchronize_session=False))
    report.sweep_ids.append(sweep_id)
    victims, kept, early = delete_marked(
        vault, sweep_id, now, actor, lambda src: _rule(src, vault),
        columns=VICTIM_COLUMNS if detail else UNLINK_COLUMNS, already=days.early)
    victims = [r for r in victims if r.id not in kept]
    report.refused = sorted({d.id for d in early})
    if detail:
        report.deleted = [_item(r, sources[r.source_id].name, rule=_rule(sources[r.source_id],
                                                                         vault))
                          for r in victims]
    else:
        report.deleted = [{"id": r.id} for r in victims]
    if days.records:  # without detail the ids the day sweep had: no list read back
        report.deleted += _day_items(vault, sweep_id, sources) if detail else \
            [{"id": i} for i in days.ids]
    with vault.transaction() as s:
        report.traces = prune_traces(s, vault.policy, now, actor) + prune_marks(
            s, vault.policy, now, actor)
    return report
