"""What a phone source's intake remembers of its spool: the line's intake state, and which
spool paths were dealt with (by their keyed hash; R1.5: the spool itself is the PBX's)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kustosz.db.calls import PhoneIntakeState, PhoneSpoolItem
from kustosz.states import SpoolOutcome
from kustosz.vault import Vault

log = logging.getLogger(__name__)


# -- the line's intake state ---------------------------------------------------------------
def ensure_state(vault: Vault, source_id: int) -> None:
    with vault.reading() as s:
        if s.get(PhoneIntakeState, source_id) is not None:
            return
    try:
        with vault.transaction() as s:
            s.add(PhoneIntakeState(source_id=source_id, cdr_offset=0, cdr_lines=0, stored=0,
                                   out_of_scope=0,
                                   skipped=0, waiting=0))
    except IntegrityError:
        pass  # a concurrent pass created it


# -- the spool -----------------------------------------------------------------------------
def dealt_items(vault: Vault, source_id: int, named: Mapping[str, str]
                ) -> dict[str, tuple[str, int, int]]:
    """What the index remembers of the spool paths ``named`` (path: its keyed hash,
    `spool.item_hashes`), by their keyed hash."""
    hashes = list(named.values())
    out: dict[str, tuple[str, int, int]] = {}
    with vault.reading() as s:
        for i in range(0, len(hashes), 500):
            chunk = hashes[i:i + 500]
            for item, outcome, size, mtime in s.execute(
                    select(PhoneSpoolItem.item, PhoneSpoolItem.outcome, PhoneSpoolItem.size,
                           PhoneSpoolItem.mtime_ns)
                    .where(PhoneSpoolItem.source_id == source_id,
                           PhoneSpoolItem.item.in_(chunk))):
                out[item] = (outcome, size, mtime)
    return out


def is_dealt(dealt: dict[str, tuple[str, int, int]], h: str, seen: tuple[int, int]) -> bool:
    """Whether the spool file of keyed hash ``h``, as ``seen`` now, was dealt with."""
    known = dealt.get(h)
    if known is None:
        return False
    outcome, size, mtime = known
    # A skipped file that changed since (the PBX rewrote it) deserves another look.
    return outcome != SpoolOutcome.SKIPPED or (size, mtime) == seen


def forget_skip(s: Session, source_id: int, h: str) -> None:
    """A skipped file that changed is dealt with afresh; only a skip is ever replaced (the
    unique key still refuses a second `stored`)."""
    s.execute(delete(PhoneSpoolItem).where(PhoneSpoolItem.source_id == source_id,
                                           PhoneSpoolItem.item == h,
                                           PhoneSpoolItem.outcome == SpoolOutcome.SKIPPED))


def remove_from_spool(path: Path, seen: tuple[int, int], source: str) -> None:
    """The only write Kustosz makes to a spool, after the copy is committed (R1.5)."""
    try:
        info = os.lstat(path)
        if (info.st_size, info.st_mtime_ns) != seen:
            log.warning("phone source %s: %s changed after intake; left in the spool",
                        source, path)
            return
        path.unlink()
    except OSError as exc:
        log.warning("phone source %s: could not remove %s from the spool: %s", source, path, exc)
