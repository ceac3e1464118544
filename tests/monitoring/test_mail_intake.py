"""Journal mail from a real SMTP client (Python's smtplib) to the listener: metadata is kept
right, bodies are not (R1.9), refused senders and hosts are refused."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage

import pytest
from monitoring_helpers import mail_listener, mailbox, message, wait_for
from sqlalchemy import select

from kustosz.db.events import IntakeCounter
from kustosz.db.models import Recording
from kustosz.errors import ConfigError
from kustosz.ingest.mail.search import search_mail
from kustosz.ingest.mail.settings import MailSettings, add_mail_source
from kustosz.vault import Vault

PDF = b"%PDF-1.4 uchwala " * 1000
XLSX = bytes(range(256)) * 40


def send(port: int, msg: EmailMessage, sender: str, rcpts: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg, from_addr=sender, to_addrs=rcpts)


def test_metadata_only_by_default(elblag: Vault) -> None:
    mailbox(elblag, allow_senders=["@elblag.eu"])
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        msg = message("Zażółć gęślą jaźń — uchwała nr 15/2026",
                      "Jan Kowalski <j.kowalski@elblag.eu>", ["a.nowak@elblag.eu"],
                      body="TAJNA TREŚĆ LISTU 12345",
                      attachments=[("uchwała.pdf", "application/pdf", PDF),
                                   ("budżet 2026.xlsx", "application/vnd.ms-excel", XLSX)],
                      Cc="Ewa Wiśniewska <e.wisniewska@elblag.eu>")
        raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # as on the wire
        assert b"=?utf-8?" in raw  # the subject travels as RFC 2047 encoded-words
        send(port, msg, "j.kowalski@elblag.eu", ["journal@kustosz.elblag.eu"])
        with pytest.raises(smtplib.SMTPSenderRefused):
            send(port, message("spam", "x@evil.example", ["a.nowak@elblag.eu"]),
                 "x@evil.example", ["journal@kustosz.elblag.eu"])
        # The listener still serves after a refusal.
        send(port, message("Drugi", "a.nowak@elblag.eu", ["j.kowalski@elblag.eu"]),
             "a.nowak@elblag.eu", ["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 2)
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        found = search_mail(s, address="J.Kowalski@elblag.eu")
        assert [m["subject"] for m in found] == ["Zażółć gęślą jaźń — uchwała nr 15/2026",
                                                 "Drugi"]
        first = found[0]
        assert first["from"] == "j.kowalski@elblag.eu" and first["env_from"] == first["from"]
        assert first["to"] == ["a.nowak@elblag.eu"]
        assert first["cc"] == ["e.wisniewska@elblag.eu"]
        assert first["date"].isoformat() == "2026-11-20T09:30:00+00:00"
        assert first["message_id"].endswith("@elblag.eu>")
        assert first["size"] == len(raw) and not first["body_kept"] and not first["private"]
        assert first["attachments"] == [
            {"name": "uchwała.pdf", "type": "application/pdf", "size": len(PDF),
             "sha256": hashlib.sha256(PDF).hexdigest()},
            {"name": "budżet 2026.xlsx", "type": "application/vnd.ms-excel", "size": len(XLSX),
             "sha256": hashlib.sha256(XLSX).hexdigest()}]
        assert [m["subject"] for m in search_mail(s, person="wiśniewska")] == [first["subject"]]
        assert [m["subject"] for m in search_mail(s, address="a.nowak@elblag.eu",
                                                  role="from")] == ["Drugi"]
        recs = list(s.execute(select(Recording)).scalars())
        counts = {c.name: c.value for c in s.execute(select(IntakeCounter)).scalars()}
    assert [r.meta["format"] for r in recs] == ["jsonl"]  # no .eml: metadata only
    assert counts["messages"] == 2 and counts["refused_sender"] == 1
    stored = elblag.storage.path(recs[0].storage_key).read_bytes()
    assert b"TAJNA" not in stored and PDF[:20] not in stored  # never a body, never a file
    for path in elblag.root.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm"):
            assert b"TAJNA" not in path.read_bytes(), path


def test_refused_mail_server(elblag_sqlite: Vault) -> None:
    mailbox(elblag_sqlite, allow_hosts=["10.20.0.0/16"])
    bg = mail_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["smtp"][1]
        with pytest.raises(smtplib.SMTPConnectError):
            smtplib.SMTP("127.0.0.1", port, timeout=10)
        wait_for(lambda: bg.service.counters.totals["refused_host"] == 1)
    finally:
        bg.stop()


def test_full_messages_need_a_legal_basis_and_spare_private_ones(elblag: Vault) -> None:
    with elblag.transaction() as s, pytest.raises(ConfigError, match="legal basis"):
        add_mail_source(s, elblag.policy, "journal", "test",
                        MailSettings(listen="127.0.0.1:0", keep_bodies=True))
    mailbox(elblag, keep_bodies=True,
            bodies_legal_basis="Regulamin pracy zał. 2 §2; zarządzenie nr 12/2026")
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        for subject, to, extra in [("Sprawa urzędowa", "b@elblag.eu", {}),
                                   ("Do banku", "ktos@bank.example", {}),
                                   ("Prywatne: urlop", "b@elblag.eu", {}),
                                   ("Spotkanie", "b@elblag.eu", {"Sensitivity": "Private"})]:
            body = "SLUZBOWA" if subject == "Sprawa urzędowa" else "INNA"
            send(port, message(subject, "a@elblag.eu", [to], body=body, **extra),
                 "a@elblag.eu", ["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 4)
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        found = {m["subject"]: m for m in search_mail(s)}
        emls = list(s.execute(select(Recording).where(Recording.meta["format"].as_string()
                                                      == "eml")).scalars())
    assert {k: (m["body_kept"], m["private"]) for k, m in found.items()} == {
        "Sprawa urzędowa": (True, False), "Do banku": (False, True),
        "Prywatne: urlop": (False, True), "Spotkanie": (False, True)}
    assert len(emls) == 1
    assert b"SLUZBOWA" in elblag.storage.path(emls[0].storage_key).read_bytes()


def test_exchange_envelope_journal_report(elblag_sqlite: Vault) -> None:
    mailbox(elblag_sqlite)
    original = message("Przetarg ZP.271.3.2026", "Zamówienia <zp@elblag.eu>",
                       ["firma@elblag.eu"], attachments=[("oferta.pdf", "application/pdf", PDF)])
    report = EmailMessage()
    report["From"] = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@elblag.eu"
    report["To"] = "journal@kustosz.elblag.eu"
    report["Subject"] = original["Subject"]
    report["X-MS-Journal-Report"] = ""
    report.set_content("Sender: zp@elblag.eu\nSubject: Przetarg\nMessage-Id: "
                       f"{original['Message-ID']}\nTo: firma@elblag.eu\n"
                       "Bcc: kierownik@elblag.eu\nCc: lista@elblag.eu, Expanded: lista@elblag.eu\n")
    report.add_attachment(original)
    bg = mail_listener(elblag_sqlite)
    try:
        send(bg.service.addresses["smtp"][1], report,
             "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@elblag.eu",
             ["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 1)
        bg.flush()
    finally:
        bg.stop()
    with elblag_sqlite.reading() as s:
        (m,) = search_mail(s, address="kierownik@elblag.eu")
    assert m["journal"] == "exchange" and m["env_from"] == "zp@elblag.eu"
    assert m["subject"] == "Przetarg ZP.271.3.2026" and m["bcc"] == ["kierownik@elblag.eu"]
    assert m["message_id"] == original["Message-ID"]
    assert [a["name"] for a in m["attachments"]] == ["oferta.pdf"]
