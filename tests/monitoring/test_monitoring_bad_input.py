"""Bad input from the issue: malformed MIME, a 50 MB message, a client gone mid-DATA, a line
that is not syslog, invalid UTF-8, a JSON event without a time. Each is handled (kept as far
as it is valid, or refused) and counted, and the listener keeps serving other clients."""

from __future__ import annotations

import email.policy
import hashlib
import json
import smtplib
import socket
from email.message import EmailMessage

import pytest
from monitoring_helpers import (
    endpoint,
    events_listener,
    mail_listener,
    mailbox,
    message,
    post,
    wait_for,
)

from kustosz.ingest.events.search import search_events
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

JOURNAL = ["journal@kustosz.elblag.eu"]
CRLF = email.policy.default.clone(linesep="\r\n")  # as a mail server sends it

MALFORMED = (b"From: =?utf-8?q?Zepsuty=ZZ?= <a@elblag.eu>\r\n"
             b"To: <b@elblag.eu\r\n"
             b"Subject: =?iso-8859-2?b?bm90IGJhc2U2NCEh?=\r\n"
             b"Date: jutro rano\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"nigdy\"\r\n\r\n"
             b"--inna\r\nContent-Type: text/plain\r\n\r\nTRESC\r\n"
             b"--nigdy\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n"
             b"!!!to nie jest base64!!!\r\n")


def _smtp_send(port: int, msg: EmailMessage | bytes, raw: bool = False) -> None:
    data = msg if isinstance(msg, bytes) else msg.as_bytes(policy=CRLF)
    # RFC 5321 4.5.3.2.6: a client waits 10 minutes for the answer to the end of DATA (a 50 MB
    # message is parsed, hashed and stored before it; on a busy machine that takes a while).
    with smtplib.SMTP("127.0.0.1", port, timeout=600) as smtp:
        smtp.sendmail("a@elblag.eu", JOURNAL, data)


def _smtp_dialogue(port: int, commands: list[bytes], then: bytes) -> None:
    """Send ``commands`` one by one (each answered), then ``then``, and hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        for command in commands:
            sock.sendall(command)
            while (reply := reader.readline())[3:4] == b"-":  # multi-line replies
                pass
            assert reply[:1] in (b"2", b"3"), reply
        sock.sendall(then)


def test_mail_bad_input(elblag_sqlite: Vault) -> None:
    vault = elblag_sqlite
    mailbox(vault)
    mailbox(vault, "small", max_message_bytes=1 << 20)
    bg, small = mail_listener(vault), mail_listener(vault, "small")
    try:
        port, small_port = bg.service.addresses["smtp"][1], small.service.addresses["smtp"][1]
        _smtp_send(port, MALFORMED, raw=True)
        # A client that goes away in the middle of DATA: nothing is kept, it is counted.
        _smtp_dialogue(port, [b"EHLO x\r\n", b"MAIL FROM:<a@elblag.eu>\r\n",
                              b"RCPT TO:<journal@kustosz.elblag.eu>\r\n", b"DATA\r\n"],
                       then=b"Subject: urwany\r\n\r\nTRESC")
        wait_for(lambda: bg.service.counters.totals["disconnected_in_data"] == 1)
        # A 50 MB message (scans of a tender): taken, its attachment described and hashed.
        big = bytes(range(256)) * (36 * 4096)  # 36 MiB, about 50 MB in base64
        _smtp_send(port, message("Skany", "a@elblag.eu", ["b@elblag.eu"],
                                 attachments=[("skan.tif", "image/tiff", big)]))
        # Over a source's limit: refused with 552 and counted; the next client is served.
        with pytest.raises(smtplib.SMTPException):
            _smtp_send(small_port, message("Za duży", "a@elblag.eu", ["b@elblag.eu"],
                                           attachments=[("x.bin", "application/octet-stream",
                                                         b"x" * (2 << 20))]))
        _smtp_send(small_port, message("Mały", "a@elblag.eu", ["b@elblag.eu"]))
        _smtp_send(port, message("Po wszystkim", "a@elblag.eu", ["b@elblag.eu"]))
        wait_for(lambda: bg.service.counters.totals["messages"] == 3)
        wait_for(lambda: small.service.counters.totals["messages"] == 1)
        assert small.service.counters.totals["too_large"] == 1
        bg.flush()
        small.flush()
    finally:
        bg.stop()
        small.stop()
    with vault.reading() as s:
        found = {m["subject"]: m for m in search_mail(s)}
    assert len(found) == 4 and "urwany" not in found
    (broken,) = [m for m in found.values() if m["subject"] not in ("Skany", "Mały",
                                                                    "Po wszystkim")]
    assert broken["from"] == "a@elblag.eu" and broken["attachments"][0]["name"] == "a.pdf"
    assert "bad_date" in broken["problems"] and broken["date"] is None
    assert any(p.endswith("Defect") for p in broken["problems"])
    (skan,) = found["Skany"]["attachments"]
    assert skan["size"] == len(big) and skan["sha256"] == hashlib.sha256(big).hexdigest()


def test_events_bad_input(elblag_sqlite: Vault) -> None:
    vault = elblag_sqlite
    token = endpoint(vault)
    bg = events_listener(vault)
    try:
        tcp = bg.service.addresses["syslog_tcp"][1]
        udp = bg.service.addresses["syslog_udp"][1]
        url = f"http://127.0.0.1:{bg.service.addresses['http'][1]}/events"
        with socket.create_connection(("127.0.0.1", tcp), timeout=10) as sock:
            sock.sendall(b"to nie jest syslog\n"
                         b"<13>Nov 21 10:00:00 pc-7 app: caf\xe9 \xff\xfe\n"
                         b"<34>1 2026-11-21T10:00:00+01:00 fw - - - - " + b"A" * 70000 + b"\n"
                         b"<13>Nov 21 10:00:01 pc-7 app: ostatni bez nowej linii")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"\x00\x01\x02 binary", ("127.0.0.1", udp))
        assert post(url, b"{not json", token)[0] == 400
        assert post(url, b'{"message": "x"}', "wrong-token")[0] == 401
        status, answer = post(url, json.dumps([{"host": "pc-9", "message": "bez czasu"},
                                               "not an object"]).encode(), token)
        assert status == 202 and answer["accepted"] == 1 and answer["warnings"] == 1
        assert answer["refused"] == [{"index": 1, "reason": "an event must be a JSON object"}]
        wait_for(lambda: bg.service.counters.totals["events"] == 6)
        totals = bg.service.counters.totals
        assert totals["not_syslog"] == 2 and totals["invalid_utf8"] == 1
        assert totals["truncated"] == 1 and totals["no_time"] == 1
        assert totals["http_bad_json"] == 1 and totals["http_bad_token"] == 1
        bg.flush()
    finally:
        bg.stop()
    with vault.reading() as s:
        events = search_events(s)
    assert len(events) == 6
    by_message = {e["message"][:20]: e for e in events}
    assert by_message["to nie jest syslog"]["host"] == "127.0.0.1"
    assert by_message["caf\ufffd \ufffd\ufffd"]["host"] == "pc-7"
    assert "ostatni bez nowej li" in by_message
    assert by_message["bez czasu"]["host"] == "pc-9"
