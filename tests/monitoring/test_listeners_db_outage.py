"""The mail journal and event listeners through a database outage (issue 27).

The spool is local: a listener keeps acknowledging what it has fsynced into its open chunk
while PostgreSQL is cut or silent, answers "try later" (SMTP 451, HTTP 503) when it cannot,
never makes a sender wait for the database, and takes its chunks in once the database is
back — a close that failed meanwhile is tried again by the running listener, not left for
the next start. Real parts: a private PostgreSQL behind a TCP proxy the test cuts and
silences, smtplib and HTTP posts against the listeners `kustosz serve` runs (`Listeners`).
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from monitoring_helpers import endpoint, mailbox, message
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy

from kustosz.ingest.events.search import search_events
from kustosz.ingest.listeners import Listeners
from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not pg_outage.available(),
                                reason="PostgreSQL's initdb and pg_ctl are not installed")
CLIENT_TIMEOUT_S = 30.0  # a listener that keeps a sender waiting longer does not answer


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not reached within {timeout:.0f} s")


@dataclass
class Outcomes:
    acked: list[str] = field(default_factory=list)
    later: list[tuple[str, int]] = field(default_factory=list)  # temporary refusals
    failed: list[tuple[str, str]] = field(default_factory=list)  # anything else
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, item: str | tuple[str, int] | tuple[str, str]) -> None:
        with self.lock:
            getattr(self, kind).append(item)


@pytest.fixture
def outage_vault(tmp_path: Path) -> Iterator[tuple[Vault, Proxy]]:
    pg = PrivatePostgres(tmp_path)
    proxy = Proxy(pg.port)
    vault = Vault.init(tmp_path / "vault", "elblag", pg.url_via(proxy.port), actor="test")
    try:
        yield vault, proxy
    finally:
        proxy.restore()
        vault.close()
        proxy.close()
        pg.stop()


def _smtp_sender(port: int, stop: threading.Event, out: Outcomes) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        subject = f"Pismo {n}"
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S) as smtp:
                smtp.send_message(message(subject, "j.kowalski@elblag.eu",
                                          ["a.nowak@elblag.eu"]),
                                  from_addr="j.kowalski@elblag.eu",
                                  to_addrs=["journal@kustosz.elblag.eu"])
            out.note("acked", subject)
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                out.note("later", (subject, exc.smtp_code))
            else:
                out.note("failed", (subject, f"{exc.smtp_code} {exc.smtp_error!r}"))
        except (OSError, smtplib.SMTPException) as exc:
            out.note("failed", (subject, repr(exc)))
        stop.wait(0.2)


def _json_sender(url: str, token: str, stop: threading.Event, out: Outcomes) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        text = f"zdarzenie {n}"
        body = json.dumps({"time": "2026-11-20T09:00:00+00:00", "host": "pc-7",
                           "message": text}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_S) as response:
                assert response.status == 202
            out.note("acked", text)
        except urllib.error.HTTPError as exc:
            if exc.code == 503 and exc.headers.get("Retry-After"):
                out.note("later", (text, exc.code))
            else:
                out.note("failed", (text, f"{exc.code}"))
        except OSError as exc:
            out.note("failed", (text, repr(exc)))
        stop.wait(0.2)


@pytest.mark.slow
def test_listeners_acknowledge_only_what_is_kept_through_a_cut_and_a_silent_database(
        outage_vault: tuple[Vault, Proxy]) -> None:
    vault, proxy = outage_vault
    mailbox(vault)
    token = endpoint(vault, syslog_udp="", syslog_tcp="")
    assert token
    listeners = Listeners(vault)
    listeners.reconcile()
    smtp_port = listeners.addresses("journal")["smtp"][1]
    http_port = listeners.addresses("siem")["http"][1]
    stop, senders_stop = threading.Event(), threading.Event()
    rescans = threading.Thread(target=listeners.run, args=(stop,), name="listeners")
    rescans.start()
    mail, events = Outcomes(), Outcomes()
    senders = [threading.Thread(target=_smtp_sender, args=(smtp_port, senders_stop, mail)),
               threading.Thread(target=_json_sender, args=(
                   f"http://127.0.0.1:{http_port}/events", token, senders_stop, events))]
    running = [run.bg.thread for run in listeners.running.values()]
    try:
        for t in senders:
            t.start()
        wait_until(lambda: len(mail.acked) >= 3 and len(events.acked) >= 3, 30,
                   "first messages acknowledged")
        proxy.cut()
        cut_at = time.monotonic()
        # A chunk closed while the database is away (what the hour's end does) stays in the
        # spool; the running listener takes it in when the database is back.
        for run in listeners.running.values():
            with contextlib.suppress(Exception):  # the counters cannot be written now
                run.bg.flush()
            assert run.bg.service.spool.left, "a chunk closed in the outage was not kept"
        cut_acked = (len(mail.acked), len(events.acked))
        wait_until(lambda: len(mail.acked) >= cut_acked[0] + 5
                   and len(events.acked) >= cut_acked[1] + 5, 15, "acknowledged while cut")
        time.sleep(max(0.0, 15 - (time.monotonic() - cut_at)))  # the outage lasts 15 s
        proxy.restore()
        silent_from = (len(mail.acked), len(events.acked))
        proxy.silence()
        started = time.monotonic()
        wait_until(lambda: len(mail.acked) >= silent_from[0] + 5
                   and len(events.acked) >= silent_from[1] + 5, 40,
                   "acknowledged while the database is silent")
        time.sleep(max(0.0, 70 - (time.monotonic() - started)))  # a silence past the deadline
        proxy.restore()
        after = (len(mail.acked), len(events.acked))
        wait_until(lambda: len(mail.acked) >= after[0] + 3 and len(events.acked) >= after[1] + 3,
                   60, "acknowledged after the outage")
        senders_stop.set()
        for t in senders:
            t.join(CLIENT_TIMEOUT_S + 5)
        assert all(t.is_alive() for t in running), "a listener's thread ended"
        assert rescans.is_alive()
        # The chunks closed during the outage are taken in by the running listeners.
        spool = vault.root / "spool" / "monitoring"
        wait_until(lambda: sum(1 for p in spool.glob("*/*") if p.is_dir())
                   <= len(listeners.running), 90, "failed closes taken in again")
    finally:
        senders_stop.set()
        stop.set()
        rescans.join(30)
        listeners.stop_all()
    assert not mail.failed, mail.failed[:5]
    assert not events.failed, events.failed[:5]
    with vault.reading() as s:
        subjects = [m["subject"] for m in search_mail(s, limit=100000, include_open=False)]
        texts = [e["message"] for e in search_events(s, limit=100000, include_open=False)]
    for acked, kept in ((mail.acked, subjects), (events.acked, texts)):
        missing = sorted(set(acked) - set(kept))
        assert not missing, f"acknowledged but not in the vault: {missing[:5]}"
        assert len(kept) == len(set(kept)), "kept twice"
    assert not [p for p in (vault.root / "spool" / "monitoring").rglob("*.jsonl")]
