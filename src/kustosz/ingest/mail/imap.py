"""The IMAP journal-mailbox poller of one mailbox source: for offices whose mail is hosted
(Exchange Online and the like) and cannot point journaling at an SMTP listener, the mail
server delivers the journal to a mailbox and Kustosz pulls from it.

Each round: list what waits in the folder, fetch each message (raw bytes), take it in
through the same `JournalIntake` code path as SMTP (metadata only by default, the privacy
rules, bodies only with a legal basis), make the chunk durable, and only then remove the
messages from the mailbox. So a crash loses nothing: what was not yet durable is still on
the server. What was durable but not yet removed comes again in the next round — it is
recognised by its Message-ID and the SHA-256 of its bytes and not kept twice.

A failing server is logged once per outage (never with the password), counted, and retried
with backoff; the service keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from kustosz.errors import InputError
from kustosz.ingest.chunks.spool import Chunk
from kustosz.ingest.mail.imap_box import ImapFailure, JournalMailbox
from kustosz.ingest.mail.intake import JournalIntake
from kustosz.vault import Vault

log = logging.getLogger(__name__)
BATCH = 200  # messages per round; a full round is followed at once by the next
MAX_BACKOFF_S = 900.0
STOP_WAIT_S = 30.0  # how long stop() lets a round in progress finish


@dataclass(frozen=True)
class Round:
    ok: bool
    taken: int = 0  # messages removed from the mailbox (duplicates included)
    more: bool = False  # the folder held more than one round takes


def backoff(poll_s: float, failures: int) -> float:
    """Seconds before the next attempt after ``failures`` failed rounds in a row."""
    return min(poll_s * 2.0 ** max(failures - 1, 0), max(poll_s, MAX_BACKOFF_S))


class ImapIntake(JournalIntake):
    """Pulls a mailbox source's journal from its IMAP mailbox; a `Service` like the SMTP
    listener, so `kustosz serve` and `kustosz mail listen` run either the same way."""

    def __init__(self, vault: Vault, source_name: str) -> None:
        super().__init__(vault, source_name)
        if self.settings.mode != "imap":
            raise InputError(f"mailbox {source_name!r} listens for SMTP; it has no IMAP "
                             "journal mailbox",
                             pl=f"Dziennik poczty „{source_name}” odbiera wiadomości przez SMTP; "
                                "nie ma skrzynki IMAP dziennika poczty.")
        self.peer = f"imap:{self.settings.imap_host}"
        self.box: JournalMailbox | None = None  # kept open between rounds
        self.failures = 0  # failed rounds in a row
        self._failure_kind = ""
        self.last_poll: datetime | None = None
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        self._oversized: set[tuple[str, int]] = set()  # reported once, not every round

    async def _open(self) -> None:
        st = self.settings
        if warning := st.plaintext_warning():
            log.warning("%s: %s", self.source_name, warning)
        self.addresses["imap"] = (st.imap_host, st.imap_port)
        log.info("%s: polling the IMAP journal mailbox %s:%d, folder %s, every %g s (%s)",
                 self.source_name, st.imap_host, st.imap_port, st.imap_folder,
                 st.imap_poll_seconds, st.imap_tls)
        self._poller = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        clean = True
        if self._poller is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._poller), STOP_WAIT_S)
            except TimeoutError:
                # A round stuck on the network: what it spooled is durable or is taken in
                # at close; what it did not remove comes again next time (and is deduped).
                clean = False
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
            except Exception:
                pass  # logged by the poller
        if clean:
            await asyncio.to_thread(self._drop)
        await super().stop()

    # -- the rounds ------------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        interval = float(self.settings.imap_poll_seconds)
        while not self._stopping:
            try:
                result = await self.poll()
            except Exception:
                # The disk or a bug, not the server: the messages stay in the mailbox.
                log.exception("%s: an IMAP round failed; its messages stay in the journal "
                              "mailbox and are taken in a later round", self.source_name)
                self.counters.add("internal_errors")
                await asyncio.to_thread(self._drop)
                self.failures += 1
                result = Round(False)
            if self._stopping:
                break
            if result.ok and result.more:
                continue
            delay = interval if result.ok else backoff(interval, self.failures)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def poll(self) -> Round:
        """One round. A failing server is logged, counted and reported, never raised."""
        async with self._lock:
            try:
                result = await self._round()
            except ImapFailure as exc:
                await asyncio.to_thread(self._drop)
                self._failed(exc)
                return Round(False)
        if self.failures:
            log.info("%s: the IMAP journal mailbox answers again after %d failed "
                     "attempt(s)", self.source_name, self.failures)
        self.failures, self._failure_kind = 0, ""
        return result

    async def _round(self) -> Round:
        st = self.settings
        self.forget_stored()
        box = await asyncio.to_thread(self._connected)
        listing = await asyncio.to_thread(box.listing, BATCH + 1)
        more = len(listing) > BATCH
        done: list[str] = []
        touched: list[Chunk] = []
        for uid, size in listing[:BATCH]:
            if self._stopping:
                break
            if size > st.max_message_bytes:
                self._too_large(uid, size)
                continue
            raw = await asyncio.to_thread(box.fetch, uid)
            if raw is None:
                continue  # removed by someone else meanwhile
            now = datetime.now(UTC)
            record = await self.describe(raw, None, None, self.peer, now)
            key = (record["message_id"], record["sha256"])
            seen, chunk = await self.seen_before(key, len(raw))
            if seen:
                self.counters.add("imap_duplicates")
                log.info("%s: IMAP message UID %s was already journalled (a previous round "
                         "ended before removing it); not kept twice", self.source_name, uid)
            else:
                chunk = await self.keep(raw, record, now, sync=False)
            if chunk is not None and chunk not in touched:
                touched.append(chunk)
            done.append(uid)
        # Only now may the mailbox lose its copies: every line (and .eml) of this round is
        # fsynced first. Removing earlier would lose a message to a crash before the fsync;
        # removing later (when the chunk is stored, up to a day on) would leave the office's
        # correspondence, bodies included, on the mail server for that long — and the spool
        # is already what a restart takes in (DESIGN invariant 5).
        for open_chunk in touched:
            await open_chunk.sync()
        await asyncio.to_thread(box.remove, done)
        self.counters.add("imap_polls")
        self.last_poll = datetime.now(UTC)
        return Round(True, len(done), more)

    def _too_large(self, uid: str, size: int) -> None:
        if (uid, size) in self._oversized:
            return
        self._oversized.add((uid, size))
        self.counters.add("too_large")
        log.warning("%s: IMAP message UID %s has %d bytes, over the limit of %d; it stays in "
                    "the journal mailbox (raise --max-message-bytes to take it)",
                    self.source_name, uid, size, self.settings.max_message_bytes)

    # -- the connection --------------------------------------------------------------------
    def _connected(self) -> JournalMailbox:
        if self.box is not None and self.box.alive():
            return self.box
        self._drop()
        box = JournalMailbox(self.settings)
        box.connect()
        self.box = box
        return box

    def _drop(self) -> None:
        box, self.box = self.box, None
        if box is not None:
            box.close()

    def _failed(self, exc: ImapFailure) -> None:
        st = self.settings
        self.failures += 1
        self.counters.add(f"imap_{exc.kind}_failed")
        what = ("refused the login of user " + repr(st.imap_user) if exc.kind == "login"
                else "cannot be used")
        # Once per outage (and again if its cause changes), not once per retry: a server
        # down for a night must not fill the log.
        level = logging.WARNING if (self.failures == 1 or exc.kind != self._failure_kind) \
            else logging.DEBUG
        self._failure_kind = exc.kind
        log.log(level, "%s: the IMAP journal mailbox %s:%d %s (%s); retrying with backoff "
                "(next in %.0f s), the messages wait there meanwhile", self.source_name,
                st.imap_host, st.imap_port, what, exc.text,
                backoff(float(st.imap_poll_seconds), self.failures))
