"""The rows a stored call recording gets beside it, whichever way it came in (a PBX spool, a
SIPREC session): its call row, the line's counters and one audit entry per batch — written in
the transaction in which the recordings become `stored` (ingest_batch's ``on_stored``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.audit.intake_lists import batch_details
from kustosz.db.bulk import insert_many
from kustosz.db.calls import Call, PhoneIntakeState
from kustosz.db.models import Source
from kustosz.db.tables import table_of
from kustosz.ingest.files import Stored
from kustosz.phone_numbers import Kept


@dataclass(frozen=True)
class NewCall:
    stored: Stored
    start: datetime
    caller: Kept  # phone_numbers.keep: the search key, and the number as written
    callee: Kept
    direction: str
    uniqueid: str
    disposition: str
    no_cdr: bool


def write_calls(s: Session, source: Source, calls: list[NewCall], now: datetime,
                actor: str) -> None:
    insert_many(s, table_of(Call), [  # Core, not ORM bulk: multi-row statements
        {"recording_id": c.stored.id, "source_id": source.id, "start_at": c.start,
         "caller": c.caller.key, "callee": c.callee.key, "caller_written": c.caller.written,
         "callee_written": c.callee.written, "direction": c.direction,
         "uniqueid": c.uniqueid[:64], "disposition": c.disposition[:20], "no_cdr": c.no_cdr}
        for c in calls])
    s.execute(update(PhoneIntakeState).where(PhoneIntakeState.source_id == source.id)
              .values(stored=PhoneIntakeState.stored + len(calls), last_intake_at=now))
    # No numbers or file names here: the audit log outlives the recordings (R2.2).
    entries = {str(c.stored.id): {"start": c.start.isoformat(), "sha256": c.stored.sha256,
                                  "size": c.stored.size, "direction": c.direction,
                                  "no_cdr": c.no_cdr} for c in calls}
    first, last = calls[0].stored.id, calls[-1].stored.id
    subject = f"recording {first}" if len(calls) == 1 else f"recordings {first}..{last}"
    audit(s, actor, "call.ingest", subject,
          {"source": source.name, **batch_details("calls", entries)})
