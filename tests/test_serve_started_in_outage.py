"""`kustosz serve` started while the database is away (a reboot, a crash, a watchdog restart
during an outage) does not give up (review of issue 27: it exited 75 and was restarted every
5 s, never recording and never living long enough to tell the outage). The real process under
the notify protocol (a datagram socket of the test's, as systemd reads it): it says READY=1
with a STATUS saying it waits for the database, its watchdog pings, the outage reaches the
webhook after the alert's grace, told from memory, and SIGTERM ends it within 10 s, status 0.
(Recording during the wait: tests/reliability/test_serve_started_in_outage.py.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Cli, make_vault
from tests.reliability.rig import ALERT_KIND, WebhookSink, wait_for
from tests.support.pg_outage import free_port
from tests.test_serve_watchdog import cli_env
from tests.test_watchdog import FakeSystemd


def test_serve_started_with_the_database_away_waits_alive_and_tells_it(
        tmp_path: Path, pg_url: str, cli: Cli) -> None:
    make_vault(cli.data, url=pg_url).close()
    config = cli.data / "kustosz.toml"
    away = f"postgresql://kustosz@127.0.0.1:{free_port()}/x?connect_timeout=3"
    hook = WebhookSink()
    config.write_text("\n".join(f'database_url = "{away}"' if line.startswith("database_url")
                                else line for line in config.read_text().splitlines())
                      + f'\n[alerts.webhook]\nurl = "{hook.url}"\n'
                      + f'[alerts.kinds.{ALERT_KIND}]\ngrace = "5 seconds"\n')
    systemd = FakeSystemd(str(tmp_path / "notify"))
    log = tmp_path / "serve.log"
    env = {**cli_env(), **systemd.env, "WATCHDOG_USEC": "4000000"}  # WatchdogSec=4s
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(cli.data),
                                 "serve", "--port", "0"], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        systemd.wait_for(lambda: "READY=1" in systemd.lines() or proc.poll() is not None, 120)
        assert proc.poll() is None, log.read_text()
        assert any("czeka na bazę danych" in x and "waiting for the database" in x
                   for x in systemd.lines()), systemd.lines()
        wait_for(lambda: hook.of_kind(ALERT_KIND) or proc.poll() is not None, 90,
                 "the database alert at the webhook", log.read_text)
        assert proc.poll() is None, log.read_text()
        pings = systemd.count("WATCHDOG=1")
        systemd.wait_for(lambda: systemd.count("WATCHDOG=1") >= pings + 2, 30)
        assert not any("no progress" in x for x in systemd.lines()), systemd.lines()
        assert proc.poll() is None, log.read_text()
    finally:
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        took = time.monotonic() - began
        hook.close()
    systemd.wait_for(lambda: "STOPPING=1" in systemd.lines(), 10)
    systemd.close()
    said = log.read_text()
    assert code == 0 and took <= 10.0, f"status {code} after {took:.1f} s\n{said}"
    assert "Traceback" not in said, said
