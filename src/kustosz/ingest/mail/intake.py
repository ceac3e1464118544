"""Taking in one journalled message, whichever way it came: the SMTP listener
(`listener.MailIntake`) and the IMAP journal-mailbox poller (`imap.ImapIntake`) both hand
the raw bytes to `JournalIntake.take`, so the metadata, the privacy rules and the keeping of
bodies are one code path (R1.9).

Each message becomes one metadata line in the source's open chunk — and an .eml beside it
only when the policy keeps bodies with a recorded legal basis and the message is not
private. `take` returns once the line (and the .eml) is on disk: only then may the mail
server hear "250", or the journal mailbox lose its copy.

A message that comes again — the mail server retries when it did not hear "250" (a crash
between the fsync and the answer), the mailbox still holds one whose removal failed — is
recognised by its Message-ID and the SHA-256 of its bytes and kept once — unless the
database is away when it comes again (issue 27): the index cannot be asked within the time a
sender waits, so the message is kept and acknowledged, counted `duplicate_check_deferred`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.db.events import MailMessage
from kustosz.db.models import Recording, Source
from kustosz.db.outage import is_database_away
from kustosz.fsutil import fsync_file
from kustosz.ingest.chunks.database import DatabaseAway
from kustosz.ingest.chunks.service import Service
from kustosz.ingest.chunks.spool import Chunk, spool_root
from kustosz.ingest.mail.parse import extract, private_reason
from kustosz.ingest.mail.search import index_mail
from kustosz.ingest.mail.settings import MailSettings, mail_source
from kustosz.kinds import KINDS, SourceKind
from kustosz.states import RecordingState
from kustosz.vault import Vault

log = logging.getLogger(__name__)
DELIVERIES = KINDS[SourceKind.MAILBOX].delivery_counter or ""  # counts each message taken
Key = tuple[str, str]  # (Message-ID, SHA-256 of the raw message)
# How long a message waits for the index's answer whether it was journalled before: well
# below a mail server's patience (Postfix waits 10 minutes after the data), and the check
# is a few milliseconds when the database answers at all.
CHECK_WAIT_S = 5.0


def candidates(vault: Vault, source_id: int, key: Key, size: int) -> list[tuple[str, int,
                                                                               str | None]]:
    """The index's part: (storage key, line, version) of stored messages with that
    Message-ID and size."""
    with vault.reading() as s:
        return [(key_, line, version) for key_, line, version in s.execute(
            select(Recording.storage_key, MailMessage.line, Recording.version_id)
            .join(Recording, Recording.id == MailMessage.recording_id)
            .where(MailMessage.source_id == source_id, MailMessage.message_id == key[0],
                   MailMessage.size == size, Recording.state == RecordingState.STORED))]


def in_chunks(vault: Vault, rows: list[tuple[str, int, str | None]], sha: str) -> bool:
    """The storage's part: does one of those chunk lines hold a message of this hash?"""
    for storage_key, line, version in rows:
        try:
            with vault.storage.open(storage_key, version=version) as f:
                for number, raw in enumerate(f, start=1):
                    if number == line:
                        if json.loads(raw).get("sha256") == sha:
                            return True
                        break
        except (OSError, ValueError):
            continue  # a chunk being swept: it cannot hold what is still in the mailbox
    return False


class JournalIntake(Service):
    """What the SMTP and the IMAP intake of a mailbox source share."""

    def __init__(self, vault: Vault, source_name: str) -> None:
        super().__init__(vault, source_name, "mail", index_mail)
        # Full messages are written here first, outside any chunk, then renamed in: a chunk
        # may close while a 50 MB message is still being written.
        self.incoming = spool_root(vault, source_name).with_name(f".{source_name}-incoming")
        # Keys spooled by this run, per chunk, until that chunk is stored (then the index
        # answers): a message that comes again meanwhile is not kept twice.
        self._spooled: dict[Chunk, set[Key]] = {}
        # Keys being taken right now: a copy arriving meanwhile on another connection waits
        # for the first, then finds it spooled.
        self._taking: dict[Key, asyncio.Event] = {}

    def source_of(self, session: Session, name: str) -> Source:
        return mail_source(session, name)

    def settings_of(self, source: Source) -> MailSettings:
        self.settings = MailSettings.of(source.settings).opened(self.vault.secrets)
        return self.settings

    async def start(self) -> None:
        # Full messages staged by a previous run were never acknowledged: the mail server
        # (or the journal mailbox) still has them and they come again.
        await asyncio.to_thread(shutil.rmtree, self.incoming, True)
        await super().start()

    async def describe(self, raw: bytes, env_from: str | None, env_rcpts: list[str] | None,
                       peer: str, now: datetime) -> dict[str, Any]:
        """The message's metadata record with the policy's verdict on privacy."""
        # Parsing a large message takes a while: off the loop, so other clients are served.
        record = await asyncio.to_thread(extract, raw, env_from, env_rcpts, peer, now)
        reason = private_reason(record, self.settings)
        record["private"], record["private_reason"] = bool(reason), reason
        record.pop("private_labels", None)
        return record

    async def keep(self, raw: bytes, record: dict[str, Any], now: datetime,
                   sync: bool = True) -> Chunk:
        """Append the record (and the .eml when bodies are kept and it is not private) to
        the open chunk; with ``sync`` return only once both are durable."""
        staged = None
        if self.settings.keep_bodies and not record["private"]:
            staged = self.incoming / f"{uuid.uuid4().hex}.eml"
            await asyncio.to_thread(_write_durably, staged, raw)
        chunk = self.spool.chunk_for(now)
        if staged is not None:
            os.replace(staged, chunk.folder / staged.name)
            record["eml"] = staged.name
            chunk.dir_dirty = True
        chunk.append(record)
        self._spooled.setdefault(chunk, set()).add((record["message_id"], record["sha256"]))
        self.counters.add(DELIVERIES)
        self.counters.add("metadata_only" if staged is None else "full_messages")
        if record["private"]:
            self.counters.add("private")
        for problem in record["problems"]:
            self.counters.add(problem.split(":")[0])
        if sync:
            await chunk.sync()
        return chunk

    def forget_stored(self) -> None:
        """Drop the keys of chunks that are stored by now: the index answers for them."""
        self._spooled = {c: keys for c, keys in self._spooled.items() if c.folder.exists()}

    async def seen_before(self, key: Key, size: int) -> tuple[bool, Chunk | None]:
        """Whether the message is journalled already, and if so by this run, its open
        chunk: the caller syncs that before it acknowledges, since whoever spooled the
        message may not have reached its own sync."""
        for chunk, keys in self._spooled.items():
            if key in keys:
                return True, chunk
        if self.gate.may_ask():
            try:
                rows = await self.gate.run(candidates, self.vault, self.source_id, key, size,
                                           wait=CHECK_WAIT_S)
            except Exception as exc:
                if not isinstance(exc, DatabaseAway) and not is_database_away(exc):
                    raise  # not the database: the server hears 451 and sends it again
            else:
                if not rows:
                    return False, None
                return await asyncio.to_thread(in_chunks, self.vault, rows, key[1]), None
        # The database is away: the message is kept and acknowledged all the same, since
        # "250" promises what is fsynced in the local spool, and refusing every message for
        # as long as an outage lasts is a larger harm than what it prevents (a message resent
        # after a crash between the fsync and the "250" kept twice, and counted so).
        self.counters.add("duplicate_check_deferred")
        return False, None

    async def take(self, raw: bytes, env_from: str | None, env_rcpts: list[str] | None,
                   peer: str) -> dict[str, Any]:
        """Take in one raw message; returns its record once it is durable in the spool
        (already there when the same message was journalled before: kept once)."""
        now = datetime.now(UTC)
        record = await self.describe(raw, env_from, env_rcpts, peer, now)
        key = (record["message_id"], record["sha256"])
        while (busy := self._taking.get(key)) is not None:
            await busy.wait()
        done = self._taking[key] = asyncio.Event()
        try:
            return await self._take_once(raw, record, key, now, peer)
        finally:
            del self._taking[key]
            done.set()

    async def _take_once(self, raw: bytes, record: dict[str, Any], key: Key, now: datetime,
                         peer: str) -> dict[str, Any]:
        self.forget_stored()
        seen, chunk = await self.seen_before(key, len(raw))
        if seen:
            self.counters.add("duplicates")
            log.info("%s: a message from %s was journalled before (the sender did not hear "
                     "the acknowledgment and sent it again); not kept twice",
                     self.source_name, peer)
            if chunk is not None:
                await chunk.sync()
            record["duplicate"] = True
            return record
        await self.keep(raw, record, now)
        return record


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(data)
        fsync_file(f)
