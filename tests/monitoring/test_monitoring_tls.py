"""Encrypted intake: STARTTLS on the journal listener, syslog over TLS (RFC 5425) and JSON
over HTTPS, with a certificate the office configures (here a self-signed one)."""

from __future__ import annotations

import json
import shutil
import smtplib
import socket
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest
from monitoring_helpers import endpoint, events_listener, mail_listener, mailbox, message, wait_for

from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl missing")


@pytest.fixture
def cert(tmp_path: Path) -> tuple[str, str]:
    crt, key = tmp_path / "kustosz.crt", tmp_path / "kustosz.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


def _client_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # self-signed in the test
    return ctx


def test_starttls_is_offered_and_can_be_required(elblag_sqlite: Vault,
                                                 cert: tuple[str, str]) -> None:
    mailbox(elblag_sqlite, tls_cert=cert[0], tls_key=cert[1], require_tls=True)
    bg = mail_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["smtp"][1]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            code, _ = smtp.mail("a@elblag.eu")
            assert code == 530  # plain text refused: TLS is required
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.starttls(context=_client_tls())
            smtp.send_message(message("Szyfrowany", "a@elblag.eu", ["b@elblag.eu"]),
                              to_addrs=["journal@kustosz.elblag.eu"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 1)
    finally:
        bg.stop()


def test_syslog_over_tls_and_json_over_https(elblag_sqlite: Vault,
                                             cert: tuple[str, str]) -> None:
    token = endpoint(elblag_sqlite, syslog_tls="127.0.0.1:0", tls_cert=cert[0],
                     tls_key=cert[1])
    bg = events_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["syslog_tls"][1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                _client_tls().wrap_socket(raw, server_hostname="localhost") as tls:
            line = b"<38>1 2026-11-21T10:00:00Z fw ufw - - - [UFW BLOCK] SRC=10.0.0.9"
            tls.sendall(b"%d %s" % (len(line), line))
        http = bg.service.addresses["http"][1]
        request = urllib.request.Request(
            f"https://127.0.0.1:{http}/events", method="POST",
            data=json.dumps({"time": "2026-11-21T10:00:00Z", "message": "x"}).encode(),
            headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, context=_client_tls(), timeout=10) as answer:
            assert answer.status == 202
        wait_for(lambda: bg.service.counters.totals["events"] == 2)
    finally:
        bg.stop()
