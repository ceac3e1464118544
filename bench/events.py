"""Benchmark: syslog intake over TCP on loopback, and metadata intake of journal messages.

Part 1 sends ``--events`` RFC 5424 lines (newline framing) over ``--connections`` TCP
connections from separate client processes to an endpoint source's listener and times until
every event is in the open chunk (parsed, categorised, appended; target >= 20 000 events/s),
then times closing the chunk (copy into storage, hash, index rows).

Part 2 sends ``--messages`` journal messages (multipart, Polish encoded-word subject, one
attachment) with smtplib over ``--smtp-clients`` parallel connections and times until every
message's metadata line is durable (each "250" waits for the fsync, shared between clients),
then times closing the chunk.

Run: `.venv/bin/python bench/events.py [--events 200000] [--messages 10000]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import _smoke  # bench/ is the script's folder
from kustosz.ingest.chunks.service import Background
from kustosz.ingest.events.intake import EventIntake
from kustosz.ingest.events.settings import EndpointSettings, add_endpoint_source
from kustosz.ingest.mail.listener import MailIntake
from kustosz.ingest.mail.settings import MailSettings, add_mail_source
from kustosz.vault import Vault

LINES = [
    "sshd[811]: Failed password for invalid user admin from 10.1.2.{i} port 50022 ssh2",
    "suricata: ET MALWARE Win32/Emotet CnC Beacon src=10.1.3.{i} dst=203.0.113.9",
    "dhcpd: DHCPACK on 10.1.4.{i} to aa:bb:cc:dd:ee:{i:02x} via eth0",
    "agent: user=jkowalski{i} active window: Word - Uchwała.docx",
]


def _syslog_lines(start: int, count: int) -> bytes:
    batch = []
    for n in range(start, start + count):
        text = LINES[n % 4].format(i=n % 250)
        batch.append(f"<38>1 2026-11-21T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z pc-{n % 300} "
                     f"app - - - {text}\n".encode())
    return b"".join(batch)


def _syslog_client(args: tuple[int, bytes]) -> None:
    port, data = args
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)


_TEMPLATE: bytes | None = None


def _message(n: int) -> bytes:
    """A journal copy: built once with the email package, then only the numbers change (the
    clients' CPU is the listener's CPU on a small machine)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        msg = EmailMessage()
        msg["From"] = "Pracownik NNNNNN <pNNNNNN@elblag.eu>"
        msg["To"] = "kNNNNNN@elblag.eu, sekretariat@elblag.eu"
        msg["Subject"] = "Zażółć gęślą jaźń — sprawa"
        msg["Message-ID"] = "<NNNNNN.bench@elblag.eu>"
        msg["Date"] = "Sat, 21 Nov 2026 10:00:00 +0100"
        msg.set_content("Treść służbowa " * 40)
        msg.add_attachment(b"%PDF-1.4 " + bytes(8000), maintype="application", subtype="pdf",
                           filename="pismo.pdf")
        _TEMPLATE = msg.as_bytes(policy=default.clone(linesep="\r\n"))
    return _TEMPLATE.replace(b"NNNNNN", b"%06d" % n)


def _smtp_client(args: tuple[int, int, int]) -> None:
    port, start, count = args
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for n in range(start, start + count):
            smtp.sendmail(f"p{n % 400}@elblag.eu", ["journal@kustosz.elblag.eu"], _message(n))


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    size = total // parts
    return [(i * size, size if i < parts - 1 else total - size * (parts - 1))
            for i in range(parts)]


def _wait(check: object, total: int, what: str) -> None:
    while check() < total:  # type: ignore[operator]
        time.sleep(0.01)


def bench_syslog(root: Path, events: int, connections: int) -> None:
    vault = Vault.init(root / "syslog", "elblag", actor="bench")
    with vault.transaction() as s:
        add_endpoint_source(s, vault.policy, "siem", "bench",
                            EndpointSettings(syslog_tcp="127.0.0.1:0"))
    bg = Background(lambda: EventIntake(vault, "siem"))
    port = bg.service.addresses["syslog_tcp"][1]
    totals = bg.service.counters.totals
    # Built before the clock starts: the clients' formatting is not the listener's work.
    jobs = [(port, _syslog_lines(a, n)) for a, n in _split(events, connections)]
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        started = time.perf_counter()
        pool.map(_syslog_client, jobs)
        _wait(lambda: totals["events"], events, "events")
        took = time.perf_counter() - started
    t0 = time.perf_counter()
    bg.flush()
    closing = time.perf_counter() - t0
    bg.stop()
    _smoke.check_vault(vault)
    vault.close()
    print(f"syslog TCP: {events} events over {connections} connection(s) in {took:.2f} s = "
          f"{events / took:,.0f} events/s (target >= 20,000); closing the chunk (store + "
          f"index) {closing:.2f} s = {events / closing:,.0f} events/s")


def bench_mail(root: Path, messages: int, clients: int) -> None:
    vault = Vault.init(root / "mail", "elblag", actor="bench")
    with vault.transaction() as s:
        add_mail_source(s, vault.policy, "journal", "bench",
                        MailSettings(listen="127.0.0.1:0", office_domains=["elblag.eu"]))
    bg = Background(lambda: MailIntake(vault, "journal"))
    port = bg.service.addresses["smtp"][1]
    totals = bg.service.counters.totals
    jobs = [(port, a, n) for a, n in _split(messages, clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        started = time.perf_counter()
        pool.map(_smtp_client, jobs)
        _wait(lambda: totals["messages"], messages, "messages")
        took = time.perf_counter() - started
    t0 = time.perf_counter()
    bg.flush()
    closing = time.perf_counter() - t0
    bg.stop()
    _smoke.check_vault(vault)
    vault.close()
    print(f"journal SMTP: {messages} messages ({len(_message(0)) // 1024} KiB each) over "
          f"{clients} connection(s) in {took:.2f} s = {messages / took:,.0f} messages/s; "
          f"closing the chunk {closing:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--smtp-clients", type=int, default=8)
    args = _smoke.parse(parser, {"events": 200, "connections": 1, "messages": 10,
                                 "smtp_clients": 1})
    with tempfile.TemporaryDirectory(prefix="kustosz-bench-") as tmp:
        bench_syslog(Path(tmp), args.events, args.connections)
        bench_mail(Path(tmp), args.messages, args.smtp_clients)


if __name__ == "__main__":
    main()
