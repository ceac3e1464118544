"""Each loop of `kustosz serve` (other than the cameras, the alerts and the job worker) goes on
through the database away and does its work again once it is back (issue 27): the retention
scheduler, the audit checkpoints, the backup schedule, the uploader of the local spool, the
phone lines' watch, the listeners' rescans and a listener's own chunk closing and duplicate
check. Real parts: a private PostgreSQL behind a TCP proxy the test cuts or silences; each
test drives the real loop function in a thread, as serve does.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.audit import witness
from kustosz.backup import schedule as backup_schedule
from kustosz.db.models import AuditEntry, Recording
from kustosz.index.sources import add_source
from kustosz.ingest import listeners as listeners_module
from kustosz.ingest.chunks import database as gate_module
from kustosz.ingest.chunks.counters import read_counts
from kustosz.ingest.events.search import search_events
from kustosz.ingest.files import ingest_file
from kustosz.ingest.listeners import Listeners
from kustosz.ingest.mail.search import search_mail
from kustosz.ingest.phone.watch import watch as watch_phones
from kustosz.ingest.upload_queue import QUEUED, Uploader, UploadQueue
from kustosz.retention.scheduler import run_scheduler
from kustosz.states import RecordingState
from kustosz.vault import Vault
from tests.custody.custody_helpers import setup_phone
from tests.monitoring.monitoring_helpers import endpoint, events_listener, mailbox, message, post
from tests.opaque import opaque_bytes
from tests.support import pg_outage
from tests.support.pg_outage import PrivatePostgres, Proxy

pytestmark = pytest.mark.skipif(not pg_outage.available(),
                                reason="PostgreSQL's initdb and pg_ctl are not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(tmp_path_factory.mktemp("pg"))
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def proxy(server: PrivatePostgres) -> Iterator[Proxy]:
    p = Proxy(server.port)
    try:
        yield p
    finally:
        p.close()


def vault_on(server: PrivatePostgres, proxy: Proxy, root: Path,
             preset: str = "pleszew") -> Vault:
    return Vault.init(root, preset, proxy.url_for(server.new_database()), actor="test")


@pytest.fixture
def vault(server: PrivatePostgres, proxy: Proxy, tmp_path: Path) -> Iterator[Vault]:
    v = vault_on(server, proxy, tmp_path / "vault")
    try:
        yield v
    finally:
        proxy.restore()
        v.close()


@pytest.fixture
def elblag(server: PrivatePostgres, proxy: Proxy, tmp_path: Path) -> Iterator[Vault]:
    v = vault_on(server, proxy, tmp_path / "vault", "elblag")
    try:
        yield v
    finally:
        proxy.restore()
        v.close()


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout:.0f} s: {what}")


def in_thread(target: Callable[..., None], *args: object, **kwargs: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: any(text in r.getMessage() for r in caplog.records)


def test_the_retention_scheduler_retries_soon_after_the_database_is_back(
        vault: Vault, proxy: Proxy) -> None:
    failures: list[BaseException] = []
    sweeps: list[int] = []
    stop = threading.Event()
    proxy.cut()
    t = in_thread(run_scheduler, vault, stop, on_sweep=sweeps.append,
                  on_failure=failures.append)
    try:
        wait_until(lambda: failures, what="a sweep failed")
        proxy.restore()
        # Not an interval (15 minutes) later: within the back-off (5 s at first).
        wait_until(lambda: sweeps, 30, "a sweep after the database came back")
        assert t.is_alive()
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()


def test_audit_checkpoints_are_retried_soon_after_the_database_is_back(
        vault: Vault, proxy: Proxy, caplog: pytest.LogCaptureFixture) -> None:
    def checkpoints() -> int:
        with vault.reading() as s:
            return len(s.execute(select(AuditEntry.seq).where(
                AuditEntry.action == witness.ACTION)).all())

    before = checkpoints()
    stop = threading.Event()
    proxy.cut()
    t = in_thread(witness.run_checkpoints, vault, stop)
    try:
        wait_until(lambda: any(r.name == witness.__name__ for r in caplog.records),
                   what="the first checkpoint met the database cut")
        proxy.restore()
        wait_until(lambda: checkpoints() > before, 30, "a checkpoint once the database is back")
        assert t.is_alive()
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()


def test_the_backup_schedule_goes_on_through_the_database_away(
        vault: Vault, proxy: Proxy, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(backup_schedule, "TICK_S", 0.2)
    caplog.set_level(logging.INFO, logger="kustosz")
    stop = threading.Event()
    proxy.cut()
    t = in_thread(backup_schedule.run_backups, vault, stop)
    try:
        wait_until(logged(caplog, "the database is away"), what="the outage noticed")
        proxy.restore()
        wait_until(logged(caplog, "the database answers again"), what="the schedule goes on")
        assert t.is_alive()
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()
    assert sum("backup schedule waits" in r.getMessage() for r in caplog.records) == 1


def test_the_uploader_waits_for_the_database_and_uploads_after_it(
        vault: Vault, proxy: Proxy, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """A file waiting in the local spool (its row pending, flagged queued) goes up once the
    database is back; the database's absence raises no `storage_unreachable` (the store is
    not at fault)."""
    with vault.transaction() as s:
        add_source(s, vault.policy, "drzwi", "camera", "test")
    original = tmp_path / "seg.wav"
    original.write_bytes(opaque_bytes("outage", 4096))
    rec = ingest_file(vault, "drzwi", original, datetime.now(UTC))
    queue = UploadQueue(vault, tmp_path / "uploads")
    queue.copy_in(rec.id, rec.storage_key, original)
    vault.storage.delete(rec.storage_key)
    with vault.transaction() as s:
        row = s.get(Recording, rec.id)
        row.state, row.meta = RecordingState.PENDING, {**(row.meta or {}), QUEUED: queue.id}
    stop = threading.Event()
    proxy.cut()
    t = in_thread(Uploader(vault, queue, backoff=(0.2, 1.0)).run, stop)
    try:
        wait_until(logged(caplog, "uploads from the local spool wait: the database is away"))
        assert t.is_alive()
        proxy.restore()

        def stored() -> bool:
            with vault.reading() as s:
                return s.get(Recording, rec.id).state == RecordingState.STORED

        wait_until(stored, 30, "uploaded once the database is back")
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()
    assert queue.backlog()[0] == 0
    with vault.reading() as s:
        from kustosz.db.models import Alert
        from kustosz.states import AlertRow

        kinds = set(s.execute(select(Alert.kind)).scalars())
    assert AlertRow.STORAGE_UNREACHABLE.value not in {str(k) for k in kinds}


def test_the_phone_watch_goes_on_through_the_database_away(
        server: PrivatePostgres, proxy: Proxy, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    vault = vault_on(server, proxy, tmp_path / "vault", "boleslawiec")  # records calls
    setup_phone(vault, tmp_path / "pbx")
    caplog.set_level(logging.INFO, logger="kustosz")
    passes: list[object] = []
    stop = threading.Event()
    proxy.cut()
    t = in_thread(watch_phones, vault, interval=0.2, stop=stop, on_pass=passes.append)
    try:
        wait_until(logged(caplog, "phone lines wait: the database is away"))
        assert not passes and t.is_alive()
        proxy.restore()
        wait_until(lambda: passes, 30, "a pass once the database is back")
    finally:
        stop.set()
        t.join(30)
        proxy.restore()
        vault.close()
    assert not t.is_alive()


def test_the_listeners_rescans_go_on_and_pick_up_a_source_added_after_the_outage(
        elblag: Vault, proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listeners_module, "RESCAN_S", 0.2)
    endpoint(elblag, "siem", syslog_udp="", syslog_tcp="")
    listeners = Listeners(elblag)
    listeners.reconcile()
    stop = threading.Event()
    proxy.cut()
    t = in_thread(listeners.run, stop)
    try:
        wait_until(lambda: listeners.away_since is not None, what="the outage noticed")
        assert set(listeners.running) == {"siem"}  # not stopped for want of the register
        proxy.restore()
        endpoint(elblag, "firewall", syslog_udp="", syslog_tcp="")
        wait_until(lambda: "firewall" in listeners.running, 30, "the new source started")
        assert t.is_alive()
    finally:
        stop.set()
        t.join(30)
        listeners.stop_all()
    assert not t.is_alive()


def test_stopping_the_listeners_does_not_wait_for_a_pass_stuck_on_the_database(
        elblag: Vault, proxy: Proxy) -> None:
    """serve's stop (from another thread) takes `running` away from a pass that waits for a
    silent database; that pass then starts nothing."""
    listeners = Listeners(elblag)
    listeners.reconcile()
    endpoint(elblag, "siem", syslog_udp="", syslog_tcp="")
    proxy.silence()
    passing = in_thread(listeners.reconcile)
    wait_until(lambda: listeners._pass.locked(), what="a pass under way")
    time.sleep(0.5)  # so that it waits for the silent database (a head start, no assertion)
    started = time.monotonic()
    listeners.stop_all()
    assert time.monotonic() - started < 5
    proxy.restore()
    passing.join(90)
    assert not passing.is_alive() and not listeners.running


def test_a_chunk_closed_while_the_database_is_away_is_taken_in_when_it_is_back(
        elblag: Vault, proxy: Proxy) -> None:
    """The running listener keeps answering 202 and tries the failed close again, with a
    back-off, without a restart."""
    token = endpoint(elblag, syslog_udp="", syslog_tcp="")
    bg = events_listener(elblag)
    try:
        url = f"http://127.0.0.1:{bg.service.addresses['http'][1]}/events"
        proxy.cut()
        assert post(url, json.dumps({"message": "przed zamknięciem"}).encode(), token)[0] == 202
        with pytest.raises(Exception):  # noqa: B017 - the counters could not be written
            bg.flush()
        assert len(bg.service.spool.left) == 1
        assert post(url, json.dumps({"message": "po zamknięciu"}).encode(), token)[0] == 202
        proxy.restore()
        wait_until(lambda: not bg.service.spool.left, 60, "the left chunk taken in")
        with elblag.reading() as s:
            kept = [e["message"] for e in search_events(s, include_open=False)]
        assert kept == ["przed zamknięciem"]
    finally:
        bg.stop()
    with elblag.reading() as s:
        kept = sorted(e["message"] for e in search_events(s, include_open=False))
        counts = read_counts(s, bg.service.source_id)
    assert kept == ["po zamknięciu", "przed zamknięciem"]
    assert counts["chunk_close_failed"] == 1


@pytest.mark.parametrize("outage", ["cut", "silence"])
def test_smtp_answers_250_quickly_while_the_database_is_away(
        elblag: Vault, proxy: Proxy, outage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check for a resent message needs the index; without it the message is kept and
    acknowledged within the check's short wait, never a minute later or with a 451."""
    from tests.monitoring.monitoring_helpers import mail_listener

    monkeypatch.setattr(gate_module, "RETRY_LIMIT_S", 1.0)
    mailbox(elblag)
    bg = mail_listener(elblag)
    try:
        port = bg.service.addresses["smtp"][1]
        getattr(proxy, outage)()
        for n in range(3):
            started = time.monotonic()
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.send_message(message(f"Pismo {n}", "j.kowalski@elblag.eu",
                                          ["a.nowak@elblag.eu"]),
                                  from_addr="j.kowalski@elblag.eu",
                                  to_addrs=["journal@kustosz.elblag.eu"])
            assert time.monotonic() - started < 15
        assert bg.service.counters.totals["duplicate_check_deferred"] == 3
        proxy.restore()
    finally:
        bg.stop()
    with elblag.reading() as s:
        assert sorted(m["subject"] for m in search_mail(s, include_open=False)) == \
            ["Pismo 0", "Pismo 1", "Pismo 2"]
