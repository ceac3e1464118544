"""Undoing a wrong jump of the server's clock forward: a two-person step (issue 27 item 7 c).

A jump forward by D re-bases what the ended frame stamped and raises every older row
(kustosz.clock.rebase): the watch takes the clock never to be ahead. When the clock later
returns to the time line it left (a *correction*, kustosz.clock.watch), the jump forward was
probably a wrong-ahead clock set right — but it may as well have been a clock behind, set
right by NTP, and then set back by as much by someone who controls it. The watch cannot tell
the two, and acting on the first would delete material early in the second; so it lowers
only the high-water mark (material from then on counts from its own stamps) and leaves
everything already kept D late at most, saying so in the alert. Shortening that is the
step here, in the pattern of kustosz.retention.shorten:

1. an administrator proposes undoing the forward jump a correction names (`propose`): the
   audit entry `clock.undo.propose` is the proposal, its sequence number its id;
2. an approver other than the proposer approves it (`approve`): every recording whose
   retention base the period's jumps moved (`clock_rebased`) gets the base it had back —
   only where it still holds the value the jump set (a later change wins) — and every
   camera segment the clock stamped during the ahead period counts from its stamp less how
   far ahead that frame was (`retain_from` earlier than `start_at`); ends are recomputed,
   and each object whose retain-until is later is re-dated with the governance bypass, with
   the re-dating identity's credentials (`--credentials FILE`), as an approved shortening
   does. The audit entry `clock.undo.approve` names what was re-counted (sources, ids, the
   ahead period's frames) so that the sweep's record check (kustosz.holds.record)
   counts those victims from as much earlier, and no other.

Only camera segments are re-counted from earlier than their stamps (the kinds whose
`server_clock` the registry, kustosz.kinds, sets): their times are the server clock's (the
spool's sessions); phones, mail, events and uploads may carry a device's own time, which an
ahead server clock did not touch. Each change is kept in `clock_rebased`
under the correction's id: an approval cut short and made again does not count anything
twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from kustosz.access.users import require_role
from kustosz.audit import append as audit
from kustosz.db.clock import ClockJump, ClockRebased
from kustosz.db.models import AuditEntry, Recording, Source
from kustosz.errors import ConfigError, FieldError, InputError, NotFound
from kustosz.holds.object_lock import shorten_object
from kustosz.holds.record import UNDO_APPROVE, UNDO_PROPOSE, key_source, record_of
from kustosz.index.expiry import expiry_of
from kustosz.kinds import KINDS
from kustosz.limits import check_texts
from kustosz.states import RecordingState
from kustosz.storage.base import Lockable, Storage
from kustosz.vault import Vault

log = logging.getLogger(__name__)
JUMP = "clock.jump"
PAGE = 500
LIVE = (RecordingState.STORED, RecordingState.PENDING)
SERVER_CLOCKS = ("server", "restart")  # clock_jumps.clock: the server's own, live or at a start
SLACK_S = 2.0  # the watch's threshold: a frame's readings are known within it


@dataclass(frozen=True)
class Corrected:
    """A correction as its `clock.jump` audit entry gives it (the facts an undo acts on)."""

    correction: int  # its ClockJump id
    jump: int  # the forward jump it corrects
    undoes: tuple[int, ...]
    ahead: tuple[tuple[datetime, datetime, float], ...]
    last_recording: int | None
    at: datetime
    # the correction's readings: the ahead clock's last before it, the right clock's first
    # after (None: an entry written before they were read here)
    before: datetime | None = None
    after: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"correction": self.correction, "jump": self.jump, "undoes": list(self.undoes),
                "ahead": [[a.isoformat(), b.isoformat(), d] for a, b, d in self.ahead],
                "last_recording": self.last_recording}


def _time(text: str) -> datetime:
    got = datetime.fromisoformat(text)
    return got if got.tzinfo else got.replace(tzinfo=UTC)


def corrections(session: Session) -> dict[int, Corrected]:
    """Every correction the audit log recorded, by the forward jump it corrects. The audit
    log, not the `clock_jumps` table: whoever can write the database cannot invent one."""
    found: dict[int, Corrected] = {}
    for details, at in session.execute(select(AuditEntry.details, AuditEntry.at)
                                       .where(AuditEntry.action == JUMP)
                                       .order_by(AuditEntry.seq)):
        try:
            d = json.loads(details or "{}")
            if d.get("corrects") is None or d.get("id") is None:
                continue
            found[int(d["corrects"])] = Corrected(
                int(d["id"]), int(d["corrects"]), tuple(int(i) for i in d.get("undoes", ())),
                tuple((_time(a), _time(b), float(x)) for a, b, x in d.get("ahead", ())),
                None if d.get("last_recording") is None else int(d["last_recording"]), at,
                _time(d["before"]) if d.get("before") else None,
                _time(d["after"]) if d.get("after") else None)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("clock.jump entry not understood: %s", exc)
    return found


def _stamped_by_the_server() -> list[str]:
    return [str(k.name) for k in KINDS.values() if k.server_clock]


def _span(ahead: Sequence[tuple[Any, Any, float]]) -> tuple[Any, Any] | None:
    if not ahead:
        return None
    return min(a for a, _, _ in ahead), max(b for _, b, _ in ahead)


def kept_late(s: Session, undoes: Iterable[int],
              ahead: Sequence[tuple[float, float, float]], slack_s: float = SLACK_S,
              window: tuple[float, float] | None = None) -> int:
    """At a correction: the recordings kept past their end until an undo is approved — those
    the period's jumps moved, the camera segments stamped in its frames, and those whose
    base the intake set from the ahead mark: taken in during the period or in ``window``
    (the right clock's readings between the correction and the watch's reading of it)."""
    moved = select(ClockRebased.recording_id).where(ClockRebased.jump_id.in_(list(undoes)))
    which: list[ColumnElement[bool]] = [Recording.id.in_(moved)]
    span = _span([(a, b, d) for a, b, d in ahead if d > slack_s])
    if span is not None:
        slack = timedelta(seconds=slack_s)
        cameras = select(Source.id).where(Source.kind.in_(_stamped_by_the_server()))
        which.append(and_(Recording.source_id.in_(cameras),
                          Recording.start_at >= datetime.fromtimestamp(span[0], UTC) - slack,
                          Recording.start_at <= datetime.fromtimestamp(span[1], UTC) + slack))
        for lo, hi in [span, *([window] if window is not None else [])]:
            which.append(and_(Recording.retain_from > Recording.start_at,
                              Recording.ingested_at >= datetime.fromtimestamp(lo, UTC) - slack,
                              Recording.ingested_at <= datetime.fromtimestamp(hi, UTC) + slack))
    return int(s.execute(select(func.count()).select_from(Recording)
                         .where(Recording.state.in_(LIVE), or_(*which))).scalar() or 0)


# -- the two steps --------------------------------------------------------------------------

def propose(vault: Vault, jump_id: int, reason: str, by: str, actor: str) -> int:
    """Record the proposal to undo forward jump ``jump_id``; its id (the audit entry's
    sequence number)."""
    check_texts(reason=reason)
    if not reason or not reason.strip():
        raise FieldError("reason", "undoing a clock jump needs a reason",
                         pl="Cofnięcie przeskoku zegara wymaga podania przyczyny.")
    with vault.transaction() as s:
        require_role(s, by, "administrator", "propose undoing a clock jump")
        fixed = _undoable(vault, s, jump_id)
        entry = audit(s, actor, UNDO_PROPOSE, f"clock jump {jump_id}", {
            **fixed.as_json(), "reason": reason.strip(), "by": by})
        return entry.seq


def _undoable(vault: Vault, s: Session, jump_id: int) -> Corrected:
    jump = s.get(ClockJump, jump_id)
    if jump is None:
        raise NotFound(f"no clock jump {jump_id}",
                       pl=f"Nie ma przeskoku zegara nr {jump_id}.")
    if jump.clock not in SERVER_CLOCKS:
        raise InputError(f"jump {jump_id} is a camera's clock, not the server's: it moved no "
                         "retention", pl=f"Przeskok nr {jump_id} dotyczy zegara kamery, nie "
                                         "serwera: nie zmienił okresu przechowywania.")
    if jump.delta_s <= 0:
        raise InputError(f"jump {jump_id} was backward: a jump back keeps material longer "
                         "only, there is nothing to undo",
                         pl=f"Przeskok nr {jump_id} był do tyłu: wydłużył przechowywanie "
                            "najwyżej; nie ma czego cofać.")
    fixed = corrections(s).get(jump_id)
    if fixed is None:
        raise InputError(f"jump {jump_id} was not corrected: the clock never returned to the "
                         "time it showed before it, so nothing shows it was wrong",
                         pl=f"Przeskoku nr {jump_id} nic nie skorygowało: zegar nie wrócił "
                            "do czasu sprzed niego, więc nic nie wskazuje, że był błędny.")
    record = record_of(vault, s)
    if jump_id in record.undone_jumps():
        raise InputError(f"jump {jump_id} was undone already",
                         pl=f"Przeskok nr {jump_id} został już cofnięty.")
    for seq, d in record.pending_undos().items():
        if int(d.get("jump", -1)) == jump_id:
            raise InputError(f"proposal {seq} already asks for it; it waits for approval",
                             pl=f"Propozycja nr {seq} już o to wnioskuje i czeka na "
                                "zatwierdzenie.")
    return fixed


def approve(vault: Vault, proposal: int, by: str, actor: str,
            store: Storage | None = None) -> dict[str, Any]:
    """The second person's approval: put back what the period's jumps moved, count the
    ahead period's camera segments from their true time, re-date the objects, record it.
    ``store``: the store as the re-dating identity sees it (an object store: required)."""
    with vault.reading() as s:
        require_role(s, by, "approver", "approve undoing a clock jump")
        record = record_of(vault, s)
        details = record.undo_proposals.get(proposal)
        if details is None:
            raise NotFound(f"no proposal {proposal} to undo a clock jump",
                           pl=f"Nie ma propozycji cofnięcia przeskoku zegara nr {proposal}.")
        if proposal in record.undo_approved:
            raise InputError(f"proposal {proposal} was approved already",
                             pl=f"Propozycja nr {proposal} została już zatwierdzona.")
        jump_id = int(details["jump"])
        if jump_id in record.undone_jumps():
            raise InputError(f"jump {jump_id} was undone already",
                             pl=f"Przeskok nr {jump_id} został już cofnięty.")
        fixed = corrections(s).get(jump_id)
    if by == details.get("by"):
        raise FieldError("by", f"{by} proposed it; another person must approve it",
                         pl=f"Cofnięcie zaproponował(a) {by}; zatwierdzić je musi inna osoba.")
    if fixed is None:  # the proposal was checked; the log cannot lose an entry unnoticed
        raise InputError(f"jump {jump_id} has no correction in the audit log",
                         pl=f"Dziennik zdarzeń nie zawiera korekty przeskoku nr {jump_id}.")
    if store is None:
        if vault.config.s3 is not None:
            raise FieldError("credentials", "the object store's retention is re-dated with "
                             "the re-dating identity's credentials: give --credentials FILE",
                             pl="Okres przechowywania w magazynie obiektów skraca tożsamość "
                                "do skracania okresów: podaj --credentials PLIK.")
        store = vault.storage
    undo = _Undo(vault, fixed, store)
    restored = undo.ahead_pass()
    restored += undo.restore_pass()
    recounted_intake = undo.intake_pass()
    last = fixed.last_recording if fixed.last_recording is not None else 0
    main = [i for i in undo.ids if i <= last]
    done = {"proposal": proposal, "jump": jump_id, "correction": fixed.correction,
            "by": by, "proposed_by": details.get("by"), "restored": restored,
            "recounted": len(undo.ids), "intake": recounted_intake,
            "objects": undo.objects,
            "ahead": [[a.isoformat(), b.isoformat(), d] for a, b, d in fixed.ahead],
            "slack_s": SLACK_S, "sources": sorted(undo.sources),
            # the re-counted segments as the record check finds them: lo..hi, and the few
            # taken in after the correction one by one
            "ids": [min(main), max(main)] if main else [],
            "late": sorted(i for i in undo.ids if i > last)}
    with vault.transaction() as s:
        audit(s, actor, UNDO_APPROVE, f"clock jump {jump_id}", done)
    return done


class _Undo:
    """The approval's work, a page at a time; every change kept under the correction's id
    (`clock_rebased`), so that a run cut short and made again skips what it did."""

    def __init__(self, vault: Vault, fixed: Corrected, store: Storage) -> None:
        self.vault, self.fixed, self.store = vault, fixed, store
        self.lockable = isinstance(store, Lockable)
        self.now = datetime.now(UTC)
        self.ids: set[int] = set()  # camera segments counted from their true time
        self.sources: set[str] = set()  # their keys' sources
        self.objects = 0

    def _moves(self, s: Session, rids: list[int]) -> dict[int, tuple[Any, Any]]:
        """What the period's jumps did to each of ``rids``: the base before the first move and
        the one the last set."""
        out: dict[int, tuple[Any, Any]] = {}
        for rid, before, after in s.execute(
                select(ClockRebased.recording_id, ClockRebased.retain_from_before,
                       ClockRebased.retain_from_after)
                .where(ClockRebased.jump_id.in_(self.fixed.undoes),
                       ClockRebased.recording_id.in_(rids))
                .order_by(ClockRebased.id)):
            out[rid] = (out[rid][0] if rid in out else before, after)
        return out

    def _done(self, s: Session, rids: list[int]) -> set[int]:
        return set(s.execute(select(ClockRebased.recording_id).where(
            ClockRebased.jump_id == self.fixed.correction,
            ClockRebased.recording_id.in_(rids))).scalars())

    def _apply(self, s: Session, sources: dict[int, Source],
               changes: list[tuple[Any, Any, Any]]) -> None:
        """``changes``: (row, base before, base after); the index, the kept moves, the
        objects."""
        if not changes:
            return
        params = []
        for row, was, base in changes:
            try:
                end = expiry_of(sources[row.source_id], base or row.start_at, self.vault.policy)
            except ConfigError:
                end = None
            params.append({"rid": row.id, "base": base, "exp": end, "was": was,
                           "key": row.storage_key, "version": row.version_id})
        table = Recording.__table__
        s.execute(update(table).where(table.c.id == bindparam("rid"))
                  .values(retain_from=bindparam("base"), expires_at=bindparam("exp")),
                  [{"rid": p["rid"], "base": p["base"], "exp": p["exp"]} for p in params])
        s.add_all(ClockRebased(jump_id=self.fixed.correction, recording_id=p["rid"],
                               retain_from_before=p["was"], retain_from_after=p["base"])
                  for p in params)
        if self.lockable:
            for p in params:
                if p["exp"] is not None:
                    self.objects += shorten_object(self.store, p["key"], p["version"],
                                                   p["exp"], self.now)

    def ahead_pass(self) -> int:
        """The camera segments the clock stamped in the ahead period's frames, taken in
        before the correction (or stamped later than they were taken in: by the ahead clock,
        taken in after it): from their stamp less how far ahead their frame was. Returns how
        many of them also had a jump's move put back."""
        frames = [(a, b, d) for a, b, d in self.fixed.ahead if abs(d) > SLACK_S]
        span = _span(frames)
        if span is None:
            return 0
        slack = timedelta(seconds=SLACK_S)
        last = self.fixed.last_recording
        restored, after = 0, 0
        while True:
            with self.vault.transaction() as s:
                sources = {src.id: src for src in s.execute(select(Source)).scalars()}
                kinds = _stamped_by_the_server()
                cameras = [sid for sid, src in sources.items() if src.kind in kinds]
                page = s.execute(select(
                    Recording.id, Recording.source_id, Recording.start_at,
                    Recording.retain_from, Recording.storage_key, Recording.version_id,
                    Recording.ingested_at)
                    .where(Recording.id > after, Recording.source_id.in_(cameras),
                           Recording.state.in_(LIVE), Recording.start_at >= span[0] - slack,
                           Recording.start_at <= span[1] + slack)
                    .order_by(Recording.id).limit(PAGE)).all()
                if not page:
                    return restored
                rids = [row.id for row in page]
                moves, done = self._moves(s, rids), self._done(s, rids)
                changes = []
                for row in page:
                    start = _utc(row.start_at)
                    ahead = [d for a, b, d in frames if a - slack <= start <= b + slack]
                    # taken in before the correction, or after it but stamped later than
                    # taken in (by the ahead clock); a segment the right clock stamped after
                    # the correction, at a time the ahead clock showed too, is neither
                    if not ahead or not ((last is not None and row.id <= last)
                                         or start > _utc(row.ingested_at) + slack):
                        continue
                    self.ids.add(row.id)
                    self.sources.add(key_source(row.storage_key))
                    if row.id in done:
                        continue
                    base = row.retain_from
                    if row.id in moves:
                        first, set_to = moves[row.id]
                        if not _same(base, set_to):
                            continue  # changed since the jump moved it: the later change wins
                        base, restored = first, restored + 1
                    # Counted back from the stamp, or from a later base the watch gave; never
                    # from an earlier one, which no jump sets (an edit: counted back once).
                    # The frames may overlap (a jump back within the period): the least.
                    new = max(start, _utc(base or start)) - timedelta(seconds=min(ahead))
                    changes.append((row, row.retain_from, new))
                self._apply(s, sources, changes)
            after = page[-1].id

    def _intake_ahead(self, row_id: int, ingested: datetime) -> float | None:
        """How far the high-water mark was ahead of the restored time line when a row was
        taken in, if it was: taken in during the ahead period (its intake time a reading of
        one of the period's frames), or after the correction but before the watch read it
        (a reading of the right clock within the correction's interval). The intake counted
        such a row's lag from that mark (kustosz.clock.watch lag_for: the clock taken never
        to be ahead), which the approved undo says was ahead by at least the frame's own
        amount. None: taken in when the mark was right."""
        frames = [(a, b, d) for a, b, d in self.fixed.ahead if d > SLACK_S]
        if not frames:
            return None
        slack = timedelta(seconds=SLACK_S)
        at = _utc(ingested)
        during = [d for a, b, d in frames if a - slack <= at <= b + slack]
        if during:
            return min(during)
        fixed, last = self.fixed, self.fixed.last_recording
        if fixed.before is None or fixed.after is None or last is None or row_id > last:
            return None
        # the interval between the watch's last reading of the ahead clock and its first of
        # the right one: the ahead clock's last frame ends where that clock stood then
        interval = max(timedelta(0), frames[-1][1] - fixed.before)
        if fixed.after - interval - slack <= at <= fixed.after + slack:
            return frames[-1][2]
        return None

    @staticmethod
    def _less(start: datetime, base: datetime | None, ahead: float | None) -> datetime | None:
        """``base`` less how far the mark was ahead, never before ``start`` (the row's own
        time; only the camera segments the ahead clock stamped count from earlier)."""
        if base is None or ahead is None:
            return base
        less = _utc(base) - timedelta(seconds=ahead)
        return less if less > _utc(start) + timedelta(milliseconds=1) else None

    def intake_pass(self) -> int:
        """Rows of every kind whose retention base the intake set later than their own time
        while the mark was ahead (and no jump moved since): counted from as much earlier,
        never before their own time. Returns how many."""
        frames = [(a, b, d) for a, b, d in self.fixed.ahead if d > SLACK_S]
        span = _span(frames)
        if span is None:
            return 0
        slack = timedelta(seconds=SLACK_S)
        ends = [span[1]] + ([self.fixed.after] if self.fixed.after is not None else [])
        lo, hi = min(span[0], *ends) - slack, max(ends) + slack
        n, after = 0, 0
        while True:
            with self.vault.transaction() as s:
                sources = {src.id: src for src in s.execute(select(Source)).scalars()}
                page = s.execute(select(
                    Recording.id, Recording.source_id, Recording.start_at,
                    Recording.retain_from, Recording.storage_key, Recording.version_id,
                    Recording.ingested_at)
                    .where(Recording.id > after, Recording.state.in_(LIVE),
                           Recording.retain_from.is_not(None),
                           Recording.ingested_at >= lo, Recording.ingested_at <= hi)
                    .order_by(Recording.id).limit(PAGE)).all()
                if not page:
                    return n
                rids = [row.id for row in page]
                moves, done = self._moves(s, rids), self._done(s, rids)
                changes = []
                for row in page:
                    if row.id in done or row.id in self.ids or row.id in moves:
                        continue  # counted already, or the restore put back its base
                    ahead = self._intake_ahead(row.id, row.ingested_at)
                    if ahead is None or _utc(row.retain_from) <= _utc(row.start_at):
                        continue
                    changes.append((row, row.retain_from,
                                    self._less(row.start_at, row.retain_from, ahead)))
                n += len(changes)
                self._apply(s, sources, changes)
            after = page[-1].id

    def restore_pass(self) -> int:
        """Every other recording the period's jumps moved gets its base back, where it still
        holds the value the jump set. Returns how many."""
        n, after = 0, 0
        while True:
            with self.vault.transaction() as s:
                sources = {src.id: src for src in s.execute(select(Source)).scalars()}
                rids = list(s.execute(
                    select(ClockRebased.recording_id).distinct()
                    .where(ClockRebased.jump_id.in_(self.fixed.undoes),
                           ClockRebased.recording_id > after)
                    .order_by(ClockRebased.recording_id).limit(PAGE)).scalars())
                if not rids:
                    return n
                moves, done = self._moves(s, rids), self._done(s, rids)
                changes = []
                for row in s.execute(select(
                        Recording.id, Recording.source_id, Recording.start_at,
                        Recording.retain_from, Recording.storage_key, Recording.version_id,
                        Recording.ingested_at)
                        .where(Recording.id.in_(rids), Recording.state.in_(LIVE))):
                    if row.id in done or row.id in self.ids:
                        continue
                    first, set_to = moves[row.id]
                    if _same(row.retain_from, set_to):
                        # the base before the jump, itself from the intake while ahead
                        first = self._less(row.start_at, first,
                                           self._intake_ahead(row.id, row.ingested_at))
                        changes.append((row, row.retain_from, first))
                n += len(changes)
                self._apply(s, sources, changes)
            after = rids[-1]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _same(a: datetime | None, b: datetime | None) -> bool:
    """The same base as the database gives it back (a millisecond: the types' rounding)."""
    if a is None or b is None:
        return a is b
    return abs(_utc(a) - _utc(b)) < timedelta(milliseconds=1)

