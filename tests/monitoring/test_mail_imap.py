"""The IMAP journal mailbox against a real Dovecot: messages put there with IMAP APPEND are
taken in through the same path as SMTP (metadata only, privacy rules, Exchange reports),
removed from the server only once durable in the spool, never kept twice after a crash
between the two, and a failing server is logged once, counted and retried."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from imap_helpers import (
    PASSWORD,
    Dovecot,
    bg_poll,
    delivered,
    free_port,
    imap_poller,
    imap_source,
)
from monitoring_helpers import message, spool_lines, wait_for
from sqlalchemy import select

from kustosz.db.models import AuditEntry, Recording
from kustosz.ingest.chunks.spool import Chunk
from kustosz.ingest.mail import imap_box
from kustosz.ingest.mail.imap import backoff
from kustosz.ingest.mail.imap_box import ImapFailure
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

PDF = b"%PDF-1.4 uchwala " * 1000
XLSX = bytes(range(256)) * 40
MALFORMED = (b"Return-Path: <a@elblag.eu>\r\n"
             b"From: =?utf-8?q?Zepsuty=ZZ?= <a@elblag.eu>\r\n"
             b"To: <b@elblag.eu\r\n"
             b"Subject: =?iso-8859-2?b?bm90IGJhc2U2NCEh?=\r\n"
             b"Date: jutro rano\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"nigdy\"\r\n\r\n"
             b"--inna\r\nContent-Type: text/plain\r\n\r\nTAJNA TRESC\r\n"
             b"--nigdy\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n"
             b"!!!to nie jest base64!!!\r\n")


def _exchange_report() -> tuple[EmailMessage, EmailMessage]:
    original = message("Przetarg ZP.271.3.2026", "Zamówienia <zp@elblag.eu>",
                       ["firma@elblag.eu"], body="TAJNA OFERTA",
                       attachments=[("oferta.pdf", "application/pdf", PDF)])
    report = EmailMessage()
    report["From"] = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@elblag.eu"
    report["To"] = "journal@kustosz.elblag.eu"
    report["Subject"] = original["Subject"]
    report["Message-ID"] = "<raport-1@elblag.eu>"
    report["X-MS-Journal-Report"] = ""
    report.set_content("Sender: zp@elblag.eu\nSubject: Przetarg\nMessage-Id: "
                       f"{original['Message-ID']}\nTo: firma@elblag.eu\n"
                       "Bcc: kierownik@elblag.eu\n")
    report.add_attachment(original)
    return report, original


def _journal(server: Dovecot, user: str) -> dict[str, bytes]:
    """Put the issue's kinds of message into the journal mailbox with IMAP APPEND."""
    main = message("Zażółć gęślą jaźń — uchwała nr 15/2026",
                   "Jan Kowalski <j.kowalski@elblag.eu>", ["a.nowak@elblag.eu"],
                   body="TAJNA TREŚĆ LISTU 12345",
                   attachments=[("uchwała.pdf", "application/pdf", PDF),
                                ("budżet 2026.xlsx", "application/vnd.ms-excel", XLSX)],
                   Cc="Ewa Wiśniewska <e.wisniewska@elblag.eu>")
    private = message("Spotkanie", "a.nowak@elblag.eu", ["b@elblag.eu"], body="TAJNA PRYWATNA",
                      Sensitivity="Private")
    report, _ = _exchange_report()
    raws = {"main": delivered(main, "j.kowalski@elblag.eu"),
            "private": delivered(private, "a.nowak@elblag.eu"),
            "malformed": MALFORMED,
            "exchange": delivered(report, "MicrosoftExchange@elblag.eu")}
    assert b"=?utf-8?" in raws["main"]  # the subject travels as RFC 2047 encoded-words
    for raw in raws.values():
        server.append(user, raw)
    return raws


def _watch_removal(monkeypatch: pytest.MonkeyPatch, vault: Vault, name: str
                   ) -> list[tuple[list[str], int]]:
    """Record, at each removal from the server, how many lines are on disk in the spool."""
    seen: list[tuple[list[str], int]] = []
    real = imap_box.JournalMailbox.remove

    def remove(self: imap_box.JournalMailbox, uids: list[str]) -> None:
        seen.append((list(uids), spool_lines(vault, name)))
        real(self, uids)

    monkeypatch.setattr(imap_box.JournalMailbox, "remove", remove)
    return seen


def test_journal_mailbox_metadata_only_and_removed_after_spooling(
        elblag: Vault, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    user = dovecot.add_user()
    raws = _journal(dovecot, user)
    imap_source(elblag, dovecot, user)
    removals = _watch_removal(monkeypatch, elblag, "dziennik")
    bg = imap_poller(elblag)
    try:
        again = bg.call(bg.service.poll())  # waits for the first round, then polls again
        assert again.ok and again.taken == 0
        assert dovecot.messages(user) == []
        assert bg.service.counters.totals["messages"] == 4
        bg.flush()
    finally:
        bg.stop()
    # The four were removed in one go, once their four lines were on disk.
    assert [(len(uids), lines) for uids, lines in removals if uids] == [(4, 4)]
    with elblag.reading() as s:
        found = {m["subject"]: m for m in search_mail(s, source="dziennik")}
        recs = list(s.execute(select(Recording)).scalars())
    main = found["Zażółć gęślą jaźń — uchwała nr 15/2026"]
    assert main["from"] == "j.kowalski@elblag.eu" and main["env_from"] == "j.kowalski@elblag.eu"
    assert main["to"] == ["a.nowak@elblag.eu"] and main["cc"] == ["e.wisniewska@elblag.eu"]
    assert main["date"].isoformat() == "2026-11-20T09:30:00+00:00"
    assert main["size"] == len(raws["main"]) and not main["body_kept"] and not main["private"]
    assert main["attachments"] == [
        {"name": "uchwała.pdf", "type": "application/pdf", "size": len(PDF),
         "sha256": hashlib.sha256(PDF).hexdigest()},
        {"name": "budżet 2026.xlsx", "type": "application/vnd.ms-excel", "size": len(XLSX),
         "sha256": hashlib.sha256(XLSX).hexdigest()}]
    assert found["Spotkanie"]["private"] and not found["Spotkanie"]["body_kept"]
    broken = next(m for m in found.values() if m["from"] == "a@elblag.eu")
    assert "bad_date" in broken["problems"] and broken["attachments"][0]["name"] == "a.pdf"
    assert any(p.endswith("Defect") for p in broken["problems"])
    exchange = found["Przetarg ZP.271.3.2026"]
    assert exchange["journal"] == "exchange" and exchange["env_from"] == "zp@elblag.eu"
    assert exchange["bcc"] == ["kierownik@elblag.eu"]
    assert [a["name"] for a in exchange["attachments"]] == ["oferta.pdf"]
    assert [r.meta["format"] for r in recs] == ["jsonl"]  # no .eml: metadata only (R1.9)
    for path in elblag.root.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm"):
            assert b"TAJNA" not in path.read_bytes(), path


def test_nothing_leaves_the_server_before_it_is_durable(
        elblag_sqlite: Vault, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = elblag_sqlite
    user = dovecot.add_user()
    for i in range(3):
        dovecot.append(user, delivered(message(f"Pismo {i}", "a@elblag.eu", ["b@elblag.eu"]),
                                       "a@elblag.eu"))
    imap_source(vault, dovecot, user)
    real_sync = Chunk.sync
    full = {"disk": True}

    async def sync(self: Chunk) -> None:
        if full["disk"]:
            raise OSError(28, "No space left on device")
        await real_sync(self)

    monkeypatch.setattr(Chunk, "sync", sync)
    bg = imap_poller(vault)
    try:
        # The disk is full: the rounds (the one at start, then this) fail before the
        # removal; all three stay on the server.
        with pytest.raises(OSError):
            bg.call(bg.service.poll())
        assert len(dovecot.messages(user)) == 3
        assert bg.service.counters.totals["internal_errors"] == 1  # the poller's own round
        full["disk"] = False
        result = bg.call(bg.service.poll())
        assert result.ok and result.taken == 3 and dovecot.messages(user) == []
        # Spooled once by the first round; the later rounds knew them, and this one synced
        # them before removing: not kept twice.
        totals = bg.service.counters.totals
        assert totals["messages"] == 3 and totals["imap_duplicates"] == 6
        bg.flush()
    finally:
        bg.stop()
    with vault.reading() as s:
        assert sorted(m["subject"] for m in search_mail(s)) == [f"Pismo {i}" for i in range(3)]


CRASHING_POLLER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from pathlib import Path
    from kustosz.ingest.mail import imap_box
    from kustosz.ingest.mail.imap import ImapIntake
    from kustosz.vault import Vault

    def die(self, uids):  # the power goes: after the spool's fsync, before the removal
        if uids:
            os.kill(os.getpid(), signal.SIGKILL)

    imap_box.JournalMailbox.remove = die

    async def main():
        service = ImapIntake(Vault.open(Path(sys.argv[1])), sys.argv[2])
        await service.start()
        await asyncio.sleep(60)

    asyncio.run(main())
""")


def test_a_crash_between_spooling_and_removal_does_not_duplicate(
        elblag: Vault, dovecot: Dovecot) -> None:
    user = dovecot.add_user()
    for i in range(3):
        dovecot.append(user, delivered(message(f"Decyzja {i}", "a@elblag.eu", ["b@elblag.eu"]),
                                       "a@elblag.eu"))
    imap_source(elblag, dovecot, user)
    # A real process, killed with SIGKILL right before it would remove the messages.
    crashed = subprocess.run([sys.executable, "-c", CRASHING_POLLER, str(elblag.root),
                              "dziennik"], capture_output=True, timeout=60,
                             env={**os.environ, "KUSTOSZ_ACTOR": "test"})
    assert crashed.returncode == -9, crashed.stderr.decode()
    assert len(dovecot.messages(user)) == 3  # not removed: the process died first
    assert spool_lines(elblag, "dziennik") == 3  # but durable in the spool
    dovecot.append(user, delivered(message("Nowe po awarii", "a@elblag.eu", ["b@elblag.eu"]),
                                   "a@elblag.eu"))
    bg = imap_poller(elblag)  # start-up takes the left-over chunk in, then polls
    try:
        bg.call(bg.service.poll())
        assert dovecot.messages(user) == []
        totals = bg.service.counters.totals
        assert totals["imap_duplicates"] == 3 and totals["messages"] == 1
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        subjects = sorted(m["subject"] for m in search_mail(s))
    assert subjects == ["Decyzja 0", "Decyzja 1", "Decyzja 2", "Nowe po awarii"]


def test_a_failed_removal_is_retried_without_keeping_twice(
        elblag_sqlite: Vault, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    vault = elblag_sqlite
    user = dovecot.add_user()
    dovecot.append(user, delivered(message("Raz", "a@elblag.eu", ["b@elblag.eu"]), "a@elblag.eu"))
    imap_source(vault, dovecot, user)
    real = imap_box.JournalMailbox.remove
    drops = {"left": 1}

    def remove(self: imap_box.JournalMailbox, uids: list[str]) -> None:
        if uids and drops["left"]:
            drops["left"] -= 1
            raise ImapFailure("connect", "OSError: connection reset by peer")
        real(self, uids)

    monkeypatch.setattr(imap_box.JournalMailbox, "remove", remove)
    caplog.set_level(logging.INFO, logger="kustosz")
    bg = imap_poller(vault)
    try:
        wait_for(lambda: bg.service.counters.totals["imap_connect_failed"] == 1)
        assert len(dovecot.messages(user)) == 1
        assert bg.call(bg.service.poll()).ok and dovecot.messages(user) == []
        assert bg.service.counters.totals["imap_duplicates"] == 1
        bg.flush()
    finally:
        bg.stop()
    with vault.reading() as s:
        assert [m["subject"] for m in search_mail(s)] == ["Raz"]
    assert any("answers again" in r.getMessage() for r in caplog.records)


@pytest.fixture
def own_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test alone: after failed logins Dovecot delays every login from
    the same address by seconds, which would slow the other tests down."""
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_wrong_password_and_unreachable_server_are_logged_once_and_counted(
        elblag_sqlite: Vault, dovecot: Dovecot, own_dovecot: Dovecot,
        caplog: pytest.LogCaptureFixture) -> None:
    vault = elblag_sqlite
    user = own_dovecot.add_user()
    own_dovecot.append(user, delivered(message("Czeka", "a@elblag.eu", ["b@elblag.eu"]),
                                       "a@elblag.eu"))
    wrong = "Zle-haslo-9876"
    imap_source(vault, own_dovecot, user, password=wrong)
    imap_source(vault, own_dovecot, user, name="wylaczony", imap_port=free_port())
    caplog.set_level(logging.DEBUG, logger="kustosz")
    bad, down = imap_poller(vault), imap_poller(vault, "wylaczony")
    try:
        assert not bg_poll(bad).ok
        for _ in range(2):
            assert not bg_poll(down).ok
        assert bad.service.counters.totals["imap_login_failed"] == 2
        assert down.service.counters.totals["imap_connect_failed"] == 3
        # The services still run (their pollers wait with backoff); nothing was lost.
        assert not bad.service._poller.done() and not down.service._poller.done()
        assert bad.service.failures == 2 and down.service.failures == 3
    finally:
        bad.stop()
        down.stop()
    assert own_dovecot.stored(user) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([w for w in warnings if w.startswith("dziennik:")]) == 1
    assert len([w for w in warnings if w.startswith("wylaczony:")]) == 1
    login = next(w for w in warnings if w.startswith("dziennik:"))
    assert f"refused the login of user '{user}'" in login and "retrying" in login
    assert "Connection refused" in next(w for w in warnings if w.startswith("wylaczony:"))
    for record in caplog.records:
        assert wrong not in record.getMessage() and PASSWORD not in record.getMessage()
    with vault.reading() as s:
        audit = " ".join(e.details for e in s.execute(select(AuditEntry)).scalars())
    assert wrong not in audit and PASSWORD not in audit and "***" in audit


def test_backoff_grows_to_a_limit() -> None:
    assert [backoff(60, n) for n in (1, 2, 3, 4, 5, 6)] == [60, 120, 240, 480, 900, 900]
    assert backoff(5, 1) == 5 and backoff(5, 20) == 900
    assert backoff(3600, 3) == 3600  # never shorter than the interval itself
