"""The intake a mailbox source runs, chosen by its settings: the SMTP listener or the IMAP
poller. Both build on `JournalIntake`; choosing between them lives above all three."""

from __future__ import annotations

from kustosz.ingest.mail.imap import ImapIntake
from kustosz.ingest.mail.intake import JournalIntake
from kustosz.ingest.mail.listener import MailIntake
from kustosz.ingest.mail.settings import MailSettings, mail_source
from kustosz.vault import Vault


def mail_service(vault: Vault, source_name: str) -> JournalIntake:
    """The intake a mailbox source is configured for: the SMTP listener or the IMAP poller."""
    with vault.reading() as s:
        mode = MailSettings.of(mail_source(s, source_name).settings).mode
    # Imported here: each pulls in its own library (aiosmtpd, imap-tools).
    if mode == "imap":
        return ImapIntake(vault, source_name)

    return MailIntake(vault, source_name)
