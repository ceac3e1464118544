"""An acknowledgment means it is on disk (issue 14 item 8): a real `kustosz serve` is killed
with SIGKILL while clients send, restarted, and every event or message it had acknowledged
is in the vault afterwards.

- JSON over HTTP: before the fix "202" was sent before the fsync (10 of 2 400 acknowledged
  events lost over 8 runs with 2 kills each). Clients post batches with a sequence number;
  each batch answered 202 must be stored.
- SMTP journal: "250" follows the fsync; a message the mail server sends again because it did
  not hear the "250" (the kill came between the fsync and the answer) is recognised by
  Message-ID + SHA-256 and kept once. The client here sends every message again after the
  restart — acknowledged or not, as a mail server that lost its state would — and each must
  be stored exactly once.
- RELP: a real rsyslogd (`omrelp`) follows a file that a writer keeps appending to; it keeps
  what was not acknowledged and sends it again after the restart. Every line written must be
  stored (duplicates of lines caught between the fsync and the answer are allowed and
  counted: RELP is at-least-once).
"""

from __future__ import annotations

import json
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.db.events import MailMessage
from kustosz.db.models import Recording, Source
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.monitoring.relp_helpers import RSYSLOGD, Rsyslog

KILLS = 2  # per test run: each kill is followed by a restart
SEND_BEFORE_KILL_S = 1.5
ACKS_WITHIN_S = 240  # a hang detector: the acknowledgments a run must see before its kill
LISTENING_WITHIN_S = 240
# rsyslog delivers what it holds in its own time: at load 20 on two cores about 1 000 lines a
# second, far slower than the writer writes, and after a restart it reconnects only when its
# back-off (resumeInterval × (retries / 10 + 1)) allows. So the test waits for as long as
# lines keep arriving; it gives up when none has for this long (rsyslog stuck, or serve).
DELIVERY_STALL_S = 120
DELIVERY_WITHIN_S = 1200  # the overall bound of that wait


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Serve:
    """`python -m kustosz --data DIR serve` in its own process."""

    def __init__(self, data: Path, name: str) -> None:
        self.log = data.parent / f"serve-{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kustosz", "--data", str(data), "serve", "--port",
                 str(_port())], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def wait_listening(self, port: int) -> None:
        # A hang detector, not a promise: at load 20 on two cores a restarted serve took 35 s
        # from exec to its listener (imports, start-up recovery, the chunk the killed run left).
        deadline = time.monotonic() + LISTENING_WITHIN_S
        while not _listening(port):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"no listener on {port}:\n{self.log.read_text()}"
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"serve did not stop:\n{self.log.read_text()}")
        text = self.log.read_text()
        assert "Traceback" not in text, text


@pytest.fixture
def serves() -> Iterator[list[Serve]]:
    running: list[Serve] = []
    yield running
    for one in running:
        if one.proc.poll() is None:
            one.proc.kill()
            one.proc.wait()


def _stored_lines(data: Path, source: str) -> list[dict[str, object]]:
    """Every line of the source's stored chunks (after a clean stop nothing is spooled)."""
    vault = Vault.open(data)
    try:
        with vault.reading() as s:
            keys = list(s.execute(
                select(Recording.storage_key).join(Source, Source.id == Recording.source_id)
                .where(Source.name == source, Recording.state == "stored")).scalars())
        lines = []
        for key in keys:
            path = vault.storage.path(key)
            if path.suffix == ".eml":
                continue
            lines += [json.loads(raw) for raw in path.read_bytes().splitlines()]
        return lines
    finally:
        vault.close()


def _run_kills(cli: Cli, serves: list[Serve], port: int, send: Callable[[threading.Event], None],
               clients: int, acked: Callable[[], int], at_least: int) -> None:
    """Start serve, let ``clients`` threads send, SIGKILL, restart — KILLS times; then a
    final restart and a clean stop (everything spooled is taken in). Each run is killed once
    SEND_BEFORE_KILL_S have passed and ``acked()`` has grown by ``at_least`` — on a loaded
    machine a fixed window acknowledged too few to say anything (47 SMTP messages in a
    fresh-clone run beside another suite, issue 27); ACKS_WITHIN_S bounds that wait."""
    for n in range(KILLS):
        serve = Serve(cli.data, f"{n}")
        serves.append(serve)
        serve.wait_listening(port)
        stop = threading.Event()
        threads = [threading.Thread(target=send, args=(stop,)) for _ in range(clients)]
        for t in threads:
            t.start()
        began, first = time.monotonic(), acked()
        deadline = began + ACKS_WITHIN_S
        while time.monotonic() < deadline and (time.monotonic() - began < SEND_BEFORE_KILL_S
                                               or acked() - first < at_least):
            assert serve.proc.poll() is None, serve.log.read_text()
            time.sleep(0.05)
        serve.kill()  # while the clients are sending
        stop.set()
        for t in threads:
            t.join(30)
    last = Serve(cli.data, "last")
    serves.append(last)
    last.wait_listening(port)
    last.stop()


# -- JSON over HTTP ---------------------------------------------------------------------------
def test_json_events_acknowledged_before_a_kill_are_all_stored(tmp_path: Path,
                                                               serves: list[Serve]) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "elblag")
    port = _port()
    out = cli("events", "add", "siem", "--http", f"127.0.0.1:{port}").output
    token = re.search(r"API token \(shown only now\): (\S+)", out).group(1)  # type: ignore[union-attr]
    acked: list[str] = []
    sent = Counter[str]()
    lock = threading.Lock()
    seq = iter(range(10**9))

    def send(stop: threading.Event) -> None:
        while not stop.is_set():
            with lock:
                batch = [f"e{next(seq)}" for _ in range(5)]
            body = json.dumps([{"time": "2026-11-22T10:00:00+01:00", "host": "pc-1",
                                "message": "usb connected", "seq": s} for s in batch]).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/events", data=body, method="POST",
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})
            sent["batches"] += 1
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    result = json.loads(answer.read())
                if answer.status == 202 and result["accepted"] == len(batch):
                    with lock:
                        acked.extend(batch)
            except (OSError, urllib.error.URLError, ValueError):
                sent["failed"] += 1
                time.sleep(0.05)

    _run_kills(cli, serves, port, send, clients=4, acked=lambda: len(acked), at_least=120)
    stored = Counter(str(line["data"]["seq"]) for line in _stored_lines(cli.data, "siem")
                     if isinstance(line.get("data"), dict))
    lost = [s for s in acked if s not in stored]
    print(f"JSON: {len(acked)} acknowledged, {len(stored)} stored, {len(lost)} acknowledged "
          f"and lost over {KILLS} kills; {sent['failed']} requests failed at the kills")
    assert len(acked) > 200  # the clients really were sending
    assert lost == []
    assert all(n == 1 for n in stored.values())  # JSON clients here never resend


# -- SMTP journal ----------------------------------------------------------------------------
def _message(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "jan.kowalski@elblag.eu"
    msg["To"] = "biuro@example.com"
    msg["Subject"] = f"Pismo {i}"
    msg["Date"] = "Sun, 22 Nov 2026 10:00:00 +0100"
    msg["Message-ID"] = f"<kill-{i}@elblag.eu>"
    msg.set_content(f"Treść pisma {i}")
    return msg


def test_smtp_journal_loses_nothing_and_keeps_a_resent_message_once(
        tmp_path: Path, serves: list[Serve]) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "elblag")
    port = _port()
    cli("mail", "add", "journal", "--listen", f"127.0.0.1:{port}", "--office-domain",
        "elblag.eu")
    acked: list[int] = []
    tried: list[int] = []
    lock = threading.Lock()
    seq = iter(range(10**9))

    def send(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                    while not stop.is_set():
                        with lock:
                            i = next(seq)
                            tried.append(i)
                        smtp.send_message(_message(i))  # returns after the "250"
                        with lock:
                            acked.append(i)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    _run_kills(cli, serves, port, send, clients=3, acked=lambda: len(acked), at_least=30)
    # The mail server's retries: everything again, acknowledged or not (a message whose
    # fsync came before a kill is already stored and must not be kept twice).
    again = Serve(cli.data, "retry")
    serves.append(again)
    again.wait_listening(port)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in tried:
            smtp.send_message(_message(i))
        for i in tried[-20:]:  # and within one run: the copy still in the open chunk
            smtp.send_message(_message(i))
    again.stop()
    vault = Vault.open(cli.data)
    try:
        with vault.reading() as s:
            ids = Counter(s.execute(select(MailMessage.message_id)).scalars())
    finally:
        vault.close()
    lost = [i for i in acked if f"<kill-{i}@elblag.eu>" not in ids]
    twice = {k: n for k, n in ids.items() if n > 1}
    print(f"SMTP: {len(acked)} acknowledged before the kills, {len(tried)} tried, "
          f"{len(ids)} stored, {len(lost)} acknowledged and lost, {len(twice)} stored twice")
    assert len(acked) > 50
    assert lost == [] and twice == {}
    assert set(ids) == {f"<kill-{i}@elblag.eu>" for i in tried}


# -- RELP from a real rsyslog -----------------------------------------------------------------
@pytest.mark.slow  # about 25 s: rsyslog waits a second or more before it reconnects
@pytest.mark.skipif(RSYSLOGD is None or not Rsyslog.has_omrelp(),
                    reason="rsyslogd with omrelp is not installed (Debian rsyslog, "
                           "rsyslog-relp; `make test` installs them when run as root)")
def test_relp_from_rsyslog_loses_no_line_across_kills(tmp_path: Path,
                                                      serves: list[Serve]) -> None:
    cli = Cli(tmp_path / "vault")
    cli("init", "--preset", "elblag")
    port = _port()
    cli("events", "add", "siem", "--relp", f"127.0.0.1:{port}")
    sender = Rsyslog(tmp_path / "rsyslog", port)
    written: list[int] = []
    try:
        serve = Serve(cli.data, "0")
        serves.append(serve)
        serve.wait_listening(port)
        sender.start()
        stop = threading.Event()

        def write() -> None:
            i = 0
            while not stop.is_set():
                sender.write_lines([f"line {n} from the file" for n in range(i, i + 20)])
                written.extend(range(i, i + 20))
                i += 20
                time.sleep(0.01)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for n in range(KILLS):
                time.sleep(SEND_BEFORE_KILL_S)
                serve.kill()  # rsyslog is sending
                time.sleep(0.5)
                serve = Serve(cli.data, f"{n + 1}")
                serves.append(serve)
                serve.wait_listening(port)
            time.sleep(SEND_BEFORE_KILL_S)
        finally:
            stop.set()
            writer.join(10)
        assert not writer.is_alive()
        # rsyslog resends what was not acknowledged and works through its queue; wait until
        # the last line written is here (a fixed 60 s, as before, ended under load with tens
        # of thousands of lines still in rsyslog's queue, none acknowledged: issue 27).
        spool = cli.data / "spool" / "monitoring" / "siem"
        delivered = _wait_delivered(spool, written[-1])
    finally:
        sender.stop()
    serve.stop()
    # serve keeps its 10 s stop even when closing the chunk takes longer (under load): the
    # chunk then waits in the spool, durable, and the next start takes it in before it
    # listens. That start is the end of the story an acknowledgment promises.
    if any(spool.rglob("chunk.jsonl")):
        last = Serve(cli.data, "last")
        serves.append(last)
        last.wait_listening(port)
        last.stop()
    assert not any(p.read_bytes() for p in spool.rglob("chunk.jsonl")), "left in the spool"
    numbers = Counter(int(m.group(1)) for line in _stored_lines(cli.data, "siem")
                      if (m := re.match(r"line (\d+) from", str(line["message"]))))
    lost = [i for i in written if i not in numbers]
    twice = sum(n - 1 for n in numbers.values())
    print(f"RELP: {len(written)} lines written, {len(numbers)} stored, {len(lost)} lost, "
          f"{twice} stored again after a kill (at-least-once) over {KILLS} kills")
    assert len(written) > 1000
    # rsyslog sends in order and resends from the first line it holds unacknowledged, so a
    # line missing below the highest one stored was acknowledged and then lost.
    top = max(numbers)
    gaps = [i for i in written if i < top and i not in numbers]
    assert gaps == [], f"acknowledged and lost: {gaps[:20]}"
    assert lost == [], (f"not delivered by rsyslog ({delivered})", lost[:20],
                        sender.log.read_text()[-2000:])


def _wait_delivered(spool: Path, last: int) -> str:
    """Wait until the line numbered ``last`` is in the spool, for as long as the spool keeps
    growing (DELIVERY_STALL_S without a new byte ends it) and at most DELIVERY_WITHIN_S;
    says how it ended."""
    needle = f"line {last} from".encode()
    started = moved = time.monotonic()
    size = -1
    while True:
        files = list(spool.rglob("chunk.jsonl"))
        now_size = sum(p.stat().st_size for p in files)
        if now_size != size:
            size, moved = now_size, time.monotonic()
            if any(needle in p.read_bytes() for p in files):
                return f"all here after {time.monotonic() - started:.0f} s"
        if time.monotonic() - moved > DELIVERY_STALL_S:
            return f"nothing new for {DELIVERY_STALL_S} s"
        if time.monotonic() - started > DELIVERY_WITHIN_S:
            return f"still arriving after {DELIVERY_WITHIN_S} s"
        time.sleep(1)
