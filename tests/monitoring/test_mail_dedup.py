"""A journalled message that comes again is kept once (issue 14 item 8): the mail server
resends when it did not hear "250" — the listener died between the fsync and the answer —
and the copy is recognised by Message-ID + SHA-256 of its bytes, as the IMAP path does.
Real smtplib clients against the listener; both backends."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from email.message import EmailMessage

from monitoring_helpers import mail_listener, mailbox, message
from sqlalchemy import select

from kustosz.db.events import MailMessage
from kustosz.vault import Vault

JOURNAL = ["journal@kustosz.elblag.eu"]


def _send(port: int, msg: EmailMessage | bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if isinstance(msg, bytes):
            smtp.sendmail("j.kowalski@elblag.eu", JOURNAL, msg)
        else:
            smtp.send_message(msg, from_addr="j.kowalski@elblag.eu", to_addrs=JOURNAL)


def _stored(vault: Vault) -> Counter[str]:
    with vault.reading() as s:
        return Counter(s.execute(select(MailMessage.message_id)).scalars())


def test_a_resent_message_is_kept_once_in_the_open_chunk_and_after_it_is_stored(
        elblag: Vault) -> None:
    mailbox(elblag)
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        msg = message("Uchwała", "j.kowalski@elblag.eu", ["a.nowak@elblag.eu"])
        raw = msg.as_bytes()
        _send(port, raw)
        _send(port, raw)  # the retry while the first copy is in the open chunk: "250" again
        bg.flush()  # the chunk is stored: now the index answers
        _send(port, raw)
        # The same Message-ID with other bytes is another message (a forged or edited copy
        # is kept, not hidden behind the first).
        other = raw.replace(b"Tre\xc5\x9b\xc4\x87 listu", b"Inna tre\xc5\x9b\xc4\x87")
        assert other != raw
        _send(port, other)
        bg.flush()
        totals = bg.service.counters.totals
        assert totals["messages"] == 2 and totals["duplicates"] == 2
    finally:
        bg.stop()
    assert _stored(elblag) == {msg["Message-ID"]: 2}


def test_copies_arriving_at_once_on_several_connections_are_kept_once(elblag: Vault) -> None:
    mailbox(elblag)
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        raw = message("Pismo", "j.kowalski@elblag.eu", ["a.nowak@elblag.eu"]).as_bytes()
        errors: list[BaseException] = []

        def one() -> None:
            try:
                _send(port, raw)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []  # every copy was answered "250"
        bg.flush()
        assert bg.service.counters.totals["duplicates"] == 5
    finally:
        bg.stop()
    assert sum(_stored(elblag).values()) == 1
