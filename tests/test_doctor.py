"""`kustosz doctor` (issue 14 item 11): one line per check, --json, exit 1 only on a FAIL,
and it repairs nothing it reports."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kustosz.access.allowlist import set_allowlist
from kustosz.cli.doctor import check_clock
from kustosz.vault import Vault
from kustosz.web.tls import make_self_signed
from tests.alerts_helpers import SmtpSink, free_port, write_alerts
from tests.conftest import Cli

NAMES = {"file modes", "tls", "clock", "free space", "alert channels", "audit witness",
         "allow-list", "backup"}


def doctor(cli: Cli, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = cli("doctor", "--json", *args, ok=False)
    assert result.exit_code in (0, 1), (result.output, result.exception)
    payload = json.loads(result.output)
    checks = {c["check"]: c for c in payload["checks"]}
    assert payload["ok"] == (result.exit_code == 0)
    return result.exit_code, checks


def set_in(root: Path, table: str, lines: str) -> None:
    config = root / "kustosz.toml"
    body = config.read_text("utf-8")
    assert f"[{table}]\n" in body
    config.write_text(body.replace(f"[{table}]\n", f"[{table}]\n{lines}", 1), "utf-8")


def test_fresh_vault_runs_and_its_exit_status_follows_its_checks(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    code, checks = doctor(cli)
    assert set(checks) >= NAMES
    assert all(c["status"] in ("OK", "WARN", "FAIL", "UNKNOWN") for c in checks.values())
    assert code == (1 if any(c["status"] == "FAIL" for c in checks.values()) else 0)
    assert checks["file modes"]["status"] == "OK"
    assert checks["allow-list"]["status"] == "OK"  # the default: this machine
    assert checks["tls"]["status"] == "WARN"  # not configured
    assert checks["alert channels"]["status"] == "WARN"  # none
    assert checks["audit witness"]["status"] == "WARN"  # not configured
    assert checks["backup"]["status"] == "WARN"  # none made, no [backup] schedule
    assert "no backup has been made yet" in checks["backup"]["detail"]
    # a count of days past a year says nothing an office can act on (the dashboard's rule)
    assert not re.search(r"\d{4,} days", checks["free space"]["detail"])
    text = cli("doctor", ok=False)
    assert text.exit_code == code
    lines = text.output.strip().splitlines()
    # one line each, and under it the Polish where an office worker must act on it
    polish = [c for c in checks.values() if c["pl"] and c["status"] != "OK"]
    assert len(lines) == len(checks) + len(polish)
    assert lines[0].split()[0] in ("OK", "WARN", "FAIL", "UNKNOWN")


def test_group_readable_data_folder_fails_naming_it_and_is_not_repaired(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    root = cli.data.resolve()
    os.chmod(root, 0o750)
    key = next((root / "keys").iterdir())
    os.chmod(key, 0o640)
    code, checks = doctor(cli)
    assert code == 1
    assert checks["file modes"]["status"] == "FAIL"
    assert str(root) in checks["file modes"]["detail"]
    assert str(key) in checks["file modes"]["detail"]
    # Reported, not repaired: doctor changes nothing.
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o640


def test_expired_certificate_fails(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    cert, key = make_self_signed(tmp_path / "tls", [], now=datetime.now(UTC) - timedelta(
        days=800))
    set_in(cli.data, "web", f'tls_cert = "{cert}"\ntls_key = "{key}"\n')
    code, checks = doctor(cli)
    assert code == 1
    assert checks["tls"]["status"] == "FAIL"
    assert "expired" in checks["tls"]["detail"]


def test_certificate_expiring_soon_and_self_signed_warns(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    cert, key = make_self_signed(tmp_path / "tls", [], now=datetime.now(UTC) - timedelta(
        days=350))
    set_in(cli.data, "web", f'tls_cert = "{cert}"\ntls_key = "{key}"\n')
    _, checks = doctor(cli)
    assert checks["tls"]["status"] == "WARN"
    assert "expires on" in checks["tls"]["detail"]
    assert "self-signed" in checks["tls"]["detail"]


def test_send_test_delivers_one_mail_and_reports_a_dead_channel(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    with SmtpSink() as smtp:
        write_alerts(cli.data, f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                     'from = "kustosz@um.example.pl"\nto = ["it@um.example.pl"]\n')
        _, checks = doctor(cli)
        assert smtp.mails == []  # only on request
        assert checks["alert channels"]["status"] == "OK"
        _, checks = doctor(cli, "--send-test")
        assert len(smtp.mails) == 1
        assert "testowa" in smtp.subjects()[0]
        assert checks["test via email"]["status"] == "OK"
    # Nobody listens any more: the test says so and fails the run.
    code, checks = doctor(cli, "--send-test")
    assert checks["test via email"]["status"] == "FAIL"
    assert code == 1


def test_webhook_answering_nobody_fails_its_test(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    write_alerts(cli.data, f'[alerts.webhook]\nurl = "http://127.0.0.1:{free_port()}/hook"\n')
    code, checks = doctor(cli, "--send-test")
    assert checks["test via webhook"]["status"] == "FAIL"
    assert code == 1


def test_empty_allowlist_fails(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    try:
        with vault.transaction() as s:
            set_allowlist(s, "", "tester")
    finally:
        vault.close()
    code, checks = doctor(cli)
    assert code == 1
    assert checks["allow-list"]["status"] == "FAIL"
    assert "empty" in checks["allow-list"]["detail"]


def test_witness_writable_ok_unwritable_fails(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    set_in(cli.data, "audit", f'witness = "{tmp_path / "archive" / "witness.jsonl"}"\n')
    code, checks = doctor(cli)  # the folder for it does not exist
    assert checks["audit witness"]["status"] == "FAIL"
    assert str(tmp_path / "archive") in checks["audit witness"]["detail"]
    assert code == 1
    (tmp_path / "archive").mkdir()
    _, checks = doctor(cli)
    assert checks["audit witness"]["status"] == "OK"
    assert not (tmp_path / "archive" / "witness.jsonl").exists()  # nothing written
    (tmp_path / "archive" / "witness.jsonl").mkdir()  # a folder where the file should be
    _, checks = doctor(cli)
    assert checks["audit witness"]["status"] == "FAIL"


@pytest.mark.disk_margin
def test_free_space_below_the_pressure_threshold_fails(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    config = cli.data / "kustosz.toml"
    body = config.read_text("utf-8")
    assert "\nmin_free_percent = 5.0\n" in body
    config.write_text(body.replace("\nmin_free_percent = 5.0\n", "\nmin_free_percent = 99.99\n"),
                      "utf-8")
    code, checks = doctor(cli)
    assert checks["free space"]["status"] == "FAIL"
    assert "99.99%" in checks["free space"]["detail"]
    assert code == 1


def test_missing_database_fails_and_is_not_created(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    db = cli.data / "kustosz.db"
    db.rename(cli.data / "elsewhere.db")
    code, checks = doctor(cli)
    assert code == 1
    assert checks["database"]["status"] == "FAIL"
    assert "does not exist" in checks["database"]["detail"]
    assert not db.exists()


def test_clock_states() -> None:
    assert check_clock(("sh", "-c", "echo yes")).status == "OK"
    assert check_clock(("sh", "-c", "echo no")).status == "WARN"
    assert check_clock(("sh", "-c", "echo oops >&2; exit 1")).status == "UNKNOWN"
    assert check_clock(("kustosz-no-such-command",)).status == "UNKNOWN"
