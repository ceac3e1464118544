"""Journal mail through a real Postfix (Debian's package): a private instance on 127.0.0.1 with
the README's setup — ``always_bcc`` plus a hash transport map that sends the journal address to
the Kustosz listener — and messages sent into it with smtplib, as an office's users would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from monitoring_helpers import mail_listener, mailbox, message
from sqlalchemy import select

from kustosz.db.models import Recording
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

POSTFIX = "/usr/sbin/postfix"
JOURNAL = "journal@kustosz.elblag.eu"
PDF = b"%PDF-1.4 uchwala " * 1000
XLSX = bytes(range(256)) * 40

pytestmark = [
    pytest.mark.skipif(not os.path.exists(POSTFIX),
                       reason="Debian's postfix is not installed (make test installs it as root)"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="a Postfix master runs as root and checks file ownership; run as "
                              "root (make test as root installs and runs it)"),
]

# Everything Postfix runs goes through these daemons; none chrooted, because a chroot would need
# copies of /etc files inside the temporary queue directory.
MASTER_CF = """\
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
smtp       unix  - - n -  - smtp
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postfix:
    """One private Postfix instance: its own config, queue and data directories and log file,
    so it shares nothing with a system Postfix (which need not even be configured)."""

    def __init__(self, root: Path, journal_port: int) -> None:
        self.etc, self.queue = root / "etc", root / "queue"
        self.log = root / "postfix.log"
        self.port = _free_port()
        self.etc.mkdir()
        self.queue.mkdir()  # root-owned; Postfix makes its subdirectories and data directory
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {root / "data"}
myhostname = poczta.elblag.eu
mydomain = elblag.eu
myorigin = $mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
maillog_file = {self.log}
maillog_file_prefixes = {root}
always_bcc = {JOURNAL}
transport_maps = hash:{self.etc / "transport"}
# The office's own and outside mail goes nowhere: only the journal copy leaves this machine.
default_transport = discard:delivered by the test
# A journal copy the listener answered with 4xx is tried again within the test's patience.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
""")
        (self.etc / "master.cf").write_text(
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n" + MASTER_CF)
        (self.etc / "transport").write_text(f"{JOURNAL}   smtp:[127.0.0.1]:{journal_port}\n")
        # Postfix reads a configuration file only once it is 2 s old (it may still be being
        # edited), sleeping until then: backdated, the instance starts in a fraction of that.
        past = time.time() - 60
        for path in self.etc.iterdir():
            os.utime(path, (past, past))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=30)

    def start(self) -> None:
        made = self.run("/usr/sbin/postmap", "-c", str(self.etc), f"hash:{self.etc / 'transport'}")
        assert made.returncode == 0, made.stderr
        # `start` returns once the master is up and listening (it waits for its status).
        started = self.run(POSTFIX, "-c", str(self.etc), "start")
        if started.returncode != 0:
            pytest.fail(f"postfix did not start: {started.stderr}\n{self.log_text()}")

    def stop(self) -> None:
        pid_file = self.queue / "pid" / "master.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
        self.run(POSTFIX, "-c", str(self.etc), "stop")
        # `postfix stop` only signals the master: wait for it to go, so that its directories
        # are not removed under daemons still running.
        deadline = time.monotonic() + 10
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and _alive(pid):
            self.run(POSTFIX, "-c", str(self.etc), "abort")

    def queue_ids(self) -> list[str] | None:
        """What waits in the queue (None: postqueue could not tell)."""
        listed = self.run("/usr/sbin/postqueue", "-c", str(self.etc), "-j")
        if listed.returncode != 0:
            return None
        return [json.loads(line)["queue_id"] for line in listed.stdout.splitlines() if line]

    def journalled(self) -> list[str]:
        """Queue IDs whose journal copy the listener accepted, by Postfix's log."""
        return re.findall(rf"postfix/smtp\[\d+\]: (\w+): to=<{re.escape(JOURNAL)}>, "
                          rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent "
                          r"\(250 2\.0\.0 Journalled\)", self.log_text())

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else "(no log)"

    def diagnostics(self) -> str:
        queue = self.run("/usr/sbin/postqueue", "-c", str(self.etc), "-p")
        return (f"postqueue -p:\n{queue.stdout}{queue.stderr}\n"
                f"postfix log ({self.log}):\n{self.log_text()[-6000:]}")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has released its lock


@pytest.fixture
def postfix_root() -> Iterator[Path]:
    # Not under pytest's tmp_path: that is private to root (0700), and Postfix's daemons, which
    # run as the postfix user, open the data directory and the log by absolute path.
    root = Path(tempfile.mkdtemp(prefix="kustosz-postfix-"))
    root.chmod(0o755)
    yield root
    # Daemons the master signalled may still be exiting and write a last line to the log.
    for _ in range(50):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            break
        time.sleep(0.1)


def send(port: int, msg: EmailMessage | bytes, sender: str, rcpts: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if isinstance(msg, bytes):
            smtp.sendmail(sender, rcpts, msg)
        else:
            smtp.send_message(msg, from_addr=sender, to_addrs=rcpts)


def wait_delivered(postfix: Postfix, copies: int, taken: Callable[[], int],
                   timeout: float = 20.0) -> None:
    """Until the listener took the copies, Postfix logged them as sent (its log is written
    asynchronously) and nothing is left in its queue, the office's own deliveries included."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if taken() >= copies and len(postfix.journalled()) >= copies \
                and postfix.queue_ids() == []:
            return
        time.sleep(0.05)
    pytest.fail(f"Postfix did not deliver {copies} journal copies to the listener in "
                f"{timeout:.0f} s (the listener took {taken()})\n{postfix.diagnostics()}")


def test_journal_copies_through_postfix(elblag: Vault, postfix_root: Path) -> None:
    # A greeting name of its own: Postfix takes a server that greets with its own myhostname
    # for a mail loop, and a real Kustosz host has a name of its own too.
    mailbox(elblag, allow_hosts=["127.0.0.1"], hostname="kustosz.elblag.eu")
    bg = mail_listener(elblag)
    postfix: Postfix | None = None
    try:
        postfix = Postfix(postfix_root, bg.service.addresses["smtp"][1])
        postfix.start()
        # A bare message as a script would send it: no Date, no Message-ID. Postfix adds both
        # for clients on its own interfaces (local_header_rewrite_clients), so the journal
        # sees the queue ID inside the Message-ID.
        send(postfix.port, b"From: a.nowak@elblag.eu\r\nTo: j.kowalski@elblag.eu\r\n"
             b"Subject: Zwykly list\r\n\r\nTAJNA TRESC 1\r\n",
             "a.nowak@elblag.eu", ["j.kowalski@elblag.eu"])
        attached = message("Zażółć gęślą jaźń — uchwała nr 15/2026",
                           "Jan Kowalski <j.kowalski@elblag.eu>", ["a.nowak@elblag.eu"],
                           body="TAJNA TREŚĆ LISTU 2",
                           attachments=[("uchwała.pdf", "application/pdf", PDF),
                                        ("budżet 2026.xlsx", "application/vnd.ms-excel", XLSX)],
                           Cc="Ewa Wiśniewska <e.wisniewska@elblag.eu>")
        attached_raw = attached.as_bytes(policy=attached.policy.clone(linesep="\r\n"))
        assert b"=?utf-8?" in attached_raw  # the subject travels as RFC 2047 encoded-words
        # sekretarz@ is a Bcc: only in the envelope, which the always_bcc copy does not carry.
        send(postfix.port, attached, "j.kowalski@elblag.eu",
             ["a.nowak@elblag.eu", "e.wisniewska@elblag.eu", "sekretarz@elblag.eu"])
        # Sent by the secretariat on the mayor's behalf: the envelope sender differs from From.
        outside = message("Oferta", "Jan Kowalski <j.kowalski@elblag.eu>",
                          ["Bank <ktos@bank.example>"], body="TAJNA TRESC 3")
        send(postfix.port, outside, "sekretariat@elblag.eu", ["ktos@bank.example"])
        wait_delivered(postfix, 3, lambda: bg.service.counters.totals["messages"])
        bg.flush()
        log, relayed = postfix.log_text(), postfix.journalled()
    finally:
        if postfix is not None:
            postfix.stop()
        bg.stop()

    assert len(relayed) == 3, log
    # message-id → Postfix's queue ID, from cleanup's log line
    queue_ids = {mid: q for q, mid in re.findall(
        r"postfix/cleanup\[\d+\]: (\w+): message-id=(<[^>]*>)", log)}
    assert bg.service.counters.totals["messages"] == 3  # one copy each: no retries, no doubles
    now = datetime.now(UTC)
    with elblag.reading() as s:
        found = {m["subject"]: m for m in search_mail(s)}
        hidden = search_mail(s, address="sekretarz@elblag.eu")
        recs = list(s.execute(select(Recording)).scalars())
    assert sorted(found) == ["Oferta", "Zażółć gęślą jaźń — uchwała nr 15/2026", "Zwykly list"]

    bare = found["Zwykly list"]
    assert bare["from"] == bare["env_from"] == "a.nowak@elblag.eu"
    assert bare["to"] == ["j.kowalski@elblag.eu"] and bare["cc"] == bare["bcc"] == []
    queue_id = queue_ids[bare["message_id"]]
    assert queue_id in relayed and bare["message_id"].endswith(f".{queue_id}@poczta.elblag.eu>")
    assert abs(bare["date"] - now) < timedelta(minutes=10)  # Postfix's Date, not none
    assert bare["attachments"] == [] and bare["problems"] == []

    first = found["Zażółć gęślą jaźń — uchwała nr 15/2026"]
    assert first["from"] == first["env_from"] == "j.kowalski@elblag.eu"
    assert first["to"] == ["a.nowak@elblag.eu"] and first["cc"] == ["e.wisniewska@elblag.eu"]
    assert first["message_id"] == attached["Message-ID"]  # the sender's, not Postfix's
    assert queue_ids[first["message_id"]] in relayed
    assert first["date"].isoformat() == "2026-11-20T09:30:00+00:00"  # Date, not Received
    # The copy is the original plus the Received line Postfix put on top.
    assert len(attached_raw) < first["size"] < len(attached_raw) + 500
    assert first["attachments"] == [
        {"name": "uchwała.pdf", "type": "application/pdf", "size": len(PDF),
         "sha256": hashlib.sha256(PDF).hexdigest()},
        {"name": "budżet 2026.xlsx", "type": "application/vnd.ms-excel", "size": len(XLSX),
         "sha256": hashlib.sha256(XLSX).hexdigest()}]
    assert first["problems"] == [] and not first["private"]
    assert hidden == []  # as the README says: Bcc recipients are not in an always_bcc copy

    external = found["Oferta"]
    assert external["env_from"] == "sekretariat@elblag.eu"
    assert external["from"] == "j.kowalski@elblag.eu" and external["to"] == ["ktos@bank.example"]
    assert external["private"] and external["problems"] == []

    assert not any(m["body_kept"] for m in found.values())
    assert [r.meta["format"] for r in recs] == ["jsonl"]  # no .eml: metadata only
    lines = [json.loads(line) for line in
             elblag.storage.path(recs[0].storage_key).read_text("utf-8").splitlines()]
    # Postfix delivers each copy to the journal address alone, from the original sender.
    assert [(r["env_rcpt"], r["peer"]) for r in lines] == [([JOURNAL], "127.0.0.1")] * 3
    assert sorted(r["env_from"] for r in lines) == [
        "a.nowak@elblag.eu", "j.kowalski@elblag.eu", "sekretariat@elblag.eu"]
    for path in elblag.root.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm"):
            data = path.read_bytes()
            assert b"TAJNA" not in data and PDF[:20] not in data, path
