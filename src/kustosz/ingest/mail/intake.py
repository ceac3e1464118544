"""Taking in one journalled message, whichever way it came: the SMTP listener
(`listener.MailIntake`) and the IMAP journal-mailbox poller (`imap.ImapIntake`) both hand
the raw bytes to `JournalIntake.take`, so the metadata, the privacy rules and the keeping of
bodies are one code path (R1.9).

Each message becomes one metadata line in the source's open chunk — and an .eml beside it
only when the policy keeps bodies with a recorded legal basis and the message is not
private. `take` returns once the line (and the .eml) is on disk: only then may the mail
server hear "250", or the journal mailbox lose its copy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kustosz.errors import InputError
from kustosz.ingest.events.chunks import Chunk, ChunkSpool, spool_root
from kustosz.ingest.events.counters import Counters
from kustosz.ingest.events.service import Service
from kustosz.ingest.mail.parse import extract, private_reason
from kustosz.ingest.mail.search import index_mail
from kustosz.ingest.mail.settings import MailSettings, mail_source
from kustosz.vault import Vault

log = logging.getLogger(__name__)


class JournalIntake(Service):
    """What the SMTP and the IMAP intake of a mailbox source share."""

    def __init__(self, vault: Vault, source_name: str) -> None:
        super().__init__(vault, source_name)
        with vault.reading() as s:
            source = mail_source(s, source_name)
            if not source.enabled:
                raise InputError(f"source {source_name!r} is disabled")
            self.settings = MailSettings.of(source.settings).opened(vault.secrets)
            source_id = source.id
        self.settings.check()
        self.source_id = source_id
        self.counters = Counters(source_id)
        self.spool = ChunkSpool(vault, source_name, "mail", self.settings.chunk, index_mail,
                                self.counters)
        # Full messages are written here first, outside any chunk, then renamed in: a chunk
        # may close while a 50 MB message is still being written.
        self.incoming = spool_root(vault, source_name).with_name(f".{source_name}-incoming")

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
        self.counters.add("messages")
        self.counters.add("metadata_only" if staged is None else "full_messages")
        if record["private"]:
            self.counters.add("private")
        for problem in record["problems"]:
            self.counters.add(problem.split(":")[0])
        if sync:
            await chunk.sync()
        return chunk

    async def take(self, raw: bytes, env_from: str | None, env_rcpts: list[str] | None,
                   peer: str) -> dict[str, Any]:
        """Take in one raw message; returns its record once it is durable in the spool."""
        now = datetime.now(UTC)
        record = await self.describe(raw, env_from, env_rcpts, peer, now)
        await self.keep(raw, record, now)
        return record


def mail_service(vault: Vault, source_name: str) -> JournalIntake:
    """The intake a mailbox source is configured for: the SMTP listener or the IMAP poller."""
    with vault.reading() as s:
        mode = MailSettings.of(mail_source(s, source_name).settings).mode
    # Imported here: each pulls in its own library (aiosmtpd, imap-tools).
    if mode == "imap":
        from kustosz.ingest.mail.imap import ImapIntake

        return ImapIntake(vault, source_name)
    from kustosz.ingest.mail.listener import MailIntake

    return MailIntake(vault, source_name)


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
