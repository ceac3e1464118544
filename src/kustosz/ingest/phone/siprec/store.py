"""A finished recording session taken into the vault like every call: its WAV through
ingest_batch, its call row, the line's counters and the audit entry in the same transaction
(calls_written), and then its folder removed. A folder whose call is already in the index (a
crash between the commit and the removal) is only removed: the call row's `uniqueid` is the
folder's name."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.calls import Call
from kustosz.errors import KustoszError
from kustosz.index.sources import get_source
from kustosz.ingest.files import Item, Stored, ingest_batch
from kustosz.ingest.phone.calls_written import NewCall, write_calls
from kustosz.ingest.phone.siprec.alerts import raise_event
from kustosz.ingest.phone.siprec.session import (
    RECORDING,
    SessionFolder,
    finish,
    heard_for,
    leftovers,
    packets_in,
)
from kustosz.phone_numbers import keep
from kustosz.phones.settings import PhoneSettings
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger(__name__)


def _already(vault: Vault, source_id: int, uniqueid: str) -> bool:
    with vault.reading() as s:
        return s.execute(select(Call.recording_id).where(
            Call.source_id == source_id, Call.uniqueid == uniqueid)).first() is not None


def _end_of(folder: SessionFolder) -> datetime:
    """A session's end where it was not written (a crash): its start plus the sound its
    streams' files hold (their own steady time line: a wall clock stepped meanwhile does not
    move it, issue 64 item 7); without any sound, its last byte's time."""
    heard = heard_for(folder)
    if heard is not None:
        return folder.facts().start_at + timedelta(seconds=heard)
    times = [p.stat().st_mtime for p in folder.path.glob("stream-*.raw")]
    times.append((folder.path / "session.json").stat().st_mtime)
    return datetime.fromtimestamp(max(times), UTC)


def store_session(vault: Vault, folder: SessionFolder, *, crashed: bool = False) -> int | None:
    """The session's call in the index (its recording id), its folder removed. KustoszError
    (the store away, the disk refusing): the folder stays and is tried again."""
    facts = folder.facts()
    if facts.end is None or crashed:
        facts.end = facts.end or _end_of(folder).isoformat()
        facts.ended = facts.ended or "crash"
        if not facts.received:  # the count was in the killed process's memory
            facts.received = packets_in(folder)
        folder.save(facts)
    uniqueid = folder.path.name
    with vault.reading() as s:
        source = get_source(s, facts.line)
    if _already(vault, source.id, uniqueid):
        shutil.rmtree(folder.path, ignore_errors=True)
        return None
    wav = folder.path / RECORDING
    if not wav.is_file():
        wav = finish(folder)
    cfg = PhoneSettings.of(source.settings)
    maxd = cfg.extension_max_digits
    start, end = facts.start_at, max(facts.start_at, datetime.fromisoformat(facts.end))
    now = datetime.now(UTC)
    silent = sum(1 for p in folder.path.glob("stream-*.raw") if p.stat().st_size) == 0
    meta = {"intake": facts.intake, "src_session": facts.src_session, "call_ids": facts.call_ids,
            "caller_raw": facts.caller, "callee_raw": facts.callee,
            "caller_name": facts.caller_name, "callee_name": facts.callee_name,
            "direction": facts.direction, "ended": facts.ended, "lost": facts.lost,
            "unexpected": facts.unexpected, "received": facts.received, "no_sound": silent,
            "channels": {"left": "caller", "right": "callee"},
            # the wall clock stepped during the call: its end is its start plus its length
            **({"wall_clock_step_s": facts.clock_step} if facts.clock_step else {}),
            "streams": [{"label": st.label, "codec": st.codec, "side": st.side,
                         "participant": st.participant} for st in facts.streams]}
    if facts.unheard:  # what the port carried while nobody read it (capture/away.py)
        meta["unheard"] = facts.unheard

    def on_stored(s: Session, done: list[Stored]) -> None:
        write_calls(s, source, [NewCall(
            d, start, keep(facts.caller, internal_max_digits=maxd),
            keep(facts.callee, internal_max_digits=maxd), facts.direction,
            uniqueid, "", False) for d in done], now, actor)

    actor = facts.intake  # "siprec" or "capture": the part of serve that recorded it
    (result,) = ingest_batch(vault, source.name, [Item(wav, start, end, meta)], actor=actor,
                             audit_it=False, on_stored=on_stored, allow_disabled=True)
    if isinstance(result, KustoszError):
        raise result
    if isinstance(result, OSError):
        raise KustoszError(f"the call of session {uniqueid} was not stored: {result}",
                           pl=f"Rozmowa z sesji {uniqueid} nie została zapisana: {result}.")
    shutil.rmtree(folder.path, ignore_errors=True)
    log.info("phone line %s: call recorded (%s) stored as recording %s (%s)",
             source.name, facts.intake, result.id, facts.ended)
    return result.id


def store_leftovers(vault: Vault, root: Path) -> int:
    """At start: the sessions a killed run left, stored with what they received."""
    done = 0
    for folder in leftovers(root):
        try:
            before = folder.facts()  # the folder is gone once stored
            end = before.end or _end_of(folder).isoformat()
            if store_session(vault, folder, crashed=True) is not None:
                done += 1
                if before.ended in ("", "crash"):  # cut by a stop serve did not make: told
                    _tell_cut(vault, before.line, end)
        except (KustoszError, OSError) as exc:
            log.warning("call %s left by an earlier run (%s) not stored yet: %s",
                        folder.path.name, root.name, exc)
    return done


def _tell_cut(vault: Vault, line: str, end: str) -> None:
    at = datetime.fromisoformat(end).astimezone(vault.policy.timezone)
    raise_event(vault, line, AlertRow.PHONE_LOSS,
                f"rozmowa z {at:%d.%m.%Y} przerwana o {at:%H:%M:%S} nieoczekiwanym "
                "zatrzymaniem usługi Kustosz; zapisano to, co dotarło do tej chwili")

