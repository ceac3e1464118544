"""The folding rule of refusals (issue 64 item 4), apart from the database so that it can be
tested over many cases: what is kept in memory of the refusals not written yet, when they are
due to be written, and when a log line is due.

A refusal belongs to a *key*. A known device (a camera, a line's exchange, a configured SBC
named by its line) is a key of its own: its reasons vary (a CDR line's number), so the row
keeps its last. A refusal from an address anyone can forge (``address`` given) folds by the
device class and the reason — never by the address: the first `SAMPLE` addresses of an
interval and its last are kept by name, the rest only counted (distinct ones up to
`SEEN_MAX`). So however many addresses a flood spoofs, it makes as many keys as there are
classes and reasons, and a key at most one write every `write_s` seconds and one log line
every `LOG_S`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

SAMPLE = 3  # the first addresses of an interval kept by name (the last one is kept too)
SEEN_MAX = 65_536  # distinct addresses counted per key and interval; past it: "at least"
ADDRESS_KEYS = 256  # keys of forgeable senders held at once; past them: OVERFLOW
LOG_S = 60.0  # one log line per key at most this often; the next says how many were held
FOLD = timedelta(hours=1)  # one alert row per key and interval
# Where refusals of forgeable senders go once ADDRESS_KEYS keys are held (their own reason
# is then in the detail): callers pass fixed reasons, so this is a guard, not a case.
OVERFLOW_DEVICE = "nadawcy spoza list (różni)"
OVERFLOW_REASON = "inne odrzucone dane (więcej ich rodzajów naraz, niż Kustosz liczy osobno)"


@dataclass(frozen=True)
class Refusal:
    """One refusal as a caller told it, its text already cleaned."""

    device: str  # a known device's name, or the class of a forgeable sender
    reason_pl: str
    detail: str
    at: datetime
    source: str | None = None
    taken: bool = False
    address: str | None = None  # the forgeable sender, or None: ``device`` is known
    times: int = 1


@dataclass(frozen=True)
class Key:
    device: str
    reason: str  # "" for a known device's own row


def key_of(r: Refusal) -> Key:
    return Key(r.device, r.reason_pl if r.address is not None else "")


@dataclass
class Tally:
    """A key's refusals gathered since its last write."""

    count: int
    first_at: datetime
    last_at: datetime
    reason_pl: str
    detail: str
    source: str | None
    taken: bool
    new_addresses: int = 0  # addresses first seen in this interval since the last write
    sample: list[str] = field(default_factory=list)  # ... the first SAMPLE of them
    last_address: str | None = None
    many: bool = False  # SEEN_MAX reached: new_addresses is a floor


@dataclass
class Slot:
    tally: Tally | None = None
    handed: float | None = None  # monotonic: when its last tally went to be written
    interval_end: datetime | None = None  # its alert row's interval, once a write said it
    seen: set[str] = field(default_factory=set)  # distinct addresses of the interval
    many: bool = False
    logged: float | None = None  # monotonic: its last log line
    held: int = 0  # refusals since then not logged


@dataclass(frozen=True)
class Added:
    """What one refusal asks for: tallies to write now (oldest first) and a log line."""

    due: list[tuple[Key, Tally]]
    log: bool
    held: int  # refusals folded into this log line's silence before it


class Fold:
    """The refusals of one vault in this process. Not thread-safe: its owner holds a lock."""

    def __init__(self) -> None:
        self.slots: dict[Key, Slot] = {}

    def add(self, r: Refusal, mono: float, write_s: float) -> Added:
        key = key_of(r)
        if r.address is not None and key not in self.slots and self._address_keys() >= \
                ADDRESS_KEYS:
            key = Key(OVERFLOW_DEVICE, OVERFLOW_REASON)
            r = Refusal(OVERFLOW_DEVICE, OVERFLOW_REASON, f"{r.reason_pl}: {r.detail}", r.at,
                        None, r.taken, r.address, r.times)
        slot = self.slots.setdefault(key, Slot())
        due: list[tuple[Key, Tally]] = []
        new_interval = slot.interval_end is not None and r.at >= slot.interval_end
        if new_interval:
            if slot.tally is not None:  # the interval's rest first, into its own row
                due.append((key, slot.tally))
                slot.tally = None
            slot.seen.clear()
            slot.many = False
            slot.interval_end = None
        self._fold(slot, r)
        if new_interval or slot.handed is None or mono - slot.handed >= write_s:
            assert slot.tally is not None
            due.append((key, slot.tally))
            slot.tally, slot.handed = None, mono
        if slot.logged is not None and mono - slot.logged < LOG_S:
            slot.held += r.times
            return Added(due, False, 0)
        held, slot.held, slot.logged = slot.held, 0, mono
        return Added(due, True, held)

    def _address_keys(self) -> int:
        return sum(1 for k in self.slots if k.reason)

    def _fold(self, slot: Slot, r: Refusal) -> None:
        t = slot.tally
        if t is None:
            t = slot.tally = Tally(0, r.at, r.at, r.reason_pl, r.detail, r.source, r.taken)
        t.count += r.times
        t.first_at, t.last_at = min(t.first_at, r.at), max(t.last_at, r.at)
        t.reason_pl, t.detail, t.taken = r.reason_pl, r.detail, r.taken
        t.source = r.source if r.source is not None else t.source
        if r.address is None:
            return
        t.last_address = r.address
        if r.address in slot.seen:
            return
        if len(slot.seen) >= SEEN_MAX:
            slot.many = t.many = True
            return
        slot.seen.add(r.address)
        t.new_addresses += 1
        if len(t.sample) < SAMPLE:
            t.sample.append(r.address)

    def due(self, mono: float, write_s: float) -> list[tuple[Key, Tally]]:
        """The tallies whose key was last handed on `write_s` or more ago."""
        out = []
        for key, slot in self.slots.items():
            if slot.tally is not None and (slot.handed is None or mono - slot.handed >= write_s):
                out.append((key, slot.tally))
                slot.tally, slot.handed = None, mono
        return out

    def take_all(self, mono: float) -> list[tuple[Key, Tally]]:
        return self.due(mono, float("-inf"))

    def next_due(self, mono: float, write_s: float) -> float | None:
        """Seconds until the next tally is due (0: now), or None: nothing is waiting."""
        waits = [0.0 if slot.handed is None else max(0.0, slot.handed + write_s - mono)
                 for slot in self.slots.values() if slot.tally is not None]
        return min(waits) if waits else None

    def written(self, key: Key, raised_at: datetime) -> None:
        """A write said which interval its key's alert row covers."""
        slot = self.slots.get(key)
        if slot is not None:
            slot.interval_end = raised_at + FOLD

    def forget(self, now: datetime, mono: float) -> None:
        """Keys with nothing waiting, past their interval and quiet for LOG_S: what the
        next refusal of theirs then starts afresh (a write at once, a log line)."""
        for key in [k for k, s in self.slots.items()
                    if s.tally is None and (s.interval_end is None or now >= s.interval_end)
                    and all(t is None or mono - t >= LOG_S for t in (s.logged, s.handed))]:
            del self.slots[key]
