"""`systemctl reload kustosz` (SIGHUP) while serve runs (issue 50 item 8): kustosz.toml read
and checked again; what can change live changes (the policy's periods — a shorter one under
the two-person rule, as at a restart — the alert channels, [siprec]), what needs a restart
is named and left as it was, and a file that fails the check changes nothing, says why in an
alert row and leaves serve running. Here the step the signal's flag triggers
(kustosz.cli.serve_reload.reload_config), on a vault as serve holds it; the real process and
its signal: tests/siprec/test_siprec_reload.py."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz.alert_kinds import kind_of
from kustosz.alerts.settings import effective
from kustosz.cameras import onvif_clock
from kustosz.cli import serve_reload
from kustosz.cli.serve import run_serve
from kustosz.db.models import Alert, AuditEntry
from kustosz.errors import ConfigError
from kustosz.holds.record import record_of
from kustosz.ingest.phone.lines import add_siprec_line
from kustosz.policy import Period
from kustosz.states import AlertRow
from kustosz.vault import Vault
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault


@pytest.fixture
def elblag(tmp_path: Path) -> Iterator[Vault]:
    vault = make_vault(tmp_path / "vault", "elblag")
    yield vault
    vault.close()


def append(vault: Vault, text: str) -> None:
    path = vault.root / "kustosz.toml"
    path.write_text(path.read_text() + "\n" + text + "\n")


def edit(vault: Vault, old: str, new: str) -> None:
    path = vault.root / "kustosz.toml"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def entries(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.reading() as s:
        return [json.loads(d or "{}") for d in s.execute(
            select(AuditEntry.details).where(AuditEntry.action == action)
            .order_by(AuditEntry.seq)).scalars()]


def open_alerts(vault: Vault) -> list[Alert]:
    with vault.reading() as s:
        return list(s.execute(select(Alert).where(
            Alert.kind == AlertRow.CONFIG_RELOAD_FAILED, Alert.cleared_at.is_(None))).scalars())


def test_a_phone_period_added_to_the_file_lets_a_line_be_recorded_without_a_restart(
        elblag: Vault) -> None:
    """The elbląg preset sets no period for calls: a line is refused by the running
    process's policy until the file's [policy.retention] phone reaches it."""
    with pytest.raises(ConfigError), elblag.transaction() as s:
        add_siprec_line(s, elblag.policy, "sbc", "test", sources=["127.0.0.1"], numbers=[])
    append(elblag, '[policy.retention]\nphone = "3 months"')
    done = serve_reload.reload_config(elblag)
    assert done.ok and "policy" in done.applied and done.restart == []
    assert elblag.policy.retention_for("phone") == Period.parse("3 months")
    with elblag.transaction() as s:
        add_siprec_line(s, elblag.policy, "sbc", "test", sources=["127.0.0.1"], numbers=[])
    (entry,) = entries(elblag, "config.reloaded")
    assert entry["applied"] == ["policy"] and entry["restart"] == []
    assert entries(elblag, "policy.changed")  # as a restart records it


def test_a_file_that_fails_the_check_changes_nothing_and_says_why(elblag: Vault) -> None:
    config, policy = elblag.config, elblag.policy
    good = (elblag.root / "kustosz.toml").read_text()
    path = elblag.root / "kustosz.toml"
    path.write_text(re.sub(r"(?m)^min_free_percent = .*$", 'min_free_percent = "dużo"',
                           path.read_text()))
    append(elblag, '[policy.retention]\nphone = "3 months"')
    done = serve_reload.reload_config(elblag)
    assert not done.ok
    assert elblag.config is config and elblag.policy is policy  # nothing changed
    (alert,) = open_alerts(elblag)
    assert kind_of(alert.kind).key == "config_reload"
    assert alert.message.startswith("Nie wczytano zmian pliku kustosz.toml")
    assert "storage" in alert.message and "min_free_percent" in alert.message
    assert "poprzednich ustawień" in alert.message  # serve goes on as it was
    assert entries(elblag, "config.reloaded") == []
    (refused,) = entries(elblag, "config.reload_failed")
    assert "min_free_percent" in str(refused["reason"])
    # A second bad try keeps the one row; a good file clears it.
    assert not serve_reload.reload_config(elblag).ok
    assert len(open_alerts(elblag)) == 1
    (elblag.root / "kustosz.toml").write_text(good)
    assert serve_reload.reload_config(elblag).ok
    assert open_alerts(elblag) == []


def test_a_period_no_source_could_keep_is_refused_whole(elblag: Vault) -> None:
    """A file that drops the period of a kind the register records would leave its material
    without an end: refused, as a start with it is, and nothing of the rest applied."""
    append(elblag, '[policy.retention]\nphone = "3 months"')
    assert serve_reload.reload_config(elblag).ok
    with elblag.transaction() as s:
        add_siprec_line(s, elblag.policy, "sbc", "test", sources=["127.0.0.1"], numbers=[])
    path = elblag.root / "kustosz.toml"
    path.write_text(path.read_text().replace('phone = "3 months"', "")
                    + '\n[alerts.webhook]\nurl = "https://hooks.example.pl/k"\n')
    policy, config = elblag.policy, elblag.config
    done = serve_reload.reload_config(elblag)
    assert not done.ok and elblag.policy is policy and elblag.config is config
    (alert,) = open_alerts(elblag)
    assert "retention.phone" in alert.message


def test_a_shortened_period_waits_for_two_people_as_at_a_restart(elblag: Vault) -> None:
    append(elblag, '[policy.retention]\ncamera = "14 days"')
    done = serve_reload.reload_config(elblag)
    assert done.ok and "policy" in done.applied
    assert elblag.policy.retention_for("camera") == Period.parse("14 days")
    assert done.waiting == ["camera"]
    # The sweep's record still keeps 30 days until the shortening is approved.
    with elblag.reading() as s:
        kept = record_of(elblag, s).periods_of("any", "camera")
    assert Period.parse("30 days") in kept
    (entry,) = entries(elblag, "config.reloaded")
    assert entry["waiting_approval"] == [{"kind": "camera", "period": "14 days"}]
    # The same as a restart would record: a fresh opening finds the change noted already
    # and the same periods recorded.
    again = Vault.open(elblag.root, actor="test")
    try:
        with again.reading() as s:
            assert record_of(again, s).periods_of("any", "camera") == kept
        assert len(entries(again, "policy.changed")) == 1
    finally:
        again.close()


def test_alert_channels_apply_and_what_needs_a_restart_is_named_and_kept(
        elblag: Vault) -> None:
    url = elblag.config.database_url
    append(elblag, '[alerts.webhook]\nurl = "https://hooks.example.pl/k"')
    edit(elblag, "[web]\n", '[web]\ntrusted_proxies = ["127.0.0.1"]\n')
    edit(elblag, 'database_url = ""', 'database_url = "postgresql://k@127.0.0.1:1/k"')
    done = serve_reload.reload_config(elblag)
    assert done.ok
    assert done.applied == ["alerts"]
    assert done.restart == ["database_url", "web"]
    assert effective(elblag).webhook is not None  # the notifier's next pass sends there
    assert elblag.config.database_url == url  # kept until the restart
    assert elblag.config.web.trusted_proxies == ()
    (entry,) = entries(elblag, "config.reloaded")
    assert entry["restart"] == ["database_url", "web"]


def test_serve_reloads_when_the_signal_flag_is_set(elblag: Vault) -> None:
    """serve's own loop takes the flag the SIGHUP handler sets: a thread here (the signal
    itself reaches the real process in tests/siprec/test_siprec_reload.py)."""
    stop = threading.Event()
    ready = threading.Event()
    thread = threading.Thread(target=run_serve, args=(elblag, stop),
                              kwargs={"on_ready": lambda _pool: ready.set()}, daemon=True)
    thread.start()
    try:
        assert ready.wait(60)
        append(elblag, '[policy.retention]\nphone = "3 months"')
        serve_reload.ASKED.set()
        wait_for(lambda: entries(elblag, "config.reloaded"), 30, "the reload")
        assert elblag.policy.retention_for("phone") == Period.parse("3 months")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_a_cameras_change_is_put_in_force_and_the_log_says_so(
        elblag: Vault, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 65: a [cameras] change was logged "applied nothing changed; needs a restart:
    cameras" while it took effect. [cameras] is read where it is used: in force at once."""
    assert not elblag.config.cameras.in_office("127.0.0.1")
    append(elblag, '[cameras]\nnetworks = ["127.0.0.0/8"]\nclock_limit_seconds = 5')
    with caplog.at_level(logging.INFO, logger="kustosz.cli.serve_reload"):
        done = serve_reload.reload_config(elblag)
    assert done.ok and done.applied == ["cameras"] and done.restart == []
    assert elblag.config.cameras.in_office("127.0.0.1")  # the web's find and add pages ask
    assert elblag.config.cameras.clock_limit_s == 5.0  # the dashboard's clock note asks
    (line,) = [r.getMessage() for r in caplog.records if "reloaded" in r.getMessage()]
    assert line == "kustosz.toml reloaded: in force now: cameras", line


PROXY = '[web]\ntrusted_proxies = ["127.0.0.1"]\n'
HOOK = '[alerts.webhook]\nurl = "https://hooki.example.pl/żółć"'


@pytest.mark.parametrize(("web", "alerts", "said"), [
    (False, False, "kustosz.toml reloaded: the file has not changed"),
    (True, False,
     "kustosz.toml reloaded: kept as it was until a restart (systemctl restart kustosz): web"),
    (True, True, "kustosz.toml reloaded: in force now: alerts; kept as it was until a restart "
                 "(systemctl restart kustosz): web"),
])
def test_the_reload_line_names_only_what_happened(
        elblag: Vault, caplog: pytest.LogCaptureFixture, web: bool, alerts: bool,
        said: str) -> None:
    if web:
        edit(elblag, "[web]\n", PROXY)
    if alerts:
        append(elblag, HOOK)
    with caplog.at_level(logging.INFO, logger="kustosz.cli.serve_reload"):
        assert serve_reload.reload_config(elblag).ok
    lines = [r.getMessage() for r in caplog.records if "reloaded" in r.getMessage()]
    assert lines == [said]


def test_the_clock_check_follows_a_reloaded_interval(
        elblag: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ONVIF clock check waited out the interval it started with; it now reads the one in
    force at each wait, so a reload that shortens it counts from the last check."""
    checks: list[float] = []
    monkeypatch.setattr(onvif_clock, "check_all",
                        lambda *_a, **_k: checks.append(time.monotonic()) or [])
    monkeypatch.setattr(onvif_clock, "RELOAD_LOOK_S", 0.2)
    stop = threading.Event()
    loop = threading.Thread(target=onvif_clock.run_camera_clocks, args=(elblag, stop))
    loop.start()
    try:
        wait_for(lambda: checks, 30, "the first check")
        assert elblag.config.cameras.clock_check_minutes == 15  # the next one in 15 minutes
        # as reload_config puts it in force (the schema's least is a minute: a test's is less)
        elblag.config = replace(elblag.config, cameras=replace(elblag.config.cameras,
                                                               clock_check_minutes=0.01))
        wait_for(lambda: len(checks) >= 3, 30, "checks at the reloaded interval")
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive()
