"""The SMTP journal listener of one mailbox source (aiosmtpd).

The office's mail server sends a copy of every message to the journal address (Postfix
``always_bcc``, Exchange journaling). Only the configured mail servers may connect; STARTTLS
is offered when a certificate is configured. Each message is taken in by
`JournalIntake.take` (metadata line, .eml only when the policy keeps bodies); "250 OK" is
sent only once that is on disk: the mail server deletes its copy when it hears it. A message
it sends again because it did not hear the "250" (the listener died between the fsync and
the answer) is recognised by Message-ID + SHA-256 and answered "250" without a second copy.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from kustosz.errors import InputError
from kustosz.ingest.mail.intake import JournalIntake
from kustosz.ingest.mail.parse import sender_allowed
from kustosz.ingest.net import (
    Network,
    allowed,
    parse_listen,
    parse_networks,
    peer_ip,
    server_tls,
)
from kustosz.ingest.refusals import refused
from kustosz.vault import Vault

log = logging.getLogger(__name__)
NOT_LISTED = ("adres nie jest na liście serwerów poczty, od których źródło przyjmuje kopie "
              "wiadomości (allow_hosts); połączenie odrzucono")
# aiosmtpd logs every command with its addresses at INFO and every DATA line at DEBUG: that
# would put correspondence into log files. Its warnings are enough; ours say what happened.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class JournalSMTP(SMTP):
    """aiosmtpd's server with the checks it has no hook for: the client allow-list, and
    counting of oversized messages and of clients that vanish in the middle of DATA."""

    # Journal copies of real mail may have long lines (some clients do not fold); the
    # message size limit, not the line limit, is what protects memory.
    line_length_limit = 1 << 20

    def __init__(self, handler: JournalHandler, networks: list[Network], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.journal, self.networks = handler, networks
        self._in_data = False

    async def _handle_client(self) -> None:
        peer = peer_ip(self.session.peer if self.session else None)
        if not allowed(peer, self.networks):
            self.journal.counters.add("refused_host")
            # folded by source and reason, the address only counted (issue 64 item 4)
            refused(self.journal.intake.vault, address=peer, source=self.journal.source_name,
                    device=f"serwer poczty spoza listy źródła {self.journal.source_name}",
                    reason_pl=NOT_LISTED, detail="SMTP from a host not in allow_hosts")
            await self.push("554 5.7.1 This host may not deliver to the journal")
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()

    async def push(self, status: Any) -> None:
        text = status if isinstance(status, str) else status.decode("ascii", "replace")
        if text.startswith("552"):
            self.journal.counters.add("too_large")
            log.warning("%s: a message over %s bytes was refused", self.journal.source_name,
                        self.data_size_limit)
        self._in_data = text.startswith("354")
        await super().push(status)

    def connection_lost(self, error: Exception | None) -> None:
        if self._in_data:
            self._in_data = False
            self.journal.counters.add("disconnected_in_data")
            log.warning("%s: a client disconnected in the middle of a message; nothing kept",
                        self.journal.source_name)
        super().connection_lost(error)


class JournalHandler:
    def __init__(self, intake: MailIntake) -> None:
        self.intake = intake
        self.source_name = intake.source_name
        self.counters = intake.counters

    async def handle_MAIL(self, server: SMTP, session: SmtpSession, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if not sender_allowed(address, self.intake.settings.allow_senders):
            self.counters.add("refused_sender")
            log.warning("%s: envelope sender refused by the allow-list (peer %s)",
                        self.source_name, peer_ip(session.peer))
            return "550 5.7.1 Sender not accepted by this journal"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession,
                          envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await self.intake.take(raw, envelope.mail_from or "", list(envelope.rcpt_tos),
                                   peer_ip(session.peer))
        except Exception:
            # 4xx: the mail server keeps the message and tries again later.
            self.counters.add("internal_errors")
            log.exception("%s: a message could not be kept; asked the server to retry",
                          self.source_name)
            return "451 4.3.0 Temporary failure of the journal, try again later"
        return "250 2.0.0 Journalled"


class MailIntake(JournalIntake):
    """The SMTP listener of a mailbox source."""

    def __init__(self, vault: Vault, source_name: str) -> None:
        super().__init__(vault, source_name)
        if self.settings.mode != "smtp":
            raise InputError(f"mailbox {source_name!r} pulls from an IMAP journal mailbox; "
                             "it has no SMTP listener",
                             pl=f"Dziennik poczty „{source_name}” pobiera wiadomości ze skrzynki "
                                "IMAP dziennika poczty; nie odbiera ich przez SMTP.")
        self.networks = parse_networks(self.settings.allow_hosts, "allow_hosts")

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        st = self.settings
        host, port = parse_listen(st.listen, "listen")
        tls = server_tls(st.tls_cert, st.tls_key)
        handler = JournalHandler(self)

        def protocol() -> JournalSMTP:
            return JournalSMTP(handler, self.networks, data_size_limit=st.max_message_bytes,
                               enable_SMTPUTF8=True, hostname=st.hostname or None,
                               tls_context=tls, require_starttls=st.require_tls, loop=loop)

        server = await loop.create_server(protocol, host, port)
        self.servers.append(server)
        self.addresses["smtp"] = server.sockets[0].getsockname()[:2]
        log.info("%s: journal listener on %s", self.source_name, self.addresses["smtp"])

