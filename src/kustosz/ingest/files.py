"""Taking one file into the vault as material recorded at a given time.

Three steps so that a crash never leaves a half file indexed as whole: (1) an index row in
state `pending` names the storage key; (2) the bytes are written atomically and hashed;
(3) the row becomes `stored` with size, hash and expiry. Recovery removes `pending` rows
and their files; the original is untouched, so the intake can simply be repeated.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kustosz.audit import append as audit
from kustosz.db.models import Recording, Source
from kustosz.errors import InputError
from kustosz.index.expiry import expiry_of
from kustosz.index.sources import get_source
from kustosz.vault import Vault


def storage_key(source: Source, start: datetime, suffix: str) -> str:
    day = start.astimezone(UTC)
    return f"{source.name}/{day:%Y/%m/%d}/{day:%H%M%S}-{uuid.uuid4().hex[:12]}{suffix.lower()}"


def ingest_file(vault: Vault, source_name: str, path: Path, start: datetime,
                end: datetime | None = None, actor: str = "system",
                meta: dict[str, Any] | None = None, audit_it: bool = True) -> Recording:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise InputError("times must carry a zone (e.g. 2026-11-21T10:00:00+01:00)")
    end = end or start
    if end < start:
        raise InputError(f"end {end.isoformat()} is before start {start.isoformat()}")
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    now = datetime.now(UTC)
    with vault.transaction() as s:
        source = get_source(s, source_name)
        if not source.enabled:
            raise InputError(f"source {source_name!r} is disabled")
        expires = expiry_of(source, start, vault.policy)
        rec = Recording(source_id=source.id, kind=source.kind, start_at=start, end_at=end,
                        storage_key=storage_key(source, start, path.suffix), meta=meta or {},
                        state="pending", expires_at=expires, ingested_at=now)
        s.add(rec)
        s.flush()
        rec_id, key = rec.id, rec.storage_key
    try:
        stored = vault.storage.put_file(path, key)
    except BaseException:
        with vault.transaction() as s:
            s.execute(Recording.__table__.delete().where(Recording.id == rec_id))
        raise
    with vault.transaction() as s:
        rec = s.get(Recording, rec_id)
        source = s.get(Source, rec.source_id)
        rec.size, rec.sha256, rec.state = stored.size, stored.sha256, "stored"
        duration = (end - start).total_seconds()
        if duration > source.max_duration_s:
            source.max_duration_s = duration
        if audit_it:
            audit(s, actor, "recording.ingest", f"recording {rec_id}", {
                "source": source.name, "start": start.isoformat(), "end": end.isoformat(),
                "sha256": stored.sha256, "size": stored.size, "file": path.name})
    return rec


def recover_pending(vault: Vault, older_than: datetime | None = None) -> int:
    """Undo intakes a crash interrupted (their originals are still where they came from)."""
    with vault.transaction() as s:
        query = select(Recording).where(Recording.state == "pending")
        if older_than is not None:
            query = query.where(Recording.ingested_at < older_than)
        rows = list(s.execute(query).scalars())
        for rec in rows:
            vault.storage.delete(rec.storage_key)
            s.delete(rec)
    return len(rows)
