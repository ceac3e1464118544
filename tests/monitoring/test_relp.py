"""RELP (issue 14 item 8): syslog with an acknowledgment that is sent only once the message
is on disk. A real rsyslog (`omrelp`) delivers through it; bad frames end the session with
nothing stored; a client that does not open first is refused."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest
from monitoring_helpers import endpoint, events_listener, spool_lines, wait_for
from relp_helpers import RSYSLOGD, Rsyslog, relp_client, rsp
from sqlalchemy import func, select
from tests.conftest import Cli

from kustosz.db.events import MonitoringEvent
from kustosz.ingest.events.relp import Parser
from kustosz.ingest.events.settings import EndpointSettings, endpoint_source
from kustosz.vault import Vault

OPEN = b"relp_version=0\nrelp_software=test,1\ncommands=syslog"


def _frame(txnr: int, command: str, data: bytes = b"") -> bytes:
    if not data:
        return b"%d %s 0\n" % (txnr, command.encode())
    return b"%d %s %d %s\n" % (txnr, command.encode(), len(data), data)


def _spooled(vault: Vault) -> list[str]:
    root = vault.root / "spool" / "monitoring" / "siem"
    return [line for p in root.rglob("chunk.jsonl") for line in p.read_text().splitlines()]


def test_parser_cuts_frames_across_reads_and_stops_at_a_bad_one() -> None:
    p = Parser(max_data=100)
    stream = _frame(1, "open", OPEN) + _frame(2, "syslog", b"<13>a b\nc") + _frame(3, "close")
    frames = []
    for i in range(len(stream)):  # one byte at a time: a frame cut anywhere
        frames += p.feed(stream[i:i + 1])
    assert [(f.txnr, f.command, f.data) for f in frames] == [
        (1, "open", OPEN), (2, "syslog", b"<13>a b\nc"), (3, "close", b"")]
    assert p.error is None
    for bad, why in ((b"x1 syslog 1 a\n", "transaction number"),
                     (b"1 sys-log 1 a\n", "command"),
                     (b"1 syslog 5 abc\n", "longer than its length"),
                     (b"1 syslog 2 abc\n", "longer than its length"),
                     (b"1 syslog 101 " + b"a" * 101 + b"\n", "limit 100"),
                     (b"1234567890 syslog 1 a\n", "transaction number"),
                     (b"<13>Nov 22 10:00:00 plain syslog\n", "transaction number")):
        p = Parser(max_data=100)
        good = p.feed(_frame(7, "syslog", b"ok") + bad + _frame(9, "syslog", b"after"))
        assert [f.txnr for f in good] == [7], bad
        assert p.error and why in p.error, (bad, p.error)
        assert p.feed(_frame(10, "syslog", b"more")) == []  # nothing after an error


def test_acknowledged_messages_are_in_the_open_chunk_on_disk(elblag: Vault) -> None:
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    try:
        port = bg.service.addresses["relp"][1]
        with relp_client(port) as sock:
            sock.sendall(_frame(1, "open", OPEN))
            txnr, code, data = rsp(sock)
            assert (txnr, code) == (1, 200)
            assert b"commands=syslog" in data and b"relp_version=0" in data
            messages = [b"<38>1 2026-11-22T10:00:%02dZ pc-%d sshd - - - Accepted password for "
                        b"jkowalski" % (i, i) for i in range(20)]
            sock.sendall(b"".join(_frame(2 + i, "syslog", m) for i, m in enumerate(messages)))
            answered = [rsp(sock) for _ in messages]
            assert [(t, c) for t, c, _ in answered] == [(2 + i, 200) for i in range(20)]
            # The acknowledgment came after the fsync: the lines are in the file now (read
            # by another file handle, as a restarted process would).
            assert len(_spooled(elblag)) == 20
            assert '"via":"relp"' in _spooled(elblag)[0]
            sock.sendall(_frame(22, "close"))
            assert rsp(sock)[:2] == (22, 200)
            assert sock.recv(100) == b""  # the session ends after close
        bg.flush()
        counts = bg.service.counters.totals
        assert counts["events"] == 20 and counts["relp_bad_frames"] == 0
    finally:
        bg.stop()


@pytest.mark.parametrize("bad, what", [
    (_frame(2, "syslog", b"<13>x")[:-1] + b"X", "no trailer"),
    (b"2 syslog 99999999 <13>x\n", "oversize"),
    (b"two syslog 3 <13>\n", "not a number"),
    (b"2 syslog -3 <13>\n", "negative length"),
])
def test_a_malformed_frame_ends_the_session_and_stores_nothing(elblag: Vault, bad: bytes,
                                                                what: str) -> None:
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    try:
        port = bg.service.addresses["relp"][1]
        with relp_client(port) as sock:
            sock.sendall(_frame(1, "open", OPEN))
            assert rsp(sock)[:2] == (1, 200)
            sock.sendall(bad)
            rest = b""
            while chunk := sock.recv(1000):
                rest += chunk
            assert rest == b"0 serverclose 0\n", what
        assert _spooled(elblag) == []
        assert bg.service.counters.totals["relp_bad_frames"] == 1
        assert bg.service.counters.totals["events"] == 0
    finally:
        bg.stop()


def test_unknown_command_is_answered_500_and_the_session_goes_on(elblag: Vault) -> None:
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    try:
        with relp_client(bg.service.addresses["relp"][1]) as sock:
            sock.sendall(_frame(1, "open", OPEN) + _frame(2, "starttls", b"x")
                         + _frame(3, "syslog", b"<13>after the bad one"))
            assert [rsp(sock)[:2] for _ in range(3)] == [(1, 200), (2, 500), (3, 200)]
        assert len(_spooled(elblag)) == 1
        assert bg.service.counters.totals["relp_bad_frames"] == 1
    finally:
        bg.stop()


@pytest.mark.parametrize("first", [
    _frame(1, "syslog", b"<13>without open"),
    _frame(1, "open", b"relp_version=0\ncommands=something"),
])
def test_a_client_that_does_not_open_with_syslog_first_is_refused(elblag: Vault,
                                                                  first: bytes) -> None:
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    try:
        with relp_client(bg.service.addresses["relp"][1]) as sock:
            sock.sendall(first + _frame(2, "syslog", b"<13>and then this"))
            txnr, code, _ = rsp(sock)
            assert (txnr, code) == (1, 500)
            rest = b""
            while chunk := sock.recv(1000):
                rest += chunk
            assert rest == b"0 serverclose 0\n"  # and nothing for frame 2
        assert _spooled(elblag) == []
        assert bg.service.counters.totals["relp_refused"] == 1
    finally:
        bg.stop()


def test_a_stopping_listener_answers_what_it_read_then_says_serverclose(
        elblag: Vault) -> None:
    """A clean stop (`systemctl stop`) does not leave the sender waiting for answers, and
    nothing stored goes unacknowledged (which the sender would send again)."""
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    stopped = False
    try:
        with relp_client(bg.service.addresses["relp"][1]) as sock:
            sock.sendall(_frame(1, "open", OPEN)
                         + b"".join(_frame(i, "syslog", b"<13>m%d" % i) for i in range(2, 12)))
            assert [rsp(sock)[:2] for _ in range(11)] == [(i, 200) for i in range(1, 12)]
            started = time.monotonic()
            bg.stop()
            stopped = True
            assert time.monotonic() - started < 5
            rest = b""
            while chunk := sock.recv(1000):
                rest += chunk
            assert rest == b"0 serverclose 0\n"
    finally:
        if not stopped:
            bg.stop()
    with elblag.reading() as s:
        assert s.execute(select(func.count()).select_from(MonitoringEvent)).scalar() == 10


def test_the_allow_list_holds_for_relp(elblag: Vault) -> None:
    endpoint(elblag, relp="127.0.0.1:0", allow_hosts=["10.9.9.9"])
    bg = events_listener(elblag)
    try:
        with (relp_client(bg.service.addresses["relp"][1]) as sock,
              contextlib.suppress(ConnectionResetError, BrokenPipeError)):
            sock.sendall(_frame(1, "open", OPEN))
            assert sock.recv(100) == b""  # closed unanswered (or reset)
        assert _spooled(elblag) == []
        assert bg.service.counters.totals["refused_host"] == 1
    finally:
        bg.stop()


@pytest.mark.skipif(RSYSLOGD is None or not Rsyslog.has_omrelp(),
                    reason="rsyslogd with omrelp is not installed (Debian rsyslog, "
                           "rsyslog-relp; `make test` installs them when run as root)")
def test_rsyslog_omrelp_delivers_every_line(elblag: Vault, tmp_path: Path) -> None:
    endpoint(elblag, relp="127.0.0.1:0")
    bg = events_listener(elblag)
    sender = Rsyslog(tmp_path / "rsyslog", bg.service.addresses["relp"][1])
    try:
        sender.start()
        sender.write_lines([f"line {i} of the file" for i in range(500)])
        wait_for(lambda: spool_lines(elblag, "siem") >= 500, 30)
        lines = _spooled(elblag)
        assert len(lines) == 500
        assert all('"via":"relp"' in line for line in lines)
        assert '"app":"kustosz-test"' in lines[0]
    finally:
        sender.stop()
        bg.stop()
    assert os.path.exists(sender.pidfile) is False


def test_relp_port_is_configured_like_the_syslog_ports(cli: Cli) -> None:
    """`events add --relp` and `events set --relp` (a bad address refused, nothing changed)."""
    cli("init", "--preset", "elblag")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = cli("events", "add", "siem", "--relp", f"127.0.0.1:{port}").output
    assert "siem" in out
    cli("events", "set", "siem", "--relp", "127.0.0.1:20514")
    bad = cli("events", "set", "siem", "--relp", "nowhere", ok=False)
    assert bad.exit_code != 0 and "HOST:PORT" in bad.output
    vault = Vault.open(cli.data)
    try:
        with vault.reading() as s:
            assert EndpointSettings.of(endpoint_source(s, "siem").settings).relp \
                == "127.0.0.1:20514"
    finally:
        vault.close()
