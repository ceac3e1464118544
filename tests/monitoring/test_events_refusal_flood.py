"""Syslog from senders not on an event source's list, and SMTP from hosts not on a journal
mailbox's (issue 64 item 4, N5: 500 foreign addresses still wrote 670 log lines): each refused
and counted, and together one `input.refused` alert row of the source, saying how many
addresses, and one log line — never a row or a line per address. On loopback any 127.x.y.z is
this machine, and none of them but 127.0.0.1 is on an event source's default list."""

from __future__ import annotations

import logging
import smtplib
import socket

import pytest
from monitoring_helpers import endpoint, events_listener, mail_listener, mailbox, wait_for
from sqlalchemy import func, select

from kustosz.db.models import Alert, InputRefusal
from kustosz.ingest.refusals import flush
from kustosz.states import AlertRow
from kustosz.vault import Vault


def forged(n: int) -> str:
    return f"127.10.{n // 250}.{n % 250 + 1}"


def test_500_forged_syslog_senders_are_one_alert_and_a_line_not_500(
        elblag_sqlite: Vault, caplog: pytest.LogCaptureFixture) -> None:
    """N5: syslog over UDP from 500 addresses not on the source's list (its default: this
    machine's 127.0.0.1 only): each refused and counted, together one alert row naming the
    source's list and how many addresses, and one log line."""
    endpoint(elblag_sqlite)
    caplog.set_level(logging.INFO, logger="kustosz")
    bg = events_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["syslog_udp"][1]
        for n in range(500):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((forged(n), 0))
                sock.sendto("<13>1 2026-12-06T09:15:00+01:00 pc-042 sshd - - - Józef Żółć 🔑\n"
                            .encode(), ("127.0.0.1", port))
            if n % 25 == 24:  # the socket's buffer holds a few hundred: what it drops is unseen
                wait_for(lambda n=n: bg.service.counters.totals["refused_host"] > n, 30)
        assert bg.service.counters.totals["events"] == 0
    finally:
        bg.stop()
    flush(elblag_sqlite)
    with elblag_sqlite.reading() as s:
        alerts = s.execute(select(func.count()).select_from(Alert)
                           .where(Alert.kind == AlertRow.INPUT_REFUSED)).scalar_one()
        row = s.execute(select(InputRefusal)).scalar_one()
    assert alerts == 1 and (row.count, row.addresses) == (500, 500)
    refused_lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused_lines) == 1, [r.getMessage() for r in refused_lines]
    with elblag_sqlite.reading() as s:
        alert = s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)).scalar_one()
    assert alert.source_id is not None  # the event source whose list refused them
    assert alert.message.startswith("Odrzucono dane z 500 adresów (nadawca zdarzeń spoza listy "
                                    "źródła siem): adres nie jest na liście komputerów")


def test_smtp_from_30_hosts_not_on_the_list_is_one_alert_of_the_mailbox(
        elblag_sqlite: Vault) -> None:
    mailbox(elblag_sqlite, allow_hosts=["10.20.0.0/16"])
    bg = mail_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["smtp"][1]
        for n in range(30):
            with pytest.raises(smtplib.SMTPConnectError):
                smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=(forged(n), 0))
        wait_for(lambda: bg.service.counters.totals["refused_host"] == 30)
    finally:
        bg.stop()
    flush(elblag_sqlite)
    with elblag_sqlite.reading() as s:
        (alert,) = s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)).scalars()
        row = s.execute(select(InputRefusal)).scalar_one()
    assert (row.count, row.addresses, row.last_address) == (30, 30, forged(29))
    assert alert.message.startswith("Odrzucono dane z 30 adresów (serwer poczty spoza listy "
                                    "źródła journal): adres nie jest na liście serwerów poczty")
    assert alert.source_id is not None
