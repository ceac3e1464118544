"""Event listeners without an allow-list take events from this machine only (issue 11, item 8).

An endpoint source bound on 0.0.0.0 used to accept syslog and JSON from any host that could
reach the port, so anyone on the office network could write into the monitoring record
(R1.10). Real sockets: the listener binds every address and a client sends from the
machine's own non-loopback address, which a listener bound on 0.0.0.0 sees as a foreign peer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
from monitoring_helpers import endpoint, events_listener, wait_for

from kustosz.ingest.chunks.service import Background
from kustosz.ingest.events.search import search_events
from kustosz.vault import Vault

EVERYWHERE = {"syslog_udp": "0.0.0.0:0", "syslog_tcp": "0.0.0.0:0", "http": "0.0.0.0:0"}
LINE = b"<13>1 2026-11-20T09:15:00+01:00 pc-042 sshd - - - Failed password for jkowalski\n"


def own_address() -> str:
    """This machine's first non-loopback IPv4 address, or skip: without one nothing can come
    from "another host" here."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5,
                             check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    found = [a for a in out if "." in a and not a.startswith("127.")]
    if not found:
        pytest.skip("this machine has no non-loopback IPv4 address to send from")
    return found[0]


def send_all(bg: Background, source_ip: str, token: str | None) -> int | None:
    """One event over UDP, TCP and HTTP from ``source_ip``; returns the HTTP status (None
    when the listener closed the connection without an answer)."""
    addr = bg.service.addresses
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((source_ip, 0))
        udp.sendto(LINE, (source_ip, addr["syslog_udp"][1]))
    with socket.create_connection((source_ip, addr["syslog_tcp"][1]), timeout=5,
                                  source_address=(source_ip, 0)) as tcp:
        tcp.sendall(LINE)
        with contextlib.suppress(OSError):
            tcp.shutdown(socket.SHUT_WR)
            tcp.recv(1)  # wait for the listener to read and close
    body = json.dumps({"time": "2026-11-20T09:16:00+01:00", "host": "pc-042",
                       "message": "USB device connected"}).encode()
    with socket.create_connection((source_ip, addr["http"][1]), timeout=5,
                                  source_address=(source_ip, 0)) as http:
        http.sendall(b"POST /events HTTP/1.1\r\nHost: kustosz\r\nContent-Type: "
                     b"application/json\r\nConnection: close\r\nAuthorization: Bearer "
                     + (token or "").encode() + b"\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := http.recv(4096):
                answer += chunk
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_without_an_allow_list_only_loopback_may_send(
        elblag_sqlite: Vault, caplog: pytest.LogCaptureFixture) -> None:
    """R1.10: nobody outside the machine writes events unless the office lists them."""
    foreign = own_address()
    token = endpoint(elblag_sqlite, **EVERYWHERE)
    with caplog.at_level(logging.WARNING, logger="kustosz.ingest.events.intake"):
        bg = events_listener(elblag_sqlite)
    try:
        assert any("accepting events only from 127.0.0.1/::1" in r.getMessage()
                   for r in caplog.records), "the start does not say who may send"
        assert send_all(bg, foreign, token) is None  # refused before any HTTP answer
        wait_for(lambda: bg.service.counters.totals["refused_host"] == 3)
        assert bg.service.counters.totals["events"] == 0
        assert send_all(bg, "127.0.0.1", token) == 202
        wait_for(lambda: bg.service.counters.totals["events"] == 3)
        bg.flush()
    finally:
        bg.stop()
    with elblag_sqlite.reading() as s:
        assert len(search_events(s, limit=10)) == 3  # the loopback ones only


def test_a_listed_host_may_send_and_the_start_says_nothing(
        elblag_sqlite: Vault, caplog: pytest.LogCaptureFixture) -> None:
    """The office's own list replaces the loopback default (and the notice goes away)."""
    foreign = own_address()
    token = endpoint(elblag_sqlite, allow_hosts=[foreign], **EVERYWHERE)
    with caplog.at_level(logging.WARNING, logger="kustosz.ingest.events.intake"):
        bg = events_listener(elblag_sqlite)
    try:
        assert not any("accepting events only" in r.getMessage() for r in caplog.records)
        assert send_all(bg, foreign, token) == 202
        wait_for(lambda: bg.service.counters.totals["events"] == 3)
        assert send_all(bg, "127.0.0.1", token) is None  # not on the office's list
        wait_for(lambda: bg.service.counters.totals["refused_host"] == 3)
        bg.flush()
    finally:
        bg.stop()
    with elblag_sqlite.reading() as s:
        assert len(search_events(s, limit=10)) == 3  # the listed host's only


def test_http_refusal_is_a_closed_connection_not_an_error_page(elblag_sqlite: Vault) -> None:
    """A refused peer learns nothing (no status, no body), like the syslog ports."""
    foreign = own_address()
    token = endpoint(elblag_sqlite, **EVERYWHERE)
    bg = events_listener(elblag_sqlite)
    try:
        port = bg.service.addresses["http"][1]
        req = urllib.request.Request(f"http://{foreign}:{port}/events", data=b"{}",
                                     headers={"Authorization": f"Bearer {token}"})
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(req, timeout=5)
    finally:
        bg.stop()
