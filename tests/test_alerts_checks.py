"""The alert kinds raised by periodic checks (issue 14 item 3, R1.5, R6.3): a recorder
restarting in a loop, the disk forecast below `[alerts] forecast_days`, a failed or late
sweep, a failed `audit verify` (daily in serve and on the command), an HTTPS certificate
near its end. Each check is run by its own code on a real vault with the clock given; the
rows it raises reach a real SMTP relay (aiosmtpd) once as a start and once as an all-clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kustosz.alert_kinds import KINDS, kind_of
from kustosz.alerts.checks import (
    RESTART_WINDOW,
    Checks,
    note_sweep,
    verify_now,
)
from kustosz.alerts.messages import compose
from kustosz.alerts.notifier import Notifier
from kustosz.config import read_config
from kustosz.db.models import Alert, Recording
from kustosz.ingest.camera import health
from kustosz.vault import Vault
from tests.alerts_helpers import SmtpSink, wait_until, write_alerts
from tests.conftest import Cli
from tests.test_alerts import camera

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def open_rows(vault: Vault, kind: str) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == kind,
                                                  Alert.cleared_at.is_(None))).scalars())


def all_rows(vault: Vault, kind: str) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(Alert.kind == kind)).scalars())


def test_every_new_row_kind_has_its_kind_with_polish_words() -> None:
    for row in ("recorder_restarting", "disk_forecast", "sweep_failed", "sweep_late",
                "audit_verify_failed", "cert_expiring", "audit.witness"):
        kind = kind_of(row)
        assert kind.key != "other", row
        assert kind.clears
        item = {"alert": 1, "kind": kind.key, "row_kind": row, "source": "wejście",
                "since": T0.isoformat(), "at": (T0 + timedelta(hours=2)).isoformat(),
                "text": None}
        start = compose(dict(item, event="start"))
        clear = compose(dict(item, event="clear"))
        assert not start.subject.startswith("[Kustosz] Alarm od"), row
        assert not clear.subject.startswith("[Kustosz] Alarm ustał"), row
    assert {"recorder_restarting", "disk_forecast", "sweep", "audit_verify",
            "cert_expiring", "audit_witness"} <= set(KINDS)


def _restart(vault: Vault, source_id: int, at: datetime, name: str = "wejście") -> None:
    """What the recorder does when a session that recorded dies: a gap from its last
    segment, closed when the next session takes its first one (health's own functions)."""
    health.open_gap(vault, source_id, at, "stream_ended", "the stream ended", name)
    health.close_gap(vault, source_id, at + timedelta(seconds=20), name)


def test_recorder_restarting_in_a_loop_raises_and_clears(vault: Vault) -> None:
    looping, down, flaky = camera(vault, "wejście"), camera(vault, "parking"), \
        camera(vault, "hol")
    for i in range(5):
        _restart(vault, looping, T0 + timedelta(minutes=2 * i))
    # A camera that stays down is one gap (camera_down tells that), not a loop.
    health.open_gap(vault, down, T0 - timedelta(hours=1), "unreachable", "no route", "parking")
    # Stalls inside one session are not restarts; two restarts are not a loop.
    for i in range(6):
        health.record_gap(vault, flaky, T0 + timedelta(minutes=i), T0 + timedelta(
            minutes=i, seconds=3), "stream_stall", "stall")
    _restart(vault, flaky, T0)
    _restart(vault, flaky, T0 + timedelta(minutes=5))
    # An administrator restarting the service five times is not a camera in trouble: each
    # start records the time serve was not running as a gap of its own cause.
    restarted = camera(vault, "sekretariat")
    for i in range(5):
        health.open_gap(vault, restarted, T0 + timedelta(minutes=i), "recorder_not_running",
                        "the recorder was not running", "sekretariat")
        health.close_gap(vault, restarted, T0 + timedelta(minutes=i, seconds=30),
                         "sekretariat")
    checks = Checks(vault)
    now = T0 + timedelta(minutes=10)
    checks.restarts(now)
    rows = open_rows(vault, "recorder_restarting")
    assert [r.source_id for r in rows] == [looping]
    assert "wejście" in rows[0].message and "5 przerw" in rows[0].message
    checks.restarts(now + timedelta(minutes=1))  # still looping: the same row
    assert len(all_rows(vault, "recorder_restarting")) == 1
    # It runs steadily: no new gap within the window.
    checks.restarts(T0 + timedelta(minutes=8) + RESTART_WINDOW + timedelta(seconds=1))
    assert open_rows(vault, "recorder_restarting") == []


def test_disk_forecast_below_the_threshold_raises_and_clears(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    src = camera(vault)
    free = vault.storage.free_bytes()
    now = datetime.now(UTC)
    with vault.transaction() as s:  # a week's intake as large as the free space: ~7 days
        s.add(Recording(source_id=src, kind="camera", start_at=now - timedelta(days=1),
                        end_at=now - timedelta(days=1) + timedelta(seconds=10), size=free,
                        storage_key="big", state="stored", ingested_at=now))
    Checks(vault, forecast_days=14).forecast(now)
    (row,) = open_rows(vault, "disk_forecast")
    assert "wystarczy na ok. 7 dni" in row.message and "14 dni" in row.message
    Checks(vault, forecast_days=5).forecast(now)  # the threshold lowered: above it now
    assert open_rows(vault, "disk_forecast") == []


def test_sweep_failed_and_late(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    interval = timedelta(minutes=vault.config.sweep_interval_minutes)
    note_sweep(vault, OSError("/data/secret/path: No space left on device"), T0)
    (row,) = open_rows(vault, "sweep_failed")
    assert "OSError" in row.message and "/data" not in row.message
    note_sweep(vault, None, T0 + timedelta(minutes=15))
    assert open_rows(vault, "sweep_failed") == []
    checks = Checks(vault, started=T0)
    checks.sweep_late(T0 + 2 * interval)  # on time (the last good one at +15 min)
    assert open_rows(vault, "sweep_late") == []
    checks.sweep_late(T0 + timedelta(minutes=16) + 2 * interval)
    (late,) = open_rows(vault, "sweep_late")
    assert "co 15 minut" in late.message
    note_sweep(vault, None, T0 + 3 * interval)
    assert open_rows(vault, "sweep_late") == []


def test_a_fresh_start_is_not_late(sqlite_vault: Vault) -> None:
    """serve stopped for a week: the last good sweep is old, but the scheduler sweeps at
    start; the late check counts from the start."""
    note_sweep(sqlite_vault, None, T0 - timedelta(days=7))
    Checks(sqlite_vault, started=T0).sweep_late(T0 + timedelta(minutes=5))
    assert open_rows(sqlite_vault, "sweep_late") == []


def test_audit_verify_failure_raises_and_a_good_one_clears(vault: Vault) -> None:
    assert verify_now(vault, T0) == []
    assert open_rows(vault, "audit_verify_failed") == []
    with vault.transaction() as s:  # the attack: one entry rewritten behind the chain
        s.execute(text("UPDATE audit_log SET details = '{\"x\": 1}' WHERE seq = 1"))
    problems = verify_now(vault, T0 + timedelta(days=1))
    assert problems
    (row,) = open_rows(vault, "audit_verify_failed")
    assert "naruszenie" in row.message and "zaplanowane" in row.message


def test_audit_verify_is_due_once_a_day(sqlite_vault: Vault) -> None:
    vault = sqlite_vault
    checks = Checks(vault)
    checks.verify_if_due(T0, in_thread=False)
    with vault.transaction() as s:
        s.execute(text("UPDATE audit_log SET details = '{\"x\": 1}' WHERE seq = 1"))
    checks.verify_if_due(T0 + timedelta(hours=23), in_thread=False)  # not due yet
    assert open_rows(vault, "audit_verify_failed") == []
    checks.verify_if_due(T0 + timedelta(days=1), in_thread=False)
    assert len(open_rows(vault, "audit_verify_failed")) == 1


def test_kustosz_audit_verify_failing_raises_the_row(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        with vault.transaction() as s:
            s.execute(text("UPDATE audit_log SET details = '{\"x\": 1}' WHERE seq = 1"))
    finally:
        vault.close()
    result = cli("audit", "verify", ok=False)
    assert result.exit_code == 1
    vault = Vault.open(cli.data)
    try:
        (row,) = open_rows(vault, "audit_verify_failed")
        assert "ręcznie" in row.message
    finally:
        vault.close()


@pytest.mark.parametrize(("days", "words"), [(10, "za 10 dni"), (1, "za 1 dzień"),
                                             (0, "dziś")])
def test_certificate_expiring_raises_and_a_renewed_one_clears(sqlite_vault: Vault, days: int,
                                                              words: str) -> None:
    vault = sqlite_vault
    Checks(vault, cert_not_after=T0 + timedelta(days=days, hours=1),
           cert_path="/etc/kustosz/kustosz.crt").certificate(T0)
    (row,) = open_rows(vault, "cert_expiring")
    assert words in row.message and "/etc/kustosz/kustosz.crt" in row.message
    Checks(vault, cert_not_after=T0 + timedelta(days=90)).certificate(T0)
    assert open_rows(vault, "cert_expiring") == []
    Checks(vault, cert_not_after=None).certificate(T0)  # plain HTTP: nothing to watch
    assert open_rows(vault, "cert_expiring") == []


def test_a_check_row_reaches_the_relay_once_and_its_all_clear_once(sqlite_vault: Vault
                                                                   ) -> None:
    vault = sqlite_vault
    with SmtpSink() as sink:
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {sink.port}\n'
                     'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n'
                     '[alerts.kinds.cert_expiring]\ngrace = "0 s"\nrepeat = "7 days"\n')
        notifier = Notifier(vault, read_config(vault.root).alerts)
        now = datetime.now(UTC)
        checks = Checks(vault, cert_not_after=now + timedelta(days=3))
        checks.certificate(now)
        notifier.tick(now)
        checks.certificate(now + timedelta(minutes=1))
        notifier.tick(now + timedelta(minutes=1))
        checks.cert_not_after = now + timedelta(days=365)
        checks.certificate(now + timedelta(minutes=2))
        notifier.tick(now + timedelta(minutes=2))
        assert sink.subjects() == ["[Kustosz] Certyfikat HTTPS wkrótce wygaśnie ("
                                   f"{compose_since(now)})",
                                   "[Kustosz] Certyfikat HTTPS odnowiony"]
        assert "wygasa" in sink.mails[0].get_content()


def compose_since(at: datetime) -> str:
    from kustosz.alerts.messages import local

    return local(at)


def test_serve_notifier_loop_runs_the_checks_and_tells_the_relay(sqlite_vault: Vault,
                                                                 tmp_path: Path) -> None:
    """The loop `serve` runs (Notifier.run in its thread, as cli/serve.py starts it with the
    checked certificate): a certificate made here, valid for 10 more days, becomes a
    cert_expiring row and one e-mail; no digest on the first pass."""
    import threading

    from kustosz.web.tls import check_tls, make_self_signed

    vault = sqlite_vault
    made = make_self_signed(tmp_path / "tls", ["localhost"],
                            now=datetime.now(UTC) - timedelta(days=355))
    tls = check_tls(*made)
    with SmtpSink() as sink:
        write_alerts(vault.root, f'[alerts.email]\nhost = "127.0.0.1"\nport = {sink.port}\n'
                     'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n'
                     '[alerts.kinds.cert_expiring]\ngrace = "0 s"\n')
        v = Vault.open(vault.root)
        stop = threading.Event()
        try:
            notifier = Notifier(v, tls=tls, poll_s=0.1)
            thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
            thread.start()
            wait_until(lambda: sink.mails, 20, "the cert_expiring mail")
            stop.set()
            thread.join(10)
        finally:
            v.close()
        assert [str(m["Subject"]).split(" (")[0] for m in sink.mails] == \
            ["[Kustosz] Certyfikat HTTPS wkrótce wygaśnie"]
        assert "za 9 dni" in sink.mails[0].get_content() or \
            "za 10 dni" in sink.mails[0].get_content()
    (row,) = open_rows(vault, "cert_expiring")
    assert str(made[0]) in row.message


def test_the_retention_scheduler_reports_its_sweeps(sqlite_vault: Vault) -> None:
    """The real scheduler thread: its good sweep clears a sweep_failed row left open."""
    import threading

    from kustosz.retention.scheduler import run_scheduler

    note_sweep(sqlite_vault, RuntimeError("earlier"), T0)
    assert open_rows(sqlite_vault, "sweep_failed")
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(sqlite_vault, stop), daemon=True)
    thread.start()
    try:
        wait_until(lambda: not open_rows(sqlite_vault, "sweep_failed"), 20,
                   "the sweep to clear the row")
    finally:
        stop.set()
        thread.join(10)
