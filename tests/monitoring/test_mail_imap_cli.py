"""`kustosz mail …` with an IMAP journal mailbox, as an office runs it against a real
Dovecot: add (the password from a file or a variable, never shown again), listen (a real
process), status, search, `kustosz serve`; and every refusal changes nothing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from imap_helpers import PASSWORD, Dovecot, delivered, imap_source
from monitoring_helpers import message, wait_for
from sqlalchemy import select
from tests.conftest import Cli, snapshot

from kustosz.cli.serve import run_serve
from kustosz.db.models import AuditEntry
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault


def _audit_text(data: Path) -> str:
    vault = Vault.open(data)
    try:
        with vault.reading() as s:
            return " ".join(f"{e.action} {e.details}"
                            for e in s.execute(select(AuditEntry)).scalars())
    finally:
        vault.close()


def test_imap_mailbox_from_the_command_line(cli: Cli, dovecot: Dovecot, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cli("init", "--preset", "elblag")
    user = dovecot.add_user()
    secret = tmp_path / "haslo"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    added = cli("mail", "add", "dziennik", "--imap-host", "127.0.0.1",
                "--imap-port", str(dovecot.imaps_port), "--imap-ca-file", str(dovecot.cert),
                "--imap-user", user, "--imap-password-file", str(secret),
                "--imap-poll-seconds", "1", "--office-domain", "elblag.eu").output
    assert f"pulls from {user}@127.0.0.1" in added and PASSWORD not in added
    dovecot.append(user, delivered(message("Wniosek o urlop", "j.kowalski@elblag.eu",
                                           ["kadry@elblag.eu"], body="TAJNA TREŚĆ"),
                                   "j.kowalski@elblag.eu"))

    listen = subprocess.run(
        [sys.executable, "-c", "from kustosz.cli import main; main()", "--data",
         str(cli.data), "mail", "listen", "dziennik", "--for", "4"],
        env={**os.environ, "KUSTOSZ_ACTOR": "tester"}, capture_output=True, timeout=60)
    output = (listen.stdout + listen.stderr).decode()
    assert listen.returncode == 0, output
    assert "polling imap 127.0.0.1" in output and PASSWORD not in output
    assert dovecot.messages(user) == []

    found = json.loads(cli("mail", "search", "--person", "kowalski", "--json").output)
    assert [(m["subject"], m["body_kept"]) for m in found] == [("Wniosek o urlop", False)]
    raw_status = cli("mail", "status", "dziennik", "--json").output
    assert PASSWORD not in raw_status
    st = json.loads(raw_status)[0]
    assert st["mode"] == "imap" and st["last_poll"] and st["last_failure"] is None
    assert st["counters"]["messages"] == 1 and st["counters"]["imap_polls"] >= 1
    assert st["settings"]["imap_password"] == "***" and st["chunks_stored"] == 1
    table = cli("mail", "status", "dziennik").output
    assert "IMAP journal mailbox" in table and "last poll" in table and "***" in table
    assert PASSWORD not in table and "listen" not in table

    # A new password, from an environment variable; audited without it.
    monkeypatch.setenv("KUSTOSZ_TEST_IMAP_PASSWORD", "Nowe-hasło-2027")
    cli("mail", "password", "dziennik", "--imap-password-env", "KUSTOSZ_TEST_IMAP_PASSWORD")
    audit = _audit_text(cli.data)
    assert "mailbox.imap_password" in audit and "mailbox.configure" in audit
    assert PASSWORD not in audit and "Nowe-hasło-2027" not in audit

    # Plain IMAP off this machine is allowed, with a clear warning; on loopback, quietly.
    remote = cli("mail", "add", "zdalny", "--imap-host", "10.0.0.5", "--imap-tls", "none",
                 "--imap-user", "journal", "--imap-password-file", str(secret)).output
    assert "unencrypted" in remote
    local = cli("mail", "add", "lokalny", "--imap-host", "localhost", "--imap-tls", "none",
                "--imap-user", "journal", "--imap-password-file", str(secret)).output
    assert "unencrypted" not in local
    assert json.loads(cli("mail", "status", "lokalny", "--json").output)[0]["settings"][
        "imap_port"] == 143


def test_imap_refusals_change_nothing(cli: Cli, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cli("init", "--preset", "elblag")
    cli("mail", "add", "smtp", "--listen", "127.0.0.1:0")
    secret, empty = tmp_path / "haslo", tmp_path / "puste"
    secret.write_text(PASSWORD)
    empty.write_text("\n")
    monkeypatch.delenv("KUSTOSZ_NO_SUCH_VARIABLE", raising=False)
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    imap = ("mail", "add", "x", "--imap-host", "poczta.um.elblag.eu", "--imap-user", "journal")
    pw = ("--imap-password-file", str(secret))
    for args, words in [
        (("mail", "add", "x", "--imap-user", "journal"), "need --imap-host"),
        (("mail", "add", "x", "--keep-on-server"), "need --imap-host"),
        (("mail", "add", "x", "--imap-tls", "starttls"), "need --imap-host"),
        (("mail", "add", "x", *pw), "need --imap-host"),
        (("mail", "add", "x", "--imap-host", "poczta.um.elblag.eu", *pw), "needs --imap-user"),
        (("mail", "add", "x", "--imap-host", "poczta um", "--imap-user", "j", *pw),
         "must be a host name"),
        ((*imap,), "needs its password"),
        ((*imap, "--imap-password-file", str(tmp_path / "nie-ma")),
         "cannot read the IMAP password file"),
        ((*imap, "--imap-password-file", str(tmp_path)), "cannot read the IMAP password file"),
        ((*imap, "--imap-password-file", str(empty)), "is empty"),
        ((*imap, *pw, "--imap-password-env", "X"), "not both"),
        ((*imap, "--imap-password-env", "KUSTOSZ_NO_SUCH_VARIABLE"), "not set or empty"),
        ((*imap, *pw, "--imap-port", "70000"), "between 1 and 65535"),
        ((*imap, *pw, "--imap-port", "0"), "between 1 and 65535"),
        ((*imap, *pw, "--imap-tls", "ssl"), "must be one of imaps, starttls, none"),
        ((*imap, *pw, "--listen", "0.0.0.0:2525"), "--listen is for the SMTP listener"),
        ((*imap, *pw, "--allow-host", "10.0.0.5"), "--allow-host is for the SMTP listener"),
        ((*imap, *pw, "--tls-cert", "/etc/ssl/x.crt", "--require-tls"),
         "--tls-cert, --require-tls are for the SMTP listener"),
        ((*imap, *pw, "--allow-sender", "@elblag.eu"), "--allow-sender is for the SMTP"),
        ((*imap, *pw, "--imap-move-to", "Archiwum"), "needs --keep-on-server"),
        ((*imap, *pw, "--keep-on-server", "--imap-move-to", "INBOX"), "must differ"),
        ((*imap, *pw, "--imap-poll-seconds", "0"), "--imap-poll-seconds must be between"),
        ((*imap, *pw, "--imap-ca-file", str(tmp_path / "brak.pem")), "not a readable file"),
        ((*imap, *pw, "--keep-bodies"), "legal basis"),
        (("mail", "password", "smtp", *pw), "listens for SMTP"),
        (("mail", "password", "nie-ma", *pw), "no source"),
        (("mail", "password", "smtp"), "needs its password"),
    ]:
        result = cli(*args, ok=False)
        assert result.exit_code == 2 and words in result.output, (args, result.output)
        assert PASSWORD not in result.output
    assert snapshot(vault) == before
    vault.close()


def test_serve_polls_imap_mailboxes(elblag: Vault, dovecot: Dovecot,
                                    caplog: pytest.LogCaptureFixture) -> None:
    user = dovecot.add_user()
    dovecot.append(user, delivered(message("Uchwała nr 15/2026", "j.kowalski@elblag.eu",
                                           ["a.nowak@elblag.eu"]), "j.kowalski@elblag.eu"))
    imap_source(elblag, dovecot, user, imap_poll_seconds=1)
    stop, ready = threading.Event(), threading.Event()
    caplog.set_level(logging.INFO, logger="kustosz")
    t = threading.Thread(target=run_serve, args=(elblag, stop),
                         kwargs={"web": None, "on_ready": lambda _pool: ready.set()})
    t.start()
    try:
        assert ready.wait(30), "serve did not get ready"
        wait_for(lambda: dovecot.messages(user) == [], timeout=30)
        dovecot.append(user, delivered(message("Druga", "a.nowak@elblag.eu",
                                               ["j.kowalski@elblag.eu"]), "a.nowak@elblag.eu"))
        wait_for(lambda: dovecot.messages(user) == [], timeout=30)
    finally:
        stop.set()
        t.join(60)
    assert not t.is_alive()
    with elblag.reading() as s:
        assert sorted(m["subject"] for m in search_mail(s)) == ["Druga", "Uchwała nr 15/2026"]
    assert not [p for p in (elblag.root / "spool" / "monitoring").rglob("*.jsonl")]
    assert PASSWORD not in caplog.text
