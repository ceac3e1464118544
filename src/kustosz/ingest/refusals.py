"""Input from outside that Kustosz cannot read or must refuse — an SBC's recording session, a
camera's answer, a CDR line, a file, a sender not on a listener's list — is an alert naming
the device and the reason, never only a log line (issue 47 item 5), and however many
addresses a flood forges it stays a bounded number of rows, audit entries and log lines
(issue 64 item 4).

One alert row (`input.refused`) per key and hour: the refusals that follow within the hour are
folded into it (its message says how many). A key is a known device — a camera, a line's
exchange, an SBC on a line's list — or, for a sender anyone could forge (``address``), the
class of such senders and the reason: the addresses are counted and the first few and the
last named, never a row each (kustosz.ingest.refusal_fold). `input_refusals` keeps each key's
count for /metrics (`kustosz_input_refused_total`) and its last reason. The audit log has one
entry when a key's alert row opens and one when its hour ends saying how many refusals from
how many addresses (kustosz.ingest.refusal_rows). The log has one line per key a minute, the
next saying how many were not written. The reason is Polish, for the office's staff; the
technical detail follows in English, as the device's own log would say it.

A known device's refusal is written at once, in the caller's thread. A forgeable sender's costs
memory only: a thread of the vault's writes it — the first of its key at once, the rest
folded into one write every `WRITE_S` — so a listener's event loop may call `refused` for
each datagram of a flood, and a flood costs the database a write per key and `WRITE_S`.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
import weakref
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from kustosz.db.models import InputRefusal
from kustosz.ingest import refusal_rows
from kustosz.ingest.refusal_fold import Fold, Key, Refusal, Tally
from kustosz.vault import Vault

log = logging.getLogger(__name__)

WRITE_S = 5.0  # a forgeable sender's key: at most one database write this often
_DEVICE_MAX = 200
_REASON_MAX = 300
_DETAIL_MAX = 300
_ADDRESS_MAX = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean(text: str, limit: int) -> str:
    """Outside text made safe for one line of an alert: control characters (a CR/LF a
    device sent, an ANSI escape) become a space, and it is cut at `limit`."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def refused(vault: Vault, *, device: str, reason_pl: str, detail: str = "",
            source: str | None = None, now: datetime | None = None,
            taken: bool = False, address: str | None = None, times: int = 1) -> None:
    """Record a refusal of `device`'s input (``taken``: not refused, but taken without a
    part it should have had — a recording without its call record).

    ``address``: the sender is only an address anyone could forge (a datagram's source, a
    peer not on a list); ``device`` is then the class of such senders (bounded: "nadawca SIP
    spoza list linii SIPREC", "SBC linii X") and ``reason_pl`` one of a fixed set — they
    fold by the two, the address is only counted and sampled, and the call returns at once
    (the vault's writer thread writes it). ``times``: how many refusals this one call stands
    for (a caller that gathered them already).

    Never raises (the refusal itself is already the caller's answer to the device — a
    database away must not turn it into a crash); the database's trouble is logged and left to
    its own alert."""
    now = now or datetime.now(UTC)
    one = Refusal(clean(device, _DEVICE_MAX), clean(reason_pl, _REASON_MAX),
                  clean(detail, _DETAIL_MAX), now, source, taken,
                  None if address is None else clean(address, _ADDRESS_MAX), max(1, times))
    _writer(vault).add(one)


def flush(vault: Vault, now: datetime | None = None) -> None:
    """Write what is folded in memory and close the intervals that ended (the checks of
    `serve`, a test, the end of the process)."""
    writer = vault.services.get(_Writer)
    if writer is not None:
        writer.flush()
    close_due(vault, now)


def close_due(vault: Vault, now: datetime | None = None) -> None:
    """One audit entry for each key whose hour ended, saying what it folded."""
    try:
        with vault.transaction() as s:
            refusal_rows.close_due(s, now or datetime.now(UTC))
    except (SQLAlchemyError, OSError):
        log.exception("refusals' ended hours not recorded (the database is away?)")


def counts(s: Session) -> dict[int | None, int]:
    """Refusals since each device was first refused, added up by source (None: devices that
    are no source, e.g. an SBC no line names), for /metrics — which names no device: an
    address or a camera's name says where it hangs."""
    return {source_id: int(n) for source_id, n in s.execute(
        select(InputRefusal.source_id, func.sum(InputRefusal.count))
        .group_by(InputRefusal.source_id))}


class _Writer:
    """The refusals of one vault in this process: the fold, and the thread that writes the
    forgeable senders' keys. A service of the vault (kustosz.vault_services): once the vault
    closes, what it still holds is not written."""

    def __init__(self, vault: Vault) -> None:
        self.vault = weakref.ref(vault)
        self.fold = Fold()
        self.lock = threading.Condition()
        self.urgent: list[tuple[Key, Tally]] = []  # due now, for the thread
        self.writing = threading.Lock()  # one batch at a time: a key's writes stay in order
        self.thread: threading.Thread | None = None
        self.tidied = 0.0  # monotonic: when keys past their use were last let go

    def add(self, one: Refusal) -> None:
        mono = time.monotonic()
        with self.lock:
            added = self.fold.add(one, mono, 0.0 if one.address is None else WRITE_S)
            if one.address is not None:
                self.urgent += added.due
                self._wake()
            if len(self.fold.slots) > 64 and mono - self.tidied > 1.0:
                self.fold.forget(one.at, mono)
                self.tidied = mono
        if added.log:
            log.warning("refused input from %s%s: %s%s%s", one.device,
                        f" ({one.address})" if one.address else "", one.reason_pl,
                        f" ({one.detail})" if one.detail else "",
                        f" — and {added.held} more since the last line" if added.held else "")
        if one.address is None:
            with self.writing:
                self._write(added.due)

    def _wake(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="refusals", daemon=True)
            self.thread.start()
        self.lock.notify()

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.urgent:
                    wait = self.fold.next_due(time.monotonic(), WRITE_S)
                    if wait is None or self.current() is None:
                        self.thread = None
                        return
                    if wait <= 0:
                        break
                    self.lock.wait(wait)
            self.flush(pending=False)

    def flush(self, pending: bool = True) -> None:
        """Write what is due (``pending``: all that waits, due or not)."""
        with self.writing:
            with self.lock:
                mono = time.monotonic()
                batch, self.urgent = self.urgent, []
                batch += self.fold.take_all(mono) if pending else self.fold.due(mono, WRITE_S)
            self._write(batch)

    def current(self) -> Vault | None:
        """The vault, while it is open and this is its writer."""
        vault = self.vault()
        return vault if vault is not None and vault.services.get(_Writer) is self else None

    def _write(self, batch: list[tuple[Key, Tally]]) -> None:
        vault = self.current()
        for key, tally in batch:
            if vault is None:
                return
            raised = _write_one(vault, key, tally)
            if raised is not None:
                with self.lock:
                    self.fold.written(key, raised)


def _write_one(vault: Vault, key: Key, tally: Tally) -> datetime | None:
    for attempt in (1, 2):
        try:
            with vault.transaction() as s:
                return refusal_rows.write(s, key, tally, vault.policy.timezone)
        except IntegrityError:  # another thread recorded this key's first refusal first
            if attempt == 2:
                log.exception("refusal from %s not recorded", key.device)
        except (SQLAlchemyError, OSError):
            log.exception("refusal from %s not recorded (the database is away?)", key.device)
            return None
    return None


_live: weakref.WeakSet[_Writer] = weakref.WeakSet()  # for the end of the process only
_live_lock = threading.Lock()


def _writer(vault: Vault) -> _Writer:
    def make() -> _Writer:
        writer = _Writer(vault)
        with _live_lock:
            _live.add(writer)
        return writer
    return vault.services.of(_Writer, make)


@atexit.register
def _flush_all() -> None:
    """What a process still holds in memory is written as it ends (an open vault's)."""
    with _live_lock:
        writers = [w for w in _live if w.current() is not None]
    for writer in writers:
        try:
            writer.flush()
        except Exception:  # the end of the process: nothing left to tell it to
            log.exception("refusals not written at exit")
