"""What went with a recording's row by `ON DELETE CASCADE` / `SET NULL`, done explicitly where
the index is partitioned (PostgreSQL after migration 0062, issue 68 item 3).

A foreign key to a partitioned table must name its whole unique key, `(id, start_at)`, and
neither `DETACH` nor `DROP` of a partition cascades; so 0062 dropped the five keys that
referenced `recordings.id`, and every path that removes recording rows calls `drop_dependents`
in the same transaction, before it removes them: a call's numbers, a mail message's or an
event's row are as personal as the recording and go with it (R2.2); a message's full-body
link is cleared; a clock correction's row goes. On SQLite, and on a PostgreSQL index not
partitioned, the keys still do it and this does nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, column, delete, table, text, update
from sqlalchemy.orm import Session

# The referencing tables by name (db/calls.py, db/clock.py, db/events.py), not their models:
# db/models.py calls this for an ORM delete, and those modules import it.
CASCADE = ("calls", "mail_messages", "monitoring_events", "clock_rebased")
MAIL = table("mail_messages", column("eml_recording_id"))


def partitioned(session: Session | Connection) -> bool:
    """Whether this database's `recordings` is partitioned (PostgreSQL after 0062)."""
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name != "postgresql":
        return False
    return bool(session.execute(text(
        "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = "
        "to_regclass('recordings')")).scalar_one())


def drop_dependents(session: Session | Connection, ids: Collection[int] | Select[Any]) -> None:
    """Remove (or unlink) the rows that reference the recordings ``ids`` — a list, or a
    SELECT of their ids — as the dropped foreign keys' cascades would. Called by the paths
    that delete rows in bulk; an ORM delete of one row calls it itself (db/models.py)."""
    if not partitioned(session) or (isinstance(ids, Collection) and not ids):
        return
    which: Any = list(ids) if isinstance(ids, Collection) else ids
    for name in CASCADE:
        rows = table(name, column("recording_id"))
        session.execute(delete(rows).where(rows.c.recording_id.in_(which)))
    session.execute(update(MAIL).where(MAIL.c.eml_recording_id.in_(which))
                    .values(eml_recording_id=None))
