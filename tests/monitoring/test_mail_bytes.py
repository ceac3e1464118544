"""The journal's messages read as RFC 5322 frames them (issue 64 item 1): a line ends at CRLF
(or LF, as Unix mail writes it), never at a CR alone. Python's email parser ended a line
there too, so a bare CR in a Subject gave the message a Bcc it was never sent to — an
outside address, which made the message private and its body not kept — and a bare CR
before a boundary an attachment it never had. Sent here by a real SMTP client (smtplib) to
the journal listener, byte for byte, with an 8-bit UTF-8 Subject and From (SMTPUTF8, RFC
6532) beside: each byte of those was kept as a U+FFFD ("J��zef ��������")."""

from __future__ import annotations

import base64
import hashlib
import smtplib

from monitoring_helpers import mail_listener, mailbox, wait_for

from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

PDF = b"%PDF-1.4 uchwala " * 100
HEAD = (b"From: Jan Kowalski <j.kowalski@elblag.eu>\r\nTo: a.nowak@elblag.eu\r\n"
        b"Date: Fri, 20 Nov 2026 09:30:00 +0000\r\n")
INJECTED = HEAD + (b"Subject: Sprawa urz\xc4\x99dowa\rBcc: ktos@bank.example\r\n"
                   b"Message-ID: <bare-cr-1@elblag.eu>\r\n\r\nSLUZBOWA TRESC\r\n")
FORGED = "From: Józef Żółć 📞 <j.kowalski@elblag.eu>\r\n".encode() + HEAD[HEAD.index(b"To:"):] + (
                 b"Subject: Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85 "
                 b"ja\xc5\xba\xc5\x84 \xf0\x9f\x98\x80\r\nMessage-ID: <bare-cr-2@elblag.eu>\r\n"
                 b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
                 b"--b0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTre\xc5\x9b\xc4\x87"
                 b"\r--b0\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
                 b' filename="podrzucony.pdf"\r\n\r\nxx\r\n--b0\r\nContent-Type: '
                 b"application/pdf\r\nContent-Disposition: attachment; filename=\"uchwala.pdf\""
                 b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                 base64.encodebytes(PDF).replace(b"\n", b"\r\n") +
                 b"--b0--\r\n")


def test_a_bare_cr_makes_no_header_and_no_part_of_its_own(elblag: Vault) -> None:
    mailbox(elblag, keep_bodies=True,
            bodies_legal_basis="Regulamin pracy zał. 2 §2; zarządzenie nr 12/2026")
    bg = mail_listener(elblag)
    try:
        with smtplib.SMTP("127.0.0.1", bg.service.addresses["smtp"][1], timeout=10) as smtp:
            for raw in (INJECTED, FORGED):
                smtp.sendmail("j.kowalski@elblag.eu", ["journal@kustosz.elblag.eu"], raw,
                              mail_options=["SMTPUTF8"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 2)
        assert bg.service.counters.totals["bare_cr"] == 2
        bg.flush()
    finally:
        bg.stop()
    with elblag.reading() as s:
        found = {m["message_id"]: m for m in search_mail(s)}
    injected, forged = found["<bare-cr-1@elblag.eu>"], found["<bare-cr-2@elblag.eu>"]
    assert injected["subject"] == "Sprawa urzędowa Bcc: ktos@bank.example"
    assert injected["bcc"] == [] and not injected["private"] and injected["body_kept"]
    assert injected["size"] == len(INJECTED)  # the bytes as sent
    assert forged["subject"] == "Zażółć gęślą jaźń 😀"  # 8-bit UTF-8 (RFC 6532), whole
    with elblag.reading() as s:
        assert [m["message_id"] for m in search_mail(s, person="Józef Żółć 📞")] == [
            "<bare-cr-2@elblag.eu>"]
    assert forged["attachments"] == [{"name": "uchwala.pdf", "type": "application/pdf",
                                      "size": len(PDF),
                                      "sha256": hashlib.sha256(PDF).hexdigest()}]
