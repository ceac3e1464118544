"""The state of a mailbox or endpoint source, for `kustosz mail status` / `events status`
(and the web pages later): settings, counters, what is stored and what waits in the spool."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kustosz.db.events import MailMessage, MonitoringEvent
from kustosz.db.models import Recording, Source
from kustosz.ingest.chunks.counters import counter_times, last_update, read_counts
from kustosz.ingest.chunks.spool import CHUNK_FILE, spool_root
from kustosz.ingest.mail.settings import redacted
from kustosz.kinds import SourceKind
from kustosz.states import RecordingState
from kustosz.vault import Vault

HIDDEN = {"token_sha256"}
IMAP_FAILURES = ("imap_connect_failed", "imap_login_failed")


def source_status(vault: Vault, session: Session, source: Source) -> dict[str, Any]:
    table = MailMessage if source.kind == SourceKind.MAILBOX else MonitoringEvent
    chunks, newest = session.execute(
        select(func.count(), func.max(Recording.end_at)).where(
            Recording.source_id == source.id, Recording.state == RecordingState.STORED,
            Recording.meta["format"].as_string() == "jsonl")).one()
    indexed = session.execute(select(func.count()).select_from(table)
                              .where(table.source_id == source.id)).scalar_one()
    waiting = 0
    root = spool_root(vault, source.name)
    if root.exists():
        for path in root.glob(f"*/{CHUNK_FILE}"):
            with path.open("rb") as f:
                waiting += sum(chunk.count(b"\n") for chunk in iter(lambda f=f: f.read(1 << 20),
                                                                    b""))
    st = {"name": source.name, "kind": source.kind, "enabled": source.enabled,
          "settings": redacted({k: v for k, v in source.settings.items() if k not in HIDDEN}),
          "counters": read_counts(session, source.id),
          "counters_updated_at": last_update(session, source.id),
          "chunks_stored": chunks, "newest_chunk_end": newest, "indexed": indexed,
          "waiting_in_spool": waiting}
    if source.kind == SourceKind.MAILBOX:
        st["mode"] = "imap" if source.settings.get("imap_host") else "smtp"
        if st["mode"] == "imap":
            times = counter_times(session, source.id)
            failures = [times[n] for n in IMAP_FAILURES if n in times]
            st["last_poll"] = times.get("imap_polls")
            st["last_failure"] = max(failures) if failures else None
    return st
