"""`kustosz doctor` and HTTPS given to serve on the command line (--tls-cert/--tls-key, in no
file): serve records what it serves at start (kustosz.serving), doctor checks that
certificate and says where the fact came from (issue 14 item 11)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kustosz.cli.serve import run_serve
from kustosz.vault import Vault
from kustosz.web.tls import check_tls, make_self_signed
from tests.alerts_helpers import free_port, write_alerts
from tests.conftest import Cli
from tests.test_doctor import doctor


def test_doctor_checks_the_certificate_serve_was_started_with(cli: Cli, tmp_path: Path
                                                              ) -> None:
    cli("init", "--preset", "pleszew")
    _, checks = doctor(cli)
    assert checks["tls"]["status"] == "WARN"
    assert "has not recorded a start" in checks["tls"]["detail"]

    cert, key = make_self_signed(tmp_path / "tls", [], now=datetime.now(UTC) - timedelta(
        days=350))
    vault = Vault.open(cli.data)
    stop, ready = threading.Event(), threading.Event()
    port = free_port()
    serving = threading.Thread(target=run_serve, args=(vault, stop),
                               kwargs={"on_ready": lambda _pool: ready.set(),
                                       "web": ("127.0.0.1", port),
                                       "tls": check_tls(cert, key)})
    serving.start()
    try:
        assert ready.wait(30)
        _, checks = doctor(cli)
        tls = checks["tls"]
        assert tls["status"] == "WARN", tls  # self-signed, expiring: not "plain HTTP"
        assert "plain HTTP" not in tls["detail"]
        assert str(cert) in tls["detail"] and "self-signed" in tls["detail"]
        assert "expires on" in tls["detail"]
        assert "not in kustosz.toml" in tls["detail"] and "--tls-cert" in tls["detail"]
        assert "+01:00" in tls["detail"] or "+02:00" in tls["detail"]  # Warsaw time
        assert "stopped" not in tls["detail"]
    finally:
        stop.set()
        serving.join(30)
    vault.close()
    _, checks = doctor(cli)
    assert "stopped" in checks["tls"]["detail"] and str(cert) in checks["tls"]["detail"]

    # kustosz.toml's certificate wins over the record
    cert2, key2 = make_self_signed(tmp_path / "tls2", [])
    body = (cli.data / "kustosz.toml").read_text("utf-8")
    (cli.data / "kustosz.toml").write_text(body.replace(
        "[web]\n", f'[web]\ntls_cert = "{cert2}"\ntls_key = "{key2}"\n', 1), "utf-8")
    _, checks = doctor(cli)
    assert str(cert2) in checks["tls"]["detail"] and "not in kustosz.toml" not in \
        checks["tls"]["detail"]


def test_plain_http_recorded_by_serve_is_named(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    vault = Vault.open(cli.data)
    stop, ready = threading.Event(), threading.Event()
    port = free_port()
    serving = threading.Thread(target=run_serve, args=(vault, stop),
                               kwargs={"on_ready": lambda _pool: ready.set(),
                                       "web": ("127.0.0.1", port)})
    serving.start()
    try:
        assert ready.wait(30)
    finally:
        stop.set()
        serving.join(30)
    vault.close()
    _, checks = doctor(cli)
    assert checks["tls"]["status"] == "WARN"
    assert f"plain HTTP on 127.0.0.1:{port}" in checks["tls"]["detail"]


def test_each_open_path_is_named_once(cli: Cli) -> None:
    cli("init", "--preset", "pleszew")
    subprocess.run(["chmod", "-R", "go-rwx", str(cli.data)], check=True)
    os.chmod(cli.data, 0o755)
    os.chmod(cli.data / "keys", 0o755)
    os.chmod(cli.data / "keys" / "secrets.key", 0o644)
    _, checks = doctor(cli)
    detail = checks["file modes"]["detail"]
    named = detail.split("readable by other local accounts: ")[1].split(";")[0]
    paths = re.sub(r" and \d+ more$", "", named).split(", ")
    assert len(paths) == len(set(paths)), detail
    assert sorted(paths) == sorted([str(cli.data), str(cli.data / "keys"),
                                    str(cli.data / "keys" / "secrets.key")]), detail


def test_a_failing_channel_since_is_the_offices_time(cli: Cli) -> None:
    from kustosz.alerts.notifier import STATE_KEY
    from kustosz.db.models import Setting

    cli("init", "--preset", "pleszew")
    write_alerts(cli.data, f'[alerts.webhook]\nurl = "http://127.0.0.1:{free_port()}/hook"\n')
    vault = Vault.open(cli.data)
    with vault.transaction() as s:
        s.merge(Setting(key=STATE_KEY, value=json.dumps({"channels": {"webhook": {
            "since": "2026-11-22T19:51:36.229378+00:00", "reason": "refused"}}})))
    vault.close()
    _, checks = doctor(cli)
    detail = checks["alert channels"]["detail"]
    assert "webhook since 2026-11-22 20:51:36 +01:00 (refused)" in detail, detail
    assert "19:51:36.229378" not in detail


def test_backup_size_has_the_polish_decimal_comma(cli: Cli, tmp_path: Path) -> None:
    from tests.test_backup import passphrase_file

    cli("init", "--preset", "pleszew")
    out = cli("backup", "--to", str(tmp_path / "b"), "--passphrase-file",
              str(passphrase_file(tmp_path))).output
    assert re.search(r"nagrania / media: \d+ \(\d+,\d MB;", out), out
