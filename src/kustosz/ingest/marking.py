"""Marking taken-in material stored: the step both the intake (ingest/files.py) and the
uploader of the spool's backlog (ingest/upload_queue.py) end with, in one place below both, so
that neither imports the other back (tests/test_import_cycles.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kustosz.db.models import Recording, Source
from kustosz.holds.object_lock import held_ids, legal_hold_store, set_holds
from kustosz.states import RecordingState
from kustosz.vault import Vault


def _hold_late(vault: Vault, session: Session, stored: list[tuple[int, str, str | None]],
               held: set[int]) -> None:
    """A hold placed while the objects were being written found no object to set its legal
    hold on: set it now, in the transaction that marks them stored (a hold committed later
    finds them, holds/object_lock.py `hold_placed`)."""
    late = held_ids(session, [rid for rid, _k, _v in stored]) - held
    store = legal_hold_store(vault) if late else None
    if store is not None:  # else kustosz sweeper sets them (issue 28 item 5, object_lock.py)
        set_holds(store, [row for row in stored if row[0] in late], True)


def _mark_stored(session: Session, rec: Recording) -> None:
    source = session.get(Source, rec.source_id)
    rec.state = RecordingState.STORED
    duration = (rec.end_at - rec.start_at).total_seconds()
    if duration > source.max_duration_s:
        source.max_duration_s = duration
