"""`kustosz serve` runs the mail journal and event listeners of the vault next to the
recorders: a syslog line over TCP and a message over SMTP are stored when serve stops, and a
listener whose port is taken is logged while the others keep serving."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading

import pytest
from monitoring_helpers import endpoint, mailbox, message
from sqlalchemy import select

from kustosz.cli.serve import run_serve
from kustosz.db.models import Recording
from kustosz.ingest.events.search import search_events
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_listeners_and_stores_on_stop(elblag: Vault,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    smtp_port, syslog_port = free_port(), free_port()
    mailbox(elblag, listen=f"127.0.0.1:{smtp_port}")
    endpoint(elblag, "siem", syslog_tcp=f"127.0.0.1:{syslog_port}", syslog_udp="", http="")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    endpoint(elblag, "zajety", syslog_tcp=f"127.0.0.1:{busy.getsockname()[1]}",
             syslog_udp="", http="")
    stop, ready = threading.Event(), threading.Event()
    caplog.set_level(logging.INFO, logger="kustosz")
    t = threading.Thread(target=run_serve, args=(elblag, stop),
                         kwargs={"web": None, "on_ready": lambda _pool: ready.set()})
    t.start()
    try:
        assert ready.wait(30), "serve did not get ready"
        with socket.create_connection(("127.0.0.1", syslog_port), timeout=10) as s:
            s.sendall(b"<38>1 2026-11-20T09:15:00+01:00 pc-042 sshd 77 - - "
                      b"Failed password for jkowalski from 10.1.2.3 port 22\n")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(message("Uchwała nr 15/2026", "j.kowalski@elblag.eu",
                                      ["a.nowak@elblag.eu"]),
                              from_addr="j.kowalski@elblag.eu",
                              to_addrs=["journal@kustosz.elblag.eu"])
    finally:
        stop.set()
        t.join(60)
        busy.close()
    assert not t.is_alive()
    assert any("zajety" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)
    with elblag.reading() as s:
        events = search_events(s, source="siem")
        assert [(e["host"], e["app"]) for e in events] == [("pc-042", "sshd")]
        assert [m["subject"] for m in search_mail(s)] == ["Uchwała nr 15/2026"]
        kinds = sorted(r.kind for r in s.execute(select(Recording)).scalars())
        assert kinds == ["endpoint", "mailbox"]
    # The open chunks were closed and taken in: nothing waits in the spool.
    assert not [p for p in (elblag.root / "spool" / "monitoring").rglob("*.jsonl")]
