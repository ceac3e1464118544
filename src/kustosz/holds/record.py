"""The audit log's record of retention (issue 28 item 5): what the sweep checks each victim
against before it deletes, so that editing rows of the database cannot make it delete early.

The database says when each recording expires (`recordings.expires_at`) and which holds
are active; whoever can write it could move both. The audit log is hash-chained (`kustosz
audit verify` finds a changed or removed entry) and written only by the program, so the
sweep derives from it, for each victim:

* the retention it was given: the periods recorded for its source — the override its
  `source.add` entry named, else its kind's periods as the policy entries recorded them
  (`policy.changed`, and the policy of the running process, kustosz.toml). A policy change
  may lengthen a period freely; a shorter period counts only once the two-person shortening
  was approved (`retention.shorten.approve`, kustosz.retention.shorten). Where several
  periods are recorded since the last approval the longest end counts. The period runs from
  the latest of its start in the database, the start its storage key was named with (the
  key names the object: a row pointed elsewhere deletes nothing of it) and its `retain_from`;
  where an approved undo of a wrong-ahead clock (`clock.undo.approve`, kustosz.clock.undo)
  names the victim — its source, its id among those the undo re-counted, the time its key
  names within one of the ahead period's frames — its start and its key's time count from
  as much earlier as that frame's clock was ahead (and `retain_from` as the database has it:
  the undo set it so); without that approval, never earlier than the stamps;
* the holds that cover it: every `hold.place` without a `hold.release`.

A victim whose recorded end is still ahead, or that an open hold of the audit log covers, is
not deleted (`disagreements`); the sweep gives it back to `stored` and raises the alert
`retention_disagrees`.

The entries that matter are few (policy changes, sources, holds, shortenings); they are read
once and then only the entries appended since (`AuditRecord.refresh`), kept on the vault
object for the life of the process.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.db.models import AuditEntry, Recording, Source
from kustosz.errors import ConfigError
from kustosz.holds.coverage import HoldFacts, ItemFacts, covering
from kustosz.policy import Period, Policy
from kustosz.policy.periods import local_day
from kustosz.policy.video_law import capped_end
from kustosz.vault_services import Services


class RecordVault(Protocol):
    """What the record needs of an open vault (kustosz.vault.Vault, a layer up, is one)."""

    @property
    def services(self) -> Services: ...

    @property
    def policy(self) -> Policy: ...


log = logging.getLogger(__name__)

POLICY_CHANGED = "policy.changed"
SOURCE_ADD = "source.add"
HOLD_PLACE, HOLD_RELEASE = "hold.place", "hold.release"
LEGAL_HOLDS = "hold.legal_holds"  # the sweeper's mirror of a hold onto the store's objects
PROPOSE, APPROVE = "retention.shorten.propose", "retention.shorten.approve"
UNDO_PROPOSE, UNDO_APPROVE = "clock.undo.propose", "clock.undo.approve"
ACTIONS = (POLICY_CHANGED, SOURCE_ADD, HOLD_PLACE, HOLD_RELEASE, LEGAL_HOLDS, PROPOSE,
           APPROVE, UNDO_PROPOSE, UNDO_APPROVE)
_HOLD = re.compile(r"\Ahold (\d+)\Z")
# storage_key (ingest/files.py): "<source>/YYYY/MM/DD/HHMMSS-<random><suffix>", UTC. ASCII
# digits only, as PostgreSQL's `\d` reads them (record_days.key_stamp): Python's would also
# take a digit of another script, a time the day's check in SQL cannot see.
_KEY_TIME = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})(\d{2})(\d{2})-[0-9a-f]+", re.ASCII)
PAGE = 500


@dataclass(frozen=True)
class HoldSpec:
    """A hold as its `hold.place` entry describes it."""

    id: int
    sources: tuple[str, ...]
    start_at: datetime | None
    end_at: datetime | None
    items: tuple[int, ...]


@dataclass(frozen=True)
class Undone:
    """An approved undo of a wrong-ahead clock, as its `clock.undo.approve` entry names the
    material it re-counted: the sources, the ids (lo..hi and the few taken in after the
    correction) and the ahead period's frames (first, last reading, how far ahead)."""

    jump: int
    sources: frozenset[str]
    lo: int
    hi: int
    late: frozenset[int]
    frames: tuple[tuple[datetime, datetime, float], ...]
    slack_s: float

    def ahead_s(self, source: str, rid: int, stamped: datetime | None) -> float:
        """How far ahead the clock was that stamped ``stamped`` (the victim's key time), if
        this undo re-counted the victim; 0 otherwise. Frames that overlap: the least."""
        if stamped is None or source not in self.sources or not (
                self.lo <= rid <= self.hi or rid in self.late):
            return 0.0
        slack = timedelta(seconds=self.slack_s + 1)  # a key names the whole second
        found = [d for first, last, d in self.frames if first - slack <= stamped <= last + slack]
        return min(found, default=0.0)


@dataclass
class AuditRecord:
    """What the audit log says about retention, folded entry by entry in order."""

    last_seq: int = 0
    periods: dict[str, tuple[Period, ...]] = field(default_factory=dict)
    policy_seen: bool = False
    overrides: dict[str, str | None] = field(default_factory=dict)
    # keyed by the `hold.place` entry's seq: a hold id may come again (SQLite reuses the
    # highest id once its row is deleted) and its release must not release the lost one
    holds: dict[int, HoldSpec] = field(default_factory=dict)
    released_at: set[int] = field(default_factory=set)  # seqs of placements released
    released: set[int] = field(default_factory=set)  # hold ids with a release entry
    mirrored_on: dict[int, int] = field(default_factory=dict)  # hold -> recording id done to
    mirrored_off: set[int] = field(default_factory=set)
    proposals: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> details
    approved: dict[int, int] = field(default_factory=dict)  # proposal seq -> approval seq
    # clock undos (kustosz.clock.undo): proposals, approvals, what the approvals re-counted
    undo_proposals: dict[int, dict[str, Any]] = field(default_factory=dict)
    undo_approved: dict[int, int] = field(default_factory=dict)
    undone: list[Undone] = field(default_factory=list)

    # -- reading the log ------------------------------------------------------------------
    def refresh(self, session: Session, current: dict[str, Period | None]) -> AuditRecord:
        """Fold the entries appended since the last look. ``current``: the running process's
        policy (kustosz.toml), the baseline where no policy entry exists yet."""
        top = session.execute(select(func.max(AuditEntry.seq))).scalar() or 0
        if top < self.last_seq:  # the log is not the one read before (a restore): start over
            log.warning("the audit log is shorter than when it was last read; read again")
            self.__init__()  # type: ignore[misc]
        rows = session.execute(
            select(AuditEntry.seq, AuditEntry.action, AuditEntry.subject, AuditEntry.details)
            .where(AuditEntry.seq > self.last_seq, AuditEntry.action.in_(ACTIONS))
            .order_by(AuditEntry.seq)).all()
        for seq, action, subject, details in rows:
            try:
                self._fold(seq, action, subject, json.loads(details or "{}"))
            except (ValueError, TypeError, KeyError, ConfigError) as exc:
                log.warning("audit entry %d (%s) not understood: %s", seq, action, exc)
        self.last_seq = max(self.last_seq, top)
        if not self.policy_seen:
            self._baseline(current)
        else:
            for kind, period in current.items():  # a kind first set now, not yet audited
                if period is not None and kind not in self.periods:
                    self.periods[kind] = (period,)
        return self

    def _baseline(self, retention: dict[str, Period | None]) -> None:
        self.periods = {k: (p,) for k, p in retention.items() if p is not None}

    def _fold(self, seq: int, action: str, subject: str, details: dict[str, Any]) -> None:
        if action == POLICY_CHANGED:
            if not self.policy_seen:
                previous = details.get("previous")
                if isinstance(previous, str):
                    self._baseline(_retention(json.loads(previous)))
                self.policy_seen = True
            for kind, period in _retention(details.get("policy", {})).items():
                if period is not None:
                    self._lengthen(kind, period)
        elif action == SOURCE_ADD:
            self.overrides[subject] = details.get("retention")
        elif action == HOLD_PLACE:
            hold = _hold_id(subject)
            self.holds[seq] = HoldSpec(
                hold, tuple(details.get("sources") or ()), _time(details.get("from")),
                _time(details.get("to")), tuple(int(i) for i in details.get("items") or ()))
        elif action == HOLD_RELEASE:
            hold = _hold_id(subject)
            self.released.add(hold)
            placed = [at for at, h in self.holds.items()
                      if h.id == hold and at not in self.released_at]
            if placed:  # the latest placement of that id
                self.released_at.add(max(placed))
        elif action == LEGAL_HOLDS:
            hold = _hold_id(subject)
            if details.get("on"):
                self.mirrored_on[hold] = max(self.mirrored_on.get(hold, 0),
                                             int(details.get("through") or 0))
            else:
                self.mirrored_off.add(hold)
        elif action == PROPOSE:
            self.proposals[seq] = details
        elif action == APPROVE:
            proposal = int(details["proposal"])
            self.approved[proposal] = seq
            self.periods[str(details["kind"])] = (Period.parse(details["period"]),)
        elif action == UNDO_PROPOSE:
            self.undo_proposals[seq] = details
        elif action == UNDO_APPROVE:
            self.undo_approved[int(details["proposal"])] = seq
            ids, late = details.get("ids") or [1, 0], details.get("late") or []
            if details.get("sources"):
                self.undone.append(Undone(
                    int(details["jump"]), frozenset(str(n) for n in details["sources"]),
                    int(ids[0]), int(ids[1]), frozenset(int(i) for i in late),
                    tuple((_time(a), _time(b), float(d))  # type: ignore[misc]
                          for a, b, d in details["ahead"]),
                    float(details.get("slack_s", 2.0))))

    def _lengthen(self, kind: str, period: Period) -> None:
        """A policy's period joins the recorded ones; shorter ones wait for an approval
        (the longest end of those recorded counts, per day of recording)."""
        known = self.periods.get(kind, ())
        if period in known:
            return
        # of the same unit only the longest matters; across units both may
        kept = tuple(p for p in known if p.unit != period.unit or p.count > period.count)
        if any(p.unit == period.unit for p in kept):
            self.periods[kind] = kept
            return
        self.periods[kind] = (*kept, period)

    # -- what the sweep asks ----------------------------------------------------------------
    def open_holds(self) -> list[HoldSpec]:
        return [h for at, h in sorted(self.holds.items()) if at not in self.released_at]

    def periods_of(self, source: str, kind: str) -> tuple[Period, ...]:
        override = self.overrides.get(source)
        if override:
            return (Period.parse(override),)
        return self.periods.get(kind, ())

    def pending_proposals(self) -> dict[int, dict[str, Any]]:
        return {seq: d for seq, d in self.proposals.items() if seq not in self.approved}

    def undone_jumps(self) -> set[int]:
        return {int(self.undo_proposals[p]["jump"]) for p in self.undo_approved
                if p in self.undo_proposals}

    def pending_undos(self) -> dict[int, dict[str, Any]]:
        return {seq: d for seq, d in self.undo_proposals.items()
                if seq not in self.undo_approved}

    def ahead_s(self, source: str, rid: int, stamped: datetime | None) -> float:
        """How far ahead of the true time an approved undo found the clock that stamped a
        recording (0: none did)."""
        return min((u.ahead_s(source, rid, stamped) for u in self.undone
                    if u.ahead_s(source, rid, stamped)), default=0.0)


def _retention(policy: dict[str, Any]) -> dict[str, Period | None]:
    out: dict[str, Period | None] = {}
    for kind, text in (policy.get("retention") or {}).items():
        out[str(kind)] = Period.parse(text) if text else None
    return out


def _hold_id(subject: str) -> int:
    m = _HOLD.match(subject)
    if m is None:
        raise ValueError(f"not a hold: {subject!r}")
    return int(m.group(1))


def _time(text: object) -> datetime | None:
    if not text:
        return None
    got = datetime.fromisoformat(str(text))
    return got if got.tzinfo else got.replace(tzinfo=UTC)


def key_time(key: str) -> datetime | None:
    """The UTC second a storage key was named with (its start), if it has one."""
    m = _KEY_TIME.search(key)
    if m is None:
        return None
    try:
        return datetime(*map(int, m.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:
        return None


def key_source(key: str) -> str:
    """The source a storage key was named for (ingest/files.py `storage_key`)."""
    return key.split("/", 1)[0]


def record_of(vault: RecordVault, session: Session) -> AuditRecord:
    """The vault's record, brought up to date with the entries appended since."""
    record = vault.services.of(AuditRecord, AuditRecord)  # kustosz.vault_services
    return record.refresh(session, dict(vault.policy.retention))


@dataclass(frozen=True)
class Disagreement:
    """A victim the database calls expired and unheld that the audit log says is not."""

    id: int
    storage_key: str
    expires_at: datetime | None  # the database's
    recorded_end: datetime | None  # the audit log's (None: no period recorded at all)
    holds: tuple[int, ...] = ()  # open holds of the audit log covering it

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "expires_at": _iso(self.expires_at),
                "recorded_end": _iso(self.recorded_end), "holds": list(self.holds)}


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def recorded_end(record: AuditRecord, source: Source, start: datetime,
                 retain_from: datetime | None, storage_key: str, tz: ZoneInfo,
                 rid: int | None = None) -> datetime | None:
    """The end of retention the audit log gives a recording: the longest of its recorded
    periods, counted from the latest of the starts it is known by — its stamps counted back
    by as much as an approved clock undo found their clock ahead."""
    periods = record.periods_of(source.name, source.kind)
    if not periods:
        return None
    stamped = key_time(storage_key)
    ahead = timedelta(seconds=record.ahead_s(key_source(storage_key), rid, stamped)) \
        if rid is not None and record.undone else timedelta(0)
    base = max(t for t in (start - ahead, retain_from,
                           stamped - ahead if stamped is not None else None) if t is not None)
    day = local_day(base.astimezone(UTC) if base.tzinfo else base.replace(tzinfo=UTC), tz)
    return max(capped_end(source.kind, p, day, tz) for p in periods)


def _open_hold_facts(record: AuditRecord, session: Session) -> list[HoldFacts]:
    by_name = {name: sid for name, sid in session.execute(select(Source.name, Source.id))}
    return [HoldFacts(h.id, frozenset(by_name[n] for n in h.sources if n in by_name),
                      frozenset(h.items), h.start_at, h.end_at)
            for h in record.open_holds()]


def held_in_record(vault: RecordVault, session: Session, ids: Iterable[int]) -> set[int]:
    """The recordings among ``ids`` that a hold open in the audit log covers (whatever the
    database says of that hold)."""
    holds = _open_hold_facts(record_of(vault, session), session)
    if not holds:
        return set()
    found: set[int] = set()
    wanted = sorted(set(ids))
    for at in range(0, len(wanted), PAGE):
        for row in session.execute(select(Recording.id, Recording.source_id,
                                          Recording.start_at, Recording.end_at)
                                   .where(Recording.id.in_(wanted[at:at + PAGE]))):
            if covering(holds, ItemFacts(row.id, row.source_id, _utc(row.start_at),
                                         _utc(row.end_at))):
                found.add(row.id)
    return found


def disagreements(vault: RecordVault, session: Session, ids: Iterable[int], now: datetime,
                  expiry: bool = True, rows: Iterable[Any] | None = None) -> list[Disagreement]:
    """The victims among ``ids`` the audit log keeps: their recorded end is after ``now``
    (or no period is recorded for them; not asked without ``expiry``: disk pressure deletes
    before the end by design), or an open hold of the audit log covers them. ``rows``: the
    victims' rows already read (`VICTIM_FACTS`), instead of looking ``ids`` up."""
    record = record_of(vault, session)
    tz = vault.policy.timezone
    sources = {s.id: s for s in session.execute(select(Source)).scalars()}
    holds = _open_hold_facts(record, session)
    found: list[Disagreement] = []
    for row in rows if rows is not None else _looked_up(session, ids):
        held = tuple(covering(holds, ItemFacts(row.id, row.source_id, _utc(row.start_at),
                                               _utc(row.end_at))))
        end = recorded_end(record, sources[row.source_id], _utc(row.start_at),
                           _utc(row.retain_from), row.storage_key, tz, row.id)
        if held or (expiry and (end is None or end > now)):
            found.append(Disagreement(row.id, row.storage_key, _utc(row.expires_at), end,
                                      held))
    return found


VICTIM_FACTS = (Recording.id, Recording.source_id, Recording.storage_key, Recording.start_at,
                Recording.end_at, Recording.retain_from, Recording.expires_at)


def _looked_up(session: Session, ids: Iterable[int]) -> Iterator[Any]:
    wanted = sorted(set(ids))
    for at in range(0, len(wanted), PAGE):
        yield from session.execute(select(*VICTIM_FACTS).where(
            Recording.id.in_(wanted[at:at + PAGE])))


def _utc(at: datetime | None) -> Any:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
